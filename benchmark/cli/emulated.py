"""`bench-emulated`: the same latency code path as `latency`, through a private adb server and emulated devices
that this command starts and stops; then the medians next to Paddle-Lite x86 timed directly in-process.
`overhead`: the harness's own share of the wall time on an emulated device."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from benchmark.cli.bench import latency_and_parity
from benchmark.emulated import arm_runtime
from benchmark.emulated.lab import Lab
from benchmark.emulated.phone import PhoneSpec, load_phone
from benchmark.host.lite import median_run_ms
from benchmark.latency.overhead import TARGET_FRACTION, harness_overhead
from benchmark.latency.run import BenchSettings
from benchmark.records.run_files import new_run_path, write_run
from benchmark.records.runs import OverheadRun
from benchmark.records.types import LatencyRecord
from converter.artifacts import manifest
from converter.base.errors import ExitCode, ToolkitError, UsageError

log = logging.getLogger("benchmark")


def _runner(args: argparse.Namespace, phone: PhoneSpec) -> Path | None:
    """--runner, else an ARM emulated phone's default (the real ARM benchmark_bin), else the x86 device's own."""
    if phone.qemu is not None:
        arm_runtime.require_insn_plugin(phone.name)  # instructions are its main figure: no plugin, no run
    if args.runner is not None or phone.qemu is None:
        return args.runner  # type: ignore[no-any-return]
    runner = arm_runtime.default_runner()
    if not runner.is_file():
        raise UsageError(
            f"the ARM emulated phone {phone.name} runs the real ARM benchmark_bin, and its default {runner} does not "
            f"exist: set {arm_runtime.ENV} to a Paddle-Lite armv8 runtime folder (fp16/benchmark_bin + its .so) or "
            "pass --runner / RUNNER="
        )
    return runner


def run_emulated(args: argparse.Namespace) -> int:
    if args.devices < 1:
        raise UsageError("--devices must be >= 1")
    phone = load_phone(args.profile)
    runner = _runner(args, phone)
    with Lab.create() as lab:
        server = lab.start_server()
        for _ in range(args.devices):
            lab.add_device(phone)
        log.info("adb server %s with %d emulated device(s) (%s)", server, args.devices, phone.name)
        code, run = latency_and_parity(args, server, defaults=phone.bench_defaults, runner=runner, serial=None)
    if phone.qemu is None and not args.no_host_compare:
        _print_host_comparison(run.records, args.repeats or BenchSettings().repeats)
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


def run_overhead(args: argparse.Namespace) -> int:
    """The harness's own share of the wall time on an emulated device (the latency loop only: no parity)."""
    models = args.models or ["portrait_pp_humansegv2_lite_256x144"]
    args = argparse.Namespace(**{**vars(args), "models": models, "no_parity": True})
    with Lab.create() as lab:
        server = lab.start_server()
        lab.add_device(load_phone("sd855"))
        code, run = latency_and_parity(args, server, runner=args.runner, serial=None)
    rows = harness_overhead(run.records)
    for r in rows:
        print(
            f"harness overhead {r.model}: {r.harness_overhead_fraction:.1%} of {r.total_wall_s:.2f} s "
            f"({r.timed_runs} timed runs; runner processes {r.runner_wall_s:.2f} s on the device) - target <= "
            f"{TARGET_FRACTION:.0%}"
        )
    if not rows:
        print("error: no successful record to measure", file=sys.stderr)
        return ExitCode.FAILED
    path = new_run_path("overhead", args.reports)
    write_run(path, OverheadRun(target_fraction=TARGET_FRACTION, records=rows))
    print(f"overhead: run file {path}")
    return code
