"""`video-check` (make video-check): temporal stability of each model x variant, with and without the shared temporal
smoothing, on sequences made from a labelled set (DATASET) or on a clip (VIDEO); a typed run file."""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from benchmark.cli.bench import model_choice
from benchmark.cli.emulated import add_phone_arg
from benchmark.latency.jobs import ModelChoice
from benchmark.parity.sequences import KINDS
from benchmark.parity.video import CameraMotion, FrameSequence
from benchmark.parity.video_check import VideoSettings, check_model, labelled_sequences, read_clip
from benchmark.records.rows import VideoRecord
from benchmark.records.run_files import DEFAULT_REPORTS, RunFile, new_run_path
from benchmark.records.runs import VideoRun
from benchmark.workflow import preflight
from converter.base.errors import ExitCode, ToolkitError, UsageError
from converter.base.needs import at_least, existing_file, output_dir
from converter.cli.args import add_precision_arg, add_zoo_args, env_path

log = logging.getLogger("benchmark")
MIN_CLIP_HEIGHT_PX = 32  # below this the estimated flow (DIS) has too few pixels to follow anything
SMOOTHING = "model_spec.json temporal (motion_fusion by default; gated_ema); every method is in each record's methods"


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
    p.add_argument(
        "--kinds",
        default=os.environ.get("KINDS") or "camera,sudden",
        help=f"kinds of labelled sequences: {', '.join(KINDS)} (camera,sudden; KINDS=)",
    )
    p.add_argument(
        "--clip-height",
        type=int,
        default=os.environ.get("CLIP_HEIGHT") or None,
        metavar="PX",
        help="the labelled sequences at this height, measured as a clip is (estimated motion); each record's "
        "flicker_labels is then that size's floor (CLIP_HEIGHT=)",
    )
    add_phone_arg(p, "sd855-arm", env=False)
    p.add_argument(
        "--host-only",
        action="store_true",
        default=os.environ.get("HOST_ONLY") == "1",
        help="the desktop reference alone, every method on this host: no ARM phone (HOST_ONLY=1)",
    )
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise UsageError(
            f"--kinds {text!r}: unknown kind(s) {', '.join(unknown) or '(none given)'}; use {', '.join(KINDS)}"
        )
    return kinds


def _settings(args: argparse.Namespace) -> VideoSettings:
    motion = CameraMotion(frames=args.frames)
    return VideoSettings(
        phone=args.phone,
        sequences=args.sequences,
        motion=motion,
        kinds=_kinds(args.kinds),
        host_only=args.host_only,
        clip_height_px=args.clip_height,
    )


def _print(records: list[VideoRecord]) -> None:
    print(f"{'model':<40} {'variant':<9} {'sequence':<22} {'flicker':>8} {'smoothed':>8} {'tIoU':>7} {'smoothed':>8} "
          f"{'mIoU':>7}")  # fmt: skip
    for r in records:
        miou = f"{r.miou:7.4f}" if r.miou is not None else "      -"
        print(f"{r.model:<40} {r.variant:<9} {r.sequence[:22]:<22} {r.flicker:8.4f} {r.flicker_smoothed:8.4f} "
              f"{r.temporal_iou:7.4f} {r.temporal_iou_smoothed:8.4f} {miou}")  # fmt: skip


@dataclass(frozen=True)
class VideoCommand:
    models: ModelChoice
    sequences: list[FrameSequence]
    settings: VideoSettings
    precisions: list[str]
    reports: Path


def check_video(args: argparse.Namespace) -> VideoCommand:
    """The frames (a clip read, or sequences made from the labelled set), the numbers, the models, the ARM
    emulated phone and its tools: before any conversion or device."""
    at_least(args.frames, 2, "--frames")
    at_least(args.sequences, 1, "--sequences")
    at_least(args.clip_height, MIN_CLIP_HEIGHT_PX, "--clip-height")
    if args.video is not None and args.clip_height is not None:
        raise UsageError(
            f"--clip-height {args.clip_height} applies to the labelled sequences (--dataset); the clip {args.video} "
            "is measured at its own size: leave one of them out"
        )
    settings = _settings(args)
    if args.video is not None:
        existing_file(args.video, "--video", env="VIDEO", fix="give a video clip OpenCV can read (mp4, avi, ...)")
        seqs = [read_clip(args.video, args.frames)]
    elif args.dataset is None:
        raise UsageError("video-check needs frames: --dataset DIR (labelled set, or DATASET=) or --video CLIP (VIDEO=)")
    else:
        images = preflight.image_inputs(dataset=args.dataset)
        assert images is not None
        seqs = labelled_sequences(images, settings)
    if not args.host_only:
        preflight.arm_phone(args.phone)
    output_dir(args.reports, "--reports")
    precisions = list(args.precision or ("fp32", "fp16", "int8"))
    return VideoCommand(model_choice(args, precisions=tuple(precisions)), seqs, settings, precisions, args.reports)


def run_video_check(cmd: VideoCommand) -> int:
    seqs = cmd.sequences
    prepared = cmd.models.prepare()
    names = sorted({j.name for j in prepared.jobs})
    precisions = cmd.precisions
    run = RunFile(new_run_path("video", cmd.reports), VideoRun(smoothing=SMOOTHING))
    unavailable = [e.split(":")[0] for e in prepared.errors]  # each already reported by the conversion
    failed = []
    for name in names:
        job = next(j for j in prepared.jobs if j.name == name)
        try:
            artifacts = cmd.reports / run.path.stem
            runtimes = cmd.models.sources.runtimes
            for rec in check_model(
                job.model_dir, name, precisions, seqs, cmd.settings, artifacts=artifacts, runtimes=runtimes
            ):
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
    if not names:
        raise UsageError("video-check: no model could be prepared; nothing was checked")
    failed += unavailable
    return ExitCode.FAILED if failed else ExitCode.OK
