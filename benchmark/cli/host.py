"""Host commands: `parity` (Paddle-Lite x86 against desktop Paddle Inference, or `--device`), `host-run` (an x86
.nb on the host, isolated) and `host-profile` (where Paddle-Lite x86 spends an inference, by kernel family)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.cli import tables
from benchmark.cli.bench import model_choice
from benchmark.cli.tables import print_device_checks
from benchmark.device.adb import AdbServer
from benchmark.host.lite import run_on_host
from benchmark.host.perf import FAMILIES, OTHER, perf_files
from benchmark.images import ImageSet, generated_image_set
from benchmark.parity.checks import check_devices
from benchmark.parity.host import check_parity
from benchmark.records.rows import HostProfileRecord
from benchmark.records.run_files import DEFAULT_REPORTS, new_run_path, utc_stamp, write_run
from benchmark.records.runs import HostProfileRun
from benchmark.workflow import preflight
from converter.base.errors import ExitCode, UsageError
from converter.base.needs import at_least, greater_than, output_dir
from converter.cli.args import csv_list, model_sources, nchw
from converter.schema.zoo import load_zoo

log = logging.getLogger("benchmark")


def _images(found: ImageSet | None) -> ImageSet:
    """The photos the check loaded (their warnings logged now), else the generated set."""
    if found is None:
        images = generated_image_set()
        log.info("no --images given: using %d generated images (say --images DIR for real ones)", len(images.items))
        return images
    for w in found.warnings:
        log.warning("warning: %s", w)
    return found


@dataclass(frozen=True)
class ParityCommand:
    """parity, checked: the arguments, the photos loaded (None: generated), and with --device the server and the
    devices found."""

    args: argparse.Namespace
    images: ImageSet | None
    server: AdbServer | None = None
    serials: tuple[str, ...] = ()


def check_parity_command(args: argparse.Namespace) -> ParityCommand:
    """Host parity: the models (or --converted ones), the images, --reports; with --device also the adb server,
    the devices and the runner. Nothing is converted before all of it is checked."""
    model_choice(args)
    output_dir(args.reports, "--reports")
    if not args.device and args.dataset is not None:
        raise UsageError("--dataset is for --device parity (accuracy on the phone); on the host use --images DIR")
    images = preflight.image_inputs(dataset=args.dataset, images=args.images)
    if not args.device:
        return ParityCommand(args, images)
    greater_than(args.round_timeout, 0, "--round-timeout")
    preflight.runner_file(args.runner)
    server = preflight.adb_server(args.adb)
    return ParityCommand(args, images, server, tuple(preflight.devices(server, args.serial)))


def run_parity_command(cmd: ParityCommand) -> int:
    args = cmd.args
    if cmd.server is not None:
        return _device_parity(cmd, cmd.server)
    run = check_parity(
        zoo=load_zoo(args.zoo),
        images=_images(cmd.images),
        reports=args.reports,
        names=args.models,
        precisions=args.precision,
        sources=model_sources(args),
        converted=csv_list(args.converted) or None,
    )
    tables.print_records(run.records)
    tables.print_summary(run.results)
    labels = {"fail": "failed", "unavailable": "unavailable", "error": "error", "not_run": "not run here (see above)"}
    others = ", ".join(f"{run.count(s)} {label}" for s, label in labels.items() if run.count(s))
    judged = f"{run.count('pass')}/{run.judged} model variant(s) passed" if run.judged else "nothing judged"
    print(f"parity: {judged}{'; ' + others if others else ''}; run file {run.path}")
    if run.judged == 0:  # no verdict without work: nothing could be compared
        reasons = "; ".join(sorted({f"{r.precision}: {r.error}" for r in run.results if r.error}))
        print(f"error: parity judged nothing: {reasons or 'no model variant'}", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.OK if run.passed else ExitCode.FAILED


def _device_parity(cmd: ParityCommand, server: AdbServer) -> int:
    """`parity --device`: device parity (and accuracy with --dataset) without the latency rounds."""
    args, images = cmd.args, _images(cmd.images)
    prepared = model_choice(args).prepare()
    if not prepared.jobs:
        raise UsageError(f"no model could be prepared; nothing to run ({'; '.join(prepared.errors)})")
    checks = check_devices(
        server=server,
        serials=list(cmd.serials),
        jobs=prepared.jobs,
        images=images,
        zoo=load_zoo(args.zoo),
        reports=args.reports,
        runner=args.runner,
        run_id=utc_stamp().lower(),
        accuracy=args.dataset is not None,
        keep=args.keep,
        timeout_s=args.round_timeout,
        allow_unknown_runner_version=args.allow_unknown_runner_version,
    )
    print_device_checks(checks)
    return ExitCode.OK if checks.passed and not prepared.errors else ExitCode.FAILED


def add_host_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("host-run", help="run an x86 .nb with Paddle-Lite on the host, isolated")
    run.add_argument("nb", type=Path)
    run.add_argument("--input-shape", type=nchw, help="1,3,H,W (default: from the manifest beside the .nb)")
    run.add_argument("--images", type=Path, help="images to run (default: a generated set)")
    run.add_argument("-v", "--verbose", action="store_true")
    p = sub.add_parser(
        "host-perf",
        aliases=["host-profile"],
        help="where Paddle-Lite x86 spends an inference, by kernel family (Linux perf; host-profile: its old name)",
    )
    p.add_argument("nb", type=Path, nargs="+", help="x86 .nb file(s), profiled one after the other")
    p.add_argument("--input-shape", type=nchw, help="1,3,H,W (default: from the manifest beside the .nb)")
    p.add_argument("--runs", type=int, default=200, help="inferences profiled per file (default 200)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    p.add_argument("-v", "--verbose", action="store_true")


def check_host_run(args: argparse.Namespace) -> tuple[argparse.Namespace, ImageSet | None]:
    preflight.x86_nb(args.nb, input_shape=args.input_shape)
    return args, preflight.image_inputs(images=args.images)


def run_host_command(checked: tuple[argparse.Namespace, ImageSet | None]) -> int:
    args, images = checked[0], _images(checked[1])
    result = run_on_host(args.nb, images, input_shape=args.input_shape)  # checks the file before running anything
    for item, outs in zip(images.items, result.outputs, strict=True):
        for name, arr in outs.items():
            row: dict[str, Any] = {
                "image": item.name,
                "output": name,
                "shape": list(arr.shape),
                "dtype": str(arr.dtype),
                "mean": float(np.mean(arr)),
                "finite": bool(np.isfinite(arr).all()),
            }
            print(json.dumps(row))
    print(
        f"init {result.init_ms:.1f} ms; median run {float(np.median(result.run_ms)):.2f} ms "
        f"over {len(result.run_ms)} image(s) (host Paddle-Lite x86, 1 thread)"
    )
    return ExitCode.OK


def print_kernel_shares(records: list[HostProfileRecord], labels: list[str]) -> None:
    names = [n for n, _ in FAMILIES] + [OTHER]
    width = max(len(n) for n in names)
    print(f"{'share of samples, %':<{width}}  " + "  ".join(f"{label:>14}" for label in labels))
    for name in names:
        cells = [p.shares_percent.get(name) for p in records]
        if any(cells):
            print(f"{name:<{width}}  " + "  ".join(f"{c or 0.0:>14.1f}" for c in cells))
    print(f"{'median ms (under perf)':<{width}}  " + "  ".join(f"{p.median_ms:>14.2f}" for p in records))
    print(f"{'samples':<{width}}  " + "  ".join(f"{p.samples:>14d}" for p in records))


def check_host_profile(args: argparse.Namespace) -> argparse.Namespace:
    at_least(args.runs, 1, "--runs")
    at_least(args.warmup, 0, "--warmup")
    for nb in args.nb:
        preflight.x86_nb(nb, input_shape=args.input_shape)
    output_dir(args.reports, "--reports")
    preflight.perf_tool()
    return args


def run_host_profile(args: argparse.Namespace) -> int:
    records = perf_files(args.nb, input_shape=args.input_shape, runs=args.runs, warmup=args.warmup)
    labels = [f"#{i + 1}" for i in range(len(records))]
    for label, p in zip(labels, records, strict=True):
        print(f"{label}: {p.nb}")
    print_kernel_shares(records, labels)
    path = new_run_path("host-profile", args.reports)
    write_run(path, HostProfileRun(event="cpu-clock", families=[n for n, _ in FAMILIES], records=records))
    print(f"host profile: run file {path}")
    return ExitCode.OK
