"""`bench-emulated`: the same latency code path as `latency`, through a private adb server and emulated phones that
this command starts and stops; then the medians next to Paddle-Lite x86 timed directly in-process.
`overhead`: the harness's own share of the wall time on an emulated phone."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmark.cli.bench import (
    BenchPlan,
    add_bench_args,
    add_measure_args,
    add_model_args,
    add_reports_arg,
    bench_plan,
    model_choice,
    print_bench,
    print_latency_run,
    settings_from,
)
from benchmark.emulated import arm_runtime, ncnn_runtime
from benchmark.emulated.phone import PhoneSpec
from benchmark.host.lite import median_run_ms
from benchmark.latency.overhead import TARGET_FRACTION, harness_overhead
from benchmark.records.run_files import new_run_path, write_run
from benchmark.records.runs import OverheadRun
from benchmark.records.types import LatencyRecord
from benchmark.workflow import preflight
from benchmark.workflow.emulated import bench_emulated
from converter.artifacts import manifest
from converter.base.errors import ExitCode, ToolkitError, UsageError
from converter.base.needs import at_least, output_dir

log = logging.getLogger("benchmark")
PHONE_HELP = (
    "emulated phone (configs/emulated: sd855; an ARM one per published class: sd855-arm, sd865-arm, sd845-arm, "
    "sd835-arm, sd625-arm, kirin990-arm, kirin980-arm, rk3399-arm); --profile is its old name"
)


def add_phone_arg(p: argparse._ActionsContainer, default: str, env: bool = True) -> None:
    """--phone NAME (default $PHONE, then $DEVICE_PROFILE, its old name, when `env`)."""
    value = (os.environ.get("PHONE") or os.environ.get("DEVICE_PROFILE") or default) if env else default
    p.add_argument("--phone", "--profile", dest="phone", default=value, help=f"{PHONE_HELP} (default {value})")


def add_emulated_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    emu = sub.add_parser("bench-emulated", help="start a private adb server + emulated phones and run latency")
    add_bench_args(emu)
    emu.add_argument("--devices", type=int, default=1, help="how many emulated phones (default 1)")
    add_phone_arg(emu, "sd855")
    emu.add_argument("--no-host-compare", action="store_true", help="skip timing Paddle-Lite x86 in-process")
    ovh = sub.add_parser("overhead", help="the harness's own cost on an x86 emulated phone, as a fraction")
    add_model_args(ovh)
    add_measure_args(ovh)
    add_reports_arg(ovh)


@dataclass(frozen=True)
class EmulatedCommand:
    plan: BenchPlan
    phone: PhoneSpec
    devices: int
    host_compare: bool


def runner_for(runner: Path | None, phone: PhoneSpec) -> Path | None:
    """--runner, else an ARM emulated phone's default (the real ARM benchmark_bin), else the x86 phone's own."""
    return runner if runner is not None or phone.qemu is None else arm_runtime.default_runner()


def check_emulated(args: argparse.Namespace) -> EmulatedCommand:
    at_least(args.devices, 1, "--devices")
    phone = preflight.emulated_phone(args.phone)
    if "ncnn" in args.runtimes and phone.qemu is None:
        raise UsageError(f"--runtimes has ncnn, but {phone.name} runs x86 kernels: ncnn variants run on an ARM "
                         "emulated phone (--phone sd855-arm)")  # fmt: skip
    ncnn_default = ncnn_runtime.runtime_dir() / "ncnn_run" if phone.qemu is not None else None
    plan = bench_plan(args, phone.bench_defaults, ncnn_default=ncnn_default)
    plan = dataclasses.replace(plan, runner=runner_for(plan.runner, phone))
    return EmulatedCommand(plan, phone, args.devices, phone.qemu is None and not args.no_host_compare)


def run_emulated(cmd: EmulatedCommand) -> int:
    result = bench_emulated(cmd.phone, cmd.plan.request(), devices=cmd.devices, on_latency=print_latency_run)
    code = print_bench(result)
    if cmd.host_compare:
        _print_host_comparison(result.latency.records, cmd.plan.settings.repeats)
    return code


def _print_host_comparison(records: list[LatencyRecord], repeats: int) -> None:
    host: dict[str, float] = {}
    for rec in records:
        if rec.status != "ok" or rec.model in host or rec.nb is None:
            continue
        nb = Path(rec.nb.path).parent / manifest.nb_name("x86", rec.precision)
        try:
            host[rec.model] = median_run_ms(nb, rec.input_shape, runs=repeats)
        except ToolkitError as e:
            log.warning("warning: host timing of %s failed: %s", rec.model, e)
    if not host:
        return
    print("\nemulated-device medians vs Paddle-Lite x86 timed in-process on this host (same .nb, 1 thread):")
    for rec in records:
        if rec.model in host and rec.median_ms is not None:
            ratio = rec.median_ms / host[rec.model]
            print(
                f"  {rec.device.serial:<22} {rec.model:<40} device {rec.median_ms:8.2f} ms   "
                f"in-process {host[rec.model]:8.2f} ms   ratio {ratio:5.2f}"
            )


@dataclass(frozen=True)
class OverheadCommand:
    plan: BenchPlan
    phone: PhoneSpec


def check_overhead(args: argparse.Namespace) -> OverheadCommand:
    """The latency loop only (no parity), by default on portrait V2-Lite, on the x86 emulated phone."""
    phone = preflight.emulated_phone("sd855")
    settings = settings_from(args)
    preflight.runner_file(args.runner)
    output_dir(args.reports, "--reports")
    models = model_choice(args, names=args.models or ["portrait_pp_humansegv2_lite_256x144"])
    return OverheadCommand(BenchPlan(models, settings, args.reports, args.runner), phone)


def run_overhead(cmd: OverheadCommand) -> int:
    result = bench_emulated(cmd.phone, cmd.plan.request(), on_latency=print_latency_run)
    rows = harness_overhead(result.latency.records)
    for r in rows:
        print(
            f"harness overhead {r.model}: {r.harness_overhead_fraction:.1%} of {r.total_wall_s:.2f} s "
            f"({r.timed_runs} timed runs; runner processes {r.runner_wall_s:.2f} s on the device) - target <= "
            f"{TARGET_FRACTION:.0%}"
        )
    if not rows:
        print("error: no successful record to measure", file=sys.stderr)
        return ExitCode.FAILED
    path = new_run_path("overhead", cmd.plan.reports)
    write_run(path, OverheadRun(target_fraction=TARGET_FRACTION, records=rows))
    print(f"overhead: run file {path}")
    return result.exit_code
