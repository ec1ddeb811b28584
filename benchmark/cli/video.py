"""`video-check` (make video-check): temporal stability of each model x variant, with and without the shared temporal
smoothing, on sequences made from a labelled set (DATASET) or on a clip (VIDEO); a typed run file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from benchmark.cli.bench import jobs_from
from benchmark.images import load_dataset
from benchmark.parity.video import CameraMotion, FrameSequence
from benchmark.parity.video_check import VideoSettings, check_model, labelled_sequences, read_clip
from benchmark.records.rows import VideoRecord
from benchmark.records.run_files import DEFAULT_REPORTS, RunFile, new_run_path
from benchmark.records.runs import VideoRun
from converter.base.errors import ExitCode, ToolkitError, UsageError
from converter.cli.args import add_precision_arg, add_zoo_args, env_path

log = logging.getLogger("benchmark")
SMOOTHING = "gated EMA of the person probability (model_spec.json temporal: alpha, gate)"


def add_video_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "video-check", help="mask flicker per model x variant on frame sequences, with and without smoothing"
    )
    add_zoo_args(p)
    add_precision_arg(p, "variants to check on the ARM emulated phone")
    p.add_argument("--dataset", type=Path, default=env_path("DATASET"), help="labelled set to make sequences from")
    p.add_argument("--video", type=Path, default=env_path("VIDEO"), help="a clip (read with OpenCV) instead")
    p.add_argument("--sequences", type=int, default=2, help="labelled photos turned into sequences (2)")
    p.add_argument("--frames", type=int, default=6, help="frames per sequence, or the clip's first frames (6)")
    p.add_argument("--profile", default="sd855-arm", help="the ARM emulated phone the variants run on")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)


def _sequences(args: argparse.Namespace) -> list[FrameSequence]:
    if args.frames < 2 or args.sequences < 1:
        raise UsageError("--frames must be >= 2 and --sequences >= 1")
    if args.video is not None:
        return [read_clip(args.video, args.frames)]
    if args.dataset is None:
        raise UsageError("video-check needs frames: --dataset DIR (labelled set, or DATASET=) or --video CLIP (VIDEO=)")
    return labelled_sequences(load_dataset(args.dataset), _settings(args))


def _settings(args: argparse.Namespace) -> VideoSettings:
    return VideoSettings(phone=args.profile, sequences=args.sequences, motion=CameraMotion(frames=args.frames))


def _print(records: list[VideoRecord]) -> None:
    print(f"{'model':<40} {'variant':<9} {'sequence':<22} {'flicker':>8} {'smoothed':>8} {'tIoU':>7} {'smoothed':>8} "
          f"{'mIoU':>7}")  # fmt: skip
    for r in records:
        miou = f"{r.miou:7.4f}" if r.miou is not None else "      -"
        print(f"{r.model:<40} {r.variant:<9} {r.sequence[:22]:<22} {r.flicker:8.4f} {r.flicker_smoothed:8.4f} "
              f"{r.temporal_iou:7.4f} {r.temporal_iou_smoothed:8.4f} {miou}")  # fmt: skip


def run_video_check(args: argparse.Namespace) -> int:
    seqs = _sequences(args)  # bad input (clip, dataset, numbers) fails here, before any conversion or device
    prepared = jobs_from(args)
    names = sorted({j.name for j in prepared.jobs})
    precisions = list(args.precision or ("fp32", "fp16", "int8"))
    run = RunFile(new_run_path("video", args.reports), VideoRun(smoothing=SMOOTHING))
    unavailable = [e.split(":")[0] for e in prepared.errors]  # each already reported by the conversion
    failed = []
    for name in names:
        job = next(j for j in prepared.jobs if j.name == name)
        try:
            artifacts = args.reports / run.path.stem
            for rec in check_model(job.model_dir, name, precisions, seqs, _settings(args), artifacts=artifacts):
                run.add(rec)
        except ToolkitError as e:
            log.error("error: %s: %s", name, e)
            failed.append(name)
    _print(run.records)
    print(
        f"video-check: {len(names) - len(failed)}/{len(names) + len(unavailable)} model(s) checked on {len(seqs)} "
        f"sequence(s); run file {run.path}"
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + (f"; not available: {', '.join(unavailable)}" if unavailable else "")
    )
    failed += unavailable
    return ExitCode.FAILED if failed else ExitCode.OK
