"""python -m benchmark parity | host-run | latency | bench-emulated | overhead | sweep | report | farm | gate |
history | graph-fixes | host-perf | int8-study | video-check | layer-diff | profile-arm | calibrate | runtimes

Exit codes: 0 the work asked for was done and passed; 1 some of it failed or judged a failure (finished work and run
files are kept); 2 it could not start (bad input, a missing tool, nothing to run); 130 interrupted."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from benchmark.cli.bench import (
    add_allow_unknown_version_arg,
    add_bench_args,
    add_model_args,
    check_latency,
    run_latency,
)
from benchmark.cli.emulated import add_emulated_commands, check_emulated, check_overhead, run_emulated, run_overhead
from benchmark.cli.farm import (
    add_farm_commands,
    add_scaling_command,
    check_farm,
    check_gate,
    check_history,
    check_scaling,
    run_farm_command,
    run_gate_command,
    run_history_command,
    run_scaling,
)
from benchmark.cli.graph_fixes import add_graph_fix_command, check_graph_fixes, run_graph_fix_bench
from benchmark.cli.host import (
    add_host_commands,
    check_host_profile,
    check_host_run,
    check_parity_command,
    run_host_command,
    run_host_profile,
    run_parity_command,
)
from benchmark.cli.int8_study import add_int8_study_command, check_int8_study, run_int8_study
from benchmark.cli.layer_diff import add_layer_diff_command, check_layer_diff, run_layer_diff
from benchmark.cli.profile import (
    add_profile_commands,
    check_calibrate,
    check_profile_arm,
    run_calibrate,
    run_profile_arm,
)
from benchmark.cli.runtimes import add_runtimes_command, check_runtimes, run_runtimes
from benchmark.cli.sweep import add_sweep_command, check_sweep, run_sweep_command
from benchmark.cli.video import add_video_command, check_video, run_video_check
from benchmark.device.runner import ROUND_TIMEOUT_S
from benchmark.records.run_files import DEFAULT_REPORTS
from benchmark.workflow import preflight
from converter.base.cpu import prefer_avx2_math
from converter.base.errors import ExitCode
from converter.base.needs import existing_dir
from converter.cli.args import env_path, setup_logging
from converter.cli.contract import EXIT_CODES_HELP, Command, run_command

log = logging.getLogger("benchmark")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmark",
        description=__doc__,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    par = sub.add_parser("parity", help="Paddle-Lite x86 vs Paddle Inference on images")
    add_model_args(par, "variants to judge")
    par.add_argument(
        "--images",
        type=Path,
        default=env_path("IMAGES"),
        help="folder of jpg/png images (masks in X/Annotations for X/Images); default: $IMAGES, else a generated set",
    )
    par.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
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
    add_emulated_commands(sub)
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
    add_runtimes_command(sub)
    for command in sub.choices.values():  # every command's --help states the same exit codes
        command.epilog = EXIT_CODES_HELP
    return p


def _check_report(args: argparse.Namespace) -> argparse.Namespace:
    existing_dir(args.reports, "--reports", fix="run a benchmark or parity first (they write run files there)")
    preflight.history_location(args.history, must_exist=False)
    return args


def _report(args: argparse.Namespace) -> int:
    from benchmark.report.build import build_report

    html_path, md_path, collected = build_report(args.reports, args.models_out, args.history)
    print(
        f"report: {html_path} and {md_path} from {len(collected.files)} run file(s)"
        + (f", {len(collected.warnings)} file(s) skipped" if collected.warnings else "")
    )
    return ExitCode.OK


COMMANDS: dict[str, Command[Any]] = {
    "parity": Command(check_parity_command, run_parity_command),
    "host-run": Command(check_host_run, run_host_command),
    "latency": Command(check_latency, run_latency),
    "bench-emulated": Command(check_emulated, run_emulated),
    "overhead": Command(check_overhead, run_overhead),
    "report": Command(_check_report, _report),
    "sweep": Command(check_sweep, run_sweep_command),
    "farm": Command(check_farm, run_farm_command),
    "farm-scaling": Command(check_scaling, run_scaling),
    "gate": Command(check_gate, run_gate_command),
    "history": Command(check_history, run_history_command),
    "graph-fixes": Command(check_graph_fixes, run_graph_fix_bench),
    "host-perf": Command(check_host_profile, run_host_profile),
    "int8-study": Command(check_int8_study, run_int8_study),
    "video-check": Command(check_video, run_video_check),
    "layer-diff": Command(check_layer_diff, run_layer_diff),
    "profile-arm": Command(check_profile_arm, run_profile_arm),
    "calibrate": Command(check_calibrate, run_calibrate),
    "runtimes": Command(check_runtimes, run_runtimes),
}
ALIASES = {"host-profile": "host-perf"}  # the old name of host-perf


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    prefer_avx2_math()  # before Paddle is loaded, here or in a child
    setup_logging(args.verbose)
    return run_command(COMMANDS[ALIASES.get(args.command, args.command)], args)
