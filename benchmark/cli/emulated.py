"""`bench-emulated`: the same latency code path as `latency`, through a private adb server and emulated devices
that this command starts and stops; then the medians next to Paddle-Lite x86 timed directly in-process.
`overhead`: the harness's own share of the wall time on an emulated device."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.cli.bench import run_latency
from benchmark.emulated import arm_runtime
from benchmark.emulated.lab import Lab
from benchmark.emulated.profile import load_profile
from benchmark.host.lite import LiteHostRunner
from benchmark.latency.run import BenchSettings
from benchmark.records.run_files import new_run_path, write_run
from converter import manifest
from converter.errors import ToolkitError

log = logging.getLogger("benchmark")


def _latest(reports: Path, kind: str) -> dict[str, Any] | None:
    files = sorted(reports.glob(f"{kind}-*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text()) if files else None


def host_medians(records: list[dict[str, Any]], repeats: int) -> dict[str, float]:
    """Paddle-Lite x86 on the same .nb, timed around predictor.run() in one process (1 thread, all-ones input,
    like benchmark_bin without --input_data_path)."""
    out: dict[str, float] = {}
    for rec in records:
        if rec["status"] != "ok" or rec["model"] in out:
            continue
        nb = Path(rec["nb"]["path"]).parent / manifest.nb_name("x86", rec["precision"])
        x = np.ones(rec["input_shape"], dtype=np.float32)
        try:
            res = LiteHostRunner(nb).run_batch([[x]] * (repeats + 10))
        except ToolkitError as e:
            log.warning("warning: host timing of %s failed: %s", rec["model"], e)
            continue
        out[rec["model"]] = float(np.median(res.run_ms[10:]))
    return out


def run_emulated(args: argparse.Namespace) -> int:
    if args.devices < 1:
        print("error: --devices must be >= 1", file=sys.stderr)
        return 2
    profile = load_profile(args.profile)
    if profile.qemu is not None and args.runner is None:
        args.runner = arm_runtime.default_runner()
        if not args.runner.is_file():
            print(
                f"error: the ARM emulated phone {profile.name} runs the real ARM benchmark_bin, and its default "
                f"{args.runner} does not exist: set {arm_runtime.ENV} to a Paddle-Lite armv8 runtime folder "
                "(fp16/benchmark_bin + its .so) or pass --runner / RUNNER=",
                file=sys.stderr,
            )
            return 2
    with Lab.create() as lab:
        server = lab.start_server()
        for _ in range(args.devices):
            lab.add_device(profile)
        log.info("adb server %s with %d emulated device(s) (%s)", server, args.devices, profile.name)
        args.serial = None
        code = run_latency(args, server, profile.bench_defaults)
    if profile.qemu is None and not args.no_host_compare:
        run = _latest(args.reports, "latency")
        records = run["records"] if run else []
        host = host_medians(records, args.repeats or BenchSettings().repeats)
        if host:
            print("\nemulated-device medians vs Paddle-Lite x86 timed in-process on this host (same .nb, 1 thread):")
            for rec in records:
                if rec["model"] in host and rec["status"] == "ok":
                    ratio = rec["median_ms"] / host[rec["model"]]
                    print(
                        f"  {rec['device']['serial']:<22} {rec['model']:<40} device {rec['median_ms']:8.2f} ms   "
                        f"in-process {host[rec['model']]:8.2f} ms   ratio {ratio:5.2f}"
                    )
    return code


def run_overhead(args: argparse.Namespace) -> int:
    """Harness cost = wall time of the model's benchmark minus the runner processes' wall time measured on the
    device (date +%s%N around each runner). Target: <= 10 % for portrait V2-Lite, 500 timed runs."""
    args.models = args.models or ["portrait_pp_humansegv2_lite_256x144"]
    args.no_parity = True  # the figure is about the latency loop
    with Lab.create() as lab:
        server = lab.start_server()
        lab.add_device(load_profile("sd855"))
        args.serial = None
        code = run_latency(args, server)
    run = _latest(args.reports, "latency")
    rows = []
    for rec in run["records"] if run else []:
        if rec["status"] != "ok":
            continue
        total, runner = rec["harness_wall_s"], rec["runner_wall_s"]
        frac = (total - runner) / total if total > 0 else float("nan")
        rows.append(
            {
                "model": rec["model"],
                "timed_runs": rec["rounds"] * rec["repeats"],
                "total_wall_s": total,
                "runner_wall_s": runner,
                "harness_overhead_fraction": frac,
            }
        )
        print(
            f"harness overhead {rec['model']}: {frac:.1%} of {total:.2f} s ({rec['rounds']} rounds x "
            f"{rec['repeats']} runs; runner processes {runner:.2f} s on the device) - target <= 10%"
        )
    if not rows:
        print("error: no successful record to measure")
        return 1
    path = new_run_path("overhead", args.reports)
    write_run(path, "overhead", {"target_fraction": 0.10}, rows)
    print(f"overhead: run file {path}")
    return code
