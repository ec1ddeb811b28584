"""`farm-scaling`: how well the farm runs devices in parallel. Starts two private adb servers with emulated devices
whose runners sleep a fixed time per inference (so this host's cores do not limit them), runs the farm over one
device and then over all of them, and reports wall(N devices) / wall(1 device). Target: <= 1.3 for 3 devices."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import yaml

from benchmark.cli.farm import run_farm_command
from benchmark.emulated.lab import Lab
from benchmark.emulated.profile import load_profile, with_changes
from benchmark.records.run_files import DEFAULT_REPORTS, new_run_path, write_run
from converter.cli_args import add_zoo_args, csv_list
from converter.errors import ToolkitError

log = logging.getLogger("benchmark")
TARGET_RATIO = 1.3


def add_scaling_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("farm-scaling", help="farm wall time over N emulated devices / over one (target <= 1.3)")
    add_zoo_args(p)
    p.add_argument("--precision", type=csv_list, default=None)
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    p.add_argument("--devices", type=int, default=3, help="emulated devices for the parallel run (default 3)")
    p.add_argument("--latency-ms", type=float, default=50.0, help="fixed time per inference (default 50)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=20)


def _farm_wall_s(reports: Path) -> float:
    files = sorted(reports.glob("latency-*.json"), key=lambda p: p.stat().st_mtime)
    data = json.loads(files[-1].read_text()) if files else {}
    if "farm_wall_s" not in data:
        raise ToolkitError(f"the farm run wrote no wall time in {reports}")
    return float(data["farm_wall_s"])


def run_scaling(args: argparse.Namespace) -> int:
    if args.devices < 2:
        raise ToolkitError("--devices must be >= 2 to compare with one device")
    args.models = args.models or ["portrait_pp_humansegv2_lite_256x144"]
    base = load_profile("sd855")
    with Lab.create() as lab:
        servers = [lab.start_server(), lab.start_server()]
        for i in range(args.devices):
            profile = with_changes(
                base, props={"ro.serialno": f"FSCALE{i + 1}"}, runner={"fixed_latency_ms": args.latency_ms}
            )
            lab.add_device(profile, server=servers[i % 2])
        walls: dict[int, float] = {}
        for n, pattern in ((1, "FSCALE1"), (args.devices, "FSCALE*")):
            farm = lab.workdir / f"farm-{n}.yaml"
            cfg: dict[str, Any] = {
                "servers": [str(s) for s in servers],
                "select": {"serial": [pattern]},
                "measurement": {"rounds": args.rounds, "repeats": args.repeats, "warmup": 1},
                "parity": {"enabled": False},
                "history": str(lab.workdir / "history.sqlite"),
            }
            farm.write_text(yaml.safe_dump(cfg))
            args.farm, args.force, args.run_name, args.history, args.runner = farm, True, None, None, None
            reports = args.reports
            args.reports = lab.workdir / f"reports-{n}"
            code = run_farm_command(args)
            args.reports = reports
            if code != 0:
                raise ToolkitError(f"the farm run over {n} device(s) failed (exit {code}); see above")
            walls[n] = _farm_wall_s(lab.workdir / f"reports-{n}")
    ratio = walls[args.devices] / walls[1]
    print(
        f"farm scaling: 1 device {walls[1]:.2f} s, {args.devices} devices {walls[args.devices]:.2f} s "
        f"(two adb servers, runners sleeping {args.latency_ms:g} ms per inference): ratio {ratio:.2f} "
        f"(target <= {TARGET_RATIO})"
    )
    path = new_run_path("farm-scaling", args.reports)
    row = {
        "devices": args.devices,
        "models": args.models,
        "one_device_wall_s": walls[1],
        "all_devices_wall_s": walls[args.devices],
        "wall_ratio": ratio,  # unrounded: the printed figure is this value to 2 places (no double rounding)
        "target_ratio": TARGET_RATIO,
        "fixed_latency_ms": args.latency_ms,
    }
    write_run(path, "farm-scaling", {"target_ratio": TARGET_RATIO}, [row])
    print(f"farm scaling: run file {path}")
    return 0
