"""`python -m benchmark farm | gate | history`: the device farm run, the regression gate, and the history.
Exit codes: 0 all done / gate passed, 1 something failed / gate failed, 2 nothing could run (bad farm file, no
usable device, unknown baseline)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import sys
import time
from pathlib import Path

from benchmark.cli.bench import prepare_jobs, print_table
from benchmark.farm.config import DEFAULT_FARM, FarmConfig, Thresholds, load_farm
from benchmark.farm.discovery import Discovery, discover
from benchmark.farm.gate import (
    GateResult,
    compare,
    export_baseline,
    latest_finished,
    load_baseline,
    print_gate,
    write_junit,
)
from benchmark.farm.history import History, open_existing
from benchmark.farm.run import FarmRun, run_farm
from benchmark.images import ImageSet, generated_image_set, load_image_set
from benchmark.latency.run import DeviceOutcome, RunFile
from benchmark.records.run_files import DEFAULT_REPORTS, new_run_path, utc_stamp, write_run
from converter.cli_args import add_zoo_args, csv_list, env_list, env_path
from converter.errors import ToolkitError
from converter.manifest import toolkit_version
from converter.zoo import load_zoo

log = logging.getLogger("benchmark")
RUN_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def add_farm_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    farm = sub.add_parser("farm", help="benchmark every usable device of a device farm (configs/farm.yaml)")
    add_zoo_args(farm)
    farm.add_argument("--farm", type=Path, default=env_path("FARM") or DEFAULT_FARM, help="farm file ($FARM)")
    farm.add_argument(
        "--precision", type=csv_list, default=env_list("PRECISIONS"), help="override the farm file's precisions"
    )
    farm.add_argument("--force", action="store_true", help="measure again what the history already holds")
    farm.add_argument("--runner", type=Path, default=env_path("RUNNER"), help="override the farm file's runner")
    farm.add_argument("--run-name", help="name of this run in the history (default: UTC time + PID)")
    farm.add_argument("--history", type=Path, default=env_path("HISTORY"), help="override the farm file's history")
    farm.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    gate = sub.add_parser("gate", help="compare the latest farm run with a baseline; JUnit XML; exit 1 on failure")
    gate.add_argument("--baseline", required=True, help="run id in the history, 'previous', or an exported .json")
    gate.add_argument("--run", help="the run to judge (default: the latest finished one)")
    gate.add_argument("--farm", type=Path, default=env_path("FARM") or DEFAULT_FARM, help="thresholds from here")
    gate.add_argument("--history", type=Path, default=env_path("HISTORY"), help="default: the farm file's")
    gate.add_argument("--threshold-percent", type=float, help="override thresholds.regression_percent")
    gate.add_argument("--cv-factor", type=float, help="override thresholds.cv_factor")
    gate.add_argument("--junit", type=Path, help="JUnit XML to write (default: REPORTS/gate-junit.xml)")
    gate.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    gate.add_argument("-v", "--verbose", action="store_true")
    hist = sub.add_parser("history", help="list farm runs, or export one as a baseline file")
    hist.add_argument("action", choices=["runs", "export"])
    hist.add_argument("run", nargs="?", help="export: the run id (default: the latest finished)")
    hist.add_argument("-o", "--output", type=Path, help="export: the baseline file to write")
    hist.add_argument("--farm", type=Path, default=env_path("FARM") or DEFAULT_FARM)
    hist.add_argument("--history", type=Path, default=env_path("HISTORY"))
    hist.add_argument("-v", "--verbose", action="store_true")


def _history_path(args: argparse.Namespace) -> Path:
    if args.history:
        return Path(args.history)
    return load_farm(args.farm).history


def _images(cfg: FarmConfig) -> ImageSet | None:
    if not cfg.parity.enabled:
        return None
    images = load_image_set(cfg.parity.images) if cfg.parity.images else generated_image_set()
    for w in images.warnings:
        log.warning("warning: %s", w)
    return ImageSet(images.source, images.items[: cfg.parity.max_images], images.warnings)


def _summary(found: Discovery, outcomes: list[DeviceOutcome]) -> None:
    for fd, o in zip(found.devices, outcomes, strict=True):
        counts: dict[str, int] = {}
        for r in o.records:
            status = "reused" if r.get("reused_from_run") else r["status"]
            counts[status] = counts.get(status, 0) + 1
        parity_fail = sum(1 for r in o.records if (r.get("parity") or {}).get("passed") is False)
        text = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing"
        print(
            f"  {fd.serial} on {fd.server} ({fd.key}): {text}" + (f"; {parity_fail} parity FAIL" if parity_fail else "")
        )
    for s in found.skipped:
        print(f"  {s['serial']} on {s['server']}: not run: {s['reason']}")
    for e in found.server_errors:
        print(f"  {e}")


def run_farm_command(args: argparse.Namespace) -> int:
    cfg = load_farm(args.farm)
    if args.runner:
        cfg = cfg.model_copy(update={"runner": args.runner})
    if args.run_name and not RUN_NAME_RE.match(args.run_name):
        raise ToolkitError(f"--run-name {args.run_name!r}: use lower-case letters, digits, '_', '-', '.' (max 64)")
    args.models = args.models or cfg.models
    args.precision = args.precision or cfg.precisions
    images = _images(cfg)
    jobs, model_errors = prepare_jobs(args)
    found = discover(cfg)
    if not found.devices or not jobs:
        what = "no model could be prepared" if not jobs else f"no usable device on {', '.join(cfg.servers)}"
        _summary(found, [])
        print(f"error: {what}; nothing to run", file=sys.stderr)
        return 2
    run_id = args.run_name or f"{utc_stamp().lower()}-{socket.gethostname().lower()[:20]}-{os.getpid()}"
    run_id = re.sub(r"[^a-z0-9_.-]", "-", run_id)
    history = History(args.history or cfg.history)
    path = new_run_path("latency", args.reports)
    farm_info = {
        "run_id": run_id,
        "farm_file": str(args.farm),
        "servers": cfg.servers,
        "devices": [fd.to_json() for fd in found.devices],
        "skipped_devices": found.skipped,
        "server_errors": found.server_errors,
        "history": str(history.path),
    }
    payload = {"farm": farm_info, "model_errors": model_errors, "settings": cfg.measurement.model_dump()}
    history.start_run(
        run_id, host=socket.gethostname(), farm_file=str(args.farm), toolkit=toolkit_version(), payload=payload
    )
    run = FarmRun(
        cfg,
        load_zoo(args.zoo),
        jobs,
        run_id,
        RunFile(path, payload),
        history,
        images,
        args.reports / path.stem,
        force=args.force,
    )
    t0 = time.monotonic()
    log.info("farm run %s: %d job(s) on %d device(s)", run_id, len(jobs), len(found.devices))
    try:
        outcomes = run_farm(found, run)
    finally:
        history.finish_run(run_id, "interrupted" if run.stop.is_set() else "finished")
        history.close()
    wall_s = time.monotonic() - t0
    run.run_file.set("farm_wall_s", round(wall_s, 3))
    print_table(outcomes)
    print(
        f"farm run {run_id}: {len(found.devices)} device(s) in {wall_s:.1f} s; run file {path}; history {history.path}"
    )
    _summary(found, outcomes)
    records = [r for o in outcomes for r in o.records]
    bad = [r for r in records if r["status"] not in ("ok", "skipped") or (r.get("parity") or {}).get("passed") is False]
    if run.stop.is_set():
        return 130
    return 1 if bad or model_errors or found.server_errors or any(o.error for o in outcomes) else 0


def run_gate_command(args: argparse.Namespace) -> int:
    cfg_thresholds = load_farm(args.farm).thresholds if args.farm.is_file() else Thresholds()
    t = Thresholds(
        regression_percent=args.threshold_percent or cfg_thresholds.regression_percent,
        cv_factor=cfg_thresholds.cv_factor if args.cv_factor is None else args.cv_factor,
    )
    with open_existing(_history_path(args)) as history:
        current = history.run(args.run).run_id if args.run else latest_finished(history)
        baseline_label, baseline = load_baseline(args.baseline, history, current)
        result = GateResult(baseline_label, current, t, compare(baseline, history.run_records(current), t))
    print_gate(result)
    args.junit = args.junit or args.reports / "gate-junit.xml"
    write_junit(result, args.junit)
    gate_path = new_run_path("gate", args.reports)
    write_run(
        gate_path,
        "gate",
        {"baseline": result.baseline, "current": result.current, "thresholds": t.model_dump(), "passed": result.passed},
        [r.__dict__ for r in result.rows],
    )
    print(f"JUnit XML {args.junit}; gate file {gate_path}")
    return 0 if result.passed else 1


def run_history_command(args: argparse.Namespace) -> int:
    with open_existing(_history_path(args)) as history:
        if args.action == "runs":
            for r in history.runs():
                n = len(history.run_records(r.run_id))
                print(f"{r.run_id}  {r.started_at}  {r.status:<11}  {n:>3} record(s)  {r.host or ''}")
            return 0
        run_id = args.run or latest_finished(history)
        if args.output is None:
            raise ToolkitError("history export needs -o FILE.json")
        n = export_baseline(history, run_id, args.output)
    print(f"baseline {args.output}: {n} record(s) of run {run_id}")
    return 0
