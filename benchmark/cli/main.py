"""python -m benchmark parity | host-run | latency | bench-emulated | overhead | sweep | report | farm | gate |
history | graph-fixes | host-profile | int8-study"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from benchmark.cli.bench import add_allow_unknown_version_arg, add_bench_args, latency_and_parity
from benchmark.cli.emulated import run_emulated, run_overhead
from benchmark.cli.farm import (
    add_farm_commands,
    add_scaling_command,
    run_farm_command,
    run_gate_command,
    run_history_command,
    run_scaling,
)
from benchmark.cli.graph_fixes import add_graph_fix_command, run_graph_fix_bench
from benchmark.cli.host import add_host_commands, run_host_command, run_host_profile, run_parity_command
from benchmark.cli.int8_study import add_int8_study_command, run_int8_study
from benchmark.cli.layer_diff import add_layer_diff_command, run_layer_diff
from benchmark.cli.profile import add_profile_commands, run_calibrate, run_profile_arm
from benchmark.cli.sweep import add_sweep_command, run_sweep_command
from benchmark.cli.video import add_video_command, run_video_check
from benchmark.device.adb import AdbServer
from benchmark.device.runner import ROUND_TIMEOUT_S
from benchmark.records.run_files import DEFAULT_REPORTS
from converter.base.cpu import prefer_avx2_math
from converter.base.errors import ExitCode, ToolkitError, UsageError
from converter.cli.args import (
    add_precision_arg,
    add_zoo_args,
    env_path,
    setup_logging,
)

log = logging.getLogger("benchmark")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    par = sub.add_parser("parity", help="Paddle-Lite x86 vs Paddle Inference on images")
    add_zoo_args(par)
    par.add_argument(
        "--images",
        type=Path,
        default=env_path("IMAGES"),
        help="folder of jpg/png images (masks in X/Annotations for X/Images); default: $IMAGES, else a generated set",
    )
    par.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    par.add_argument(
        "--converted",
        help="comma-separated models of your own, converted with `python -m converter model` into --out, instead "
        "of zoo models (zoo default tolerances)",
    )
    add_precision_arg(par, "variants to judge")
    dev = par.add_argument_group("on a device (instead of Paddle-Lite x86 on the host)")
    dev.add_argument("--device", action="store_true", help="run the converted .nb on attached device(s) over adb")
    dev.add_argument("--adb", help="adb server HOST:PORT")
    dev.add_argument("--serial", help="only this device (default $ANDROID_SERIAL, else every usable device)")
    dev.add_argument("--runner", type=Path, help="benchmark_bin to push (required for real devices)")
    dev.add_argument("--dataset", type=Path, help="labelled set (Images/ + Annotations/): also accuracy")
    dev.add_argument("--round-timeout", type=float, default=ROUND_TIMEOUT_S)
    dev.add_argument("--keep", action="store_true")
    add_allow_unknown_version_arg(dev)
    lat = sub.add_parser("latency", help="latency on attached Android devices (benchmark_bin over adb)")
    add_bench_args(lat)
    lat.add_argument("--adb", help="adb server HOST:PORT (default $ANDROID_ADB_SERVER_HOST/PORT or 127.0.0.1:5037)")
    lat.add_argument("--serial", help="only this device (default $ANDROID_SERIAL, else every usable device)")
    emu = sub.add_parser("bench-emulated", help="start a private adb server + emulated devices and run latency")
    add_bench_args(emu)
    emu.add_argument("--devices", type=int, default=1, help="how many emulated devices (default 1)")
    emu.add_argument("--profile", default="sd855", help="emulated device profile (configs/emulated)")
    emu.add_argument("--no-host-compare", action="store_true", help="skip timing Paddle-Lite x86 in-process")
    ovh = sub.add_parser("overhead", help="the harness's own cost on an emulated device, as a fraction")
    add_bench_args(ovh)
    add_sweep_command(sub)
    rep = sub.add_parser("report", help="HTML + Markdown report from build/reports and build/models")
    rep.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    rep.add_argument("--models-out", type=Path, default=Path("build/models"), help="conversion outputs")
    rep.add_argument(
        "--history",
        default=os.environ.get("HISTORY") or "build/history.sqlite",
        help="farm history for the farm view: a file or a database URL (default $HISTORY, else build/history.sqlite)",
    )
    rep.add_argument("-v", "--verbose", action="store_true")
    add_farm_commands(sub)
    add_scaling_command(sub)
    add_graph_fix_command(sub)
    add_host_commands(sub)
    add_int8_study_command(sub)
    add_video_command(sub)
    add_layer_diff_command(sub)
    add_profile_commands(sub)
    return p


def _report(args: argparse.Namespace) -> int:
    from benchmark.report.build import build_report

    if not args.reports.is_dir():
        raise UsageError(f"{args.reports} does not exist: run a benchmark or parity first")
    html_path, md_path, collected = build_report(args.reports, args.models_out, args.history)
    print(
        f"report: {html_path} and {md_path} from {len(collected.files)} run file(s)"
        + (f", {len(collected.warnings)} file(s) skipped" if collected.warnings else "")
    )
    return ExitCode.OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "parity": run_parity_command,
    "host-run": run_host_command,
    "latency": lambda args: latency_and_parity(
        args, AdbServer.from_env(args.adb), runner=args.runner, serial=args.serial
    )[0],
    "bench-emulated": run_emulated,
    "overhead": run_overhead,
    "report": _report,
    "sweep": run_sweep_command,
    "farm": run_farm_command,
    "farm-scaling": run_scaling,
    "gate": run_gate_command,
    "history": run_history_command,
    "graph-fixes": run_graph_fix_bench,
    "host-profile": run_host_profile,
    "int8-study": run_int8_study,
    "video-check": run_video_check,
    "layer-diff": run_layer_diff,
    "profile-arm": run_profile_arm,
    "calibrate": run_calibrate,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    prefer_avx2_math()  # before Paddle is loaded, here or in a child
    setup_logging(args.verbose)
    try:
        return int(COMMANDS[args.command](args))
    except ToolkitError as e:  # the command could not do its work at all (work that failed is in its result)
        print(f"error: {e}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("interrupted; completed records are kept", file=sys.stderr)
        return ExitCode.INTERRUPTED
