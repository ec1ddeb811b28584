"""`python -m benchmark farm | gate | history`: the device farm run, the regression gate, and the history.
Exit codes: 0 all done / gate passed, 1 something failed / gate failed, 2 nothing could run (bad farm file, no
usable device, unknown baseline)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmark.cli.bench import print_recommended
from benchmark.cli.tables import print_latency
from benchmark.farm.campaign import NothingToRun, run_farm_file
from benchmark.farm.config import DEFAULT_FARM, Thresholds, load_farm
from benchmark.farm.discovery import Discovery
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
from benchmark.farm.history_transfer import export_all, import_runs, read_import
from benchmark.farm.noise import history_noise
from benchmark.farm.scaling import TARGET_RATIO, measure_scaling
from benchmark.latency.run import DeviceOutcome
from benchmark.records.parts import verdict_of
from benchmark.records.run_files import DEFAULT_REPORTS, new_run_path, write_run
from benchmark.records.runs import FarmScalingRun
from benchmark.workflow import preflight, record_recommendations
from converter.base.errors import ExitCode, UsageError
from converter.base.needs import at_least, existing_file, greater_than, output_dir
from converter.cli.args import add_precision_arg, add_zoo_args, check_zoo_args, env_path, model_sources
from converter.schema.zoo import load_zoo

log = logging.getLogger("benchmark")
RUN_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


HISTORY_HELP = (
    "the history: a file path, sqlite:///PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB (default $HISTORY, "
    "else the farm file's)"
)


def add_farm_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    farm = sub.add_parser("farm", help="benchmark every usable device of a device farm (configs/farm.yaml)")
    add_zoo_args(farm)
    farm.add_argument("--farm", type=Path, default=env_path("FARM") or DEFAULT_FARM, help="farm file ($FARM)")
    add_precision_arg(farm, "override the farm file's precisions")
    farm.add_argument("--force", action="store_true", help="measure again what the history already holds")
    farm.add_argument("--runner", type=Path, default=env_path("RUNNER"), help="override the farm file's runner")
    farm.add_argument("--run-name", help="name of this run in the history (default: UTC time + PID)")
    farm.add_argument("--history", default=os.environ.get("HISTORY") or None, help=HISTORY_HELP)
    farm.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    gate = sub.add_parser("gate", help="compare the latest farm run with a baseline; JUnit XML; exit 1 on failure")
    gate.add_argument("--baseline", required=True, help="run id in the history, 'previous', or an exported .json")
    gate.add_argument("--run", help="the run to judge (default: the latest finished one)")
    gate.add_argument("--farm", type=Path, default=env_path("FARM") or DEFAULT_FARM, help="thresholds from here")
    gate.add_argument("--history", default=os.environ.get("HISTORY") or None, help=HISTORY_HELP)
    gate.add_argument("--threshold-percent", type=float, help="override thresholds.regression_percent (> 0)")
    gate.add_argument("--cv-factor", type=float, help="override thresholds.cv_factor (>= 0)")
    gate.add_argument(
        "--instructions-percent", type=float, help="override thresholds.instructions_percent (> 0; ARM emulated phones)"
    )
    gate.add_argument("--junit", type=Path, help="JUnit XML to write (default: REPORTS/gate-junit.xml)")
    gate.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    gate.add_argument("-v", "--verbose", action="store_true")
    hist = sub.add_parser(
        "history", help="list farm runs; export one as a baseline; export-all / import a whole history or a run file"
    )
    hist.add_argument("action", choices=["runs", "export", "export-all", "import"])
    hist.add_argument(
        "run", nargs="?", help="export: the run id (default: the latest finished); import: an export-all file"
    )
    hist.add_argument("-o", "--output", type=Path, help="export / export-all: the file to write")
    hist.add_argument("--run-file", type=Path, help="import: a farm run file (the records a lost server missed)")
    hist.add_argument("--farm", type=Path, default=env_path("FARM") or DEFAULT_FARM)
    hist.add_argument("--history", default=os.environ.get("HISTORY") or None, help=HISTORY_HELP)
    hist.add_argument("-v", "--verbose", action="store_true")


def _history_path(args: argparse.Namespace) -> str:
    """--history, $HISTORY, else the farm file's."""
    if args.history:
        return str(args.history)
    return load_farm(args.farm).history


def _summary(found: Discovery, outcomes: list[DeviceOutcome]) -> None:
    for fd, o in zip(found.devices, outcomes, strict=True):
        counts: dict[str, int] = {}
        for r in o.records:
            status = "reused" if r.reused_from_run else r.status
            counts[status] = counts.get(status, 0) + 1
        parity_fail = sum(1 for r in o.records if verdict_of(r.parity) == "fail")
        text = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing"
        print(
            f"  {fd.serial} on {fd.server} ({fd.key}): {text}" + (f"; {parity_fail} parity FAIL" if parity_fail else "")
        )
    for s in found.skipped:
        print(f"  {s['serial']} on {s['server']}: not run: {s['reason']}")
    for e in found.server_errors:
        print(f"  {e}")


def check_farm(args: argparse.Namespace) -> argparse.Namespace:
    """The farm file, the history, the models, the runner, the run name: before any server is asked or model
    converted (a server of the farm that is down is that server's failure, reported with the others)."""
    cfg = load_farm(args.farm)
    preflight.history_location(args.history or cfg.history, must_exist=False)
    check_zoo_args(args)
    preflight.zoo_models(args.zoo, args.models or cfg.models or [])
    preflight.runner_file(args.runner or cfg.runner)
    if "ncnn" in args.runtimes:
        log.warning("warning: the farm runs Paddle-Lite variants only: ncnn files are converted, not run (run ncnn "
                    "variants with latency or bench-emulated --runtimes paddle-lite,ncnn)")  # fmt: skip
    output_dir(args.reports, "--reports")
    output_dir(args.out, "--out")
    if args.run_name is not None and not RUN_NAME_RE.match(args.run_name):
        raise UsageError(f"--run-name {args.run_name!r}: use lower-case letters, digits, '.', '_' or '-' (64 at most)")
    return args


def run_farm_command(args: argparse.Namespace) -> int:
    cfg = load_farm(args.farm)
    if args.runner:
        cfg = cfg.model_copy(update={"runner": args.runner})
    try:
        result = run_farm_file(
            cfg=cfg,
            farm_file=args.farm,
            zoo=load_zoo(args.zoo),
            sources=model_sources(args),
            reports=args.reports,
            models=args.models,
            precisions=args.precision,
            history=args.history,
            force=args.force,
            run_name=args.run_name,
        )
    except NothingToRun as e:
        _summary(e.found, [])
        raise
    print_latency(result.outcomes)
    print(
        f"farm run {result.run_id}: {len(result.found.devices)} device(s) in {result.wall_s:.1f} s; "
        f"run file {result.path}; history {result.history_path}"
    )
    _summary(result.found, result.outcomes)
    print_recommended(*record_recommendations(args.reports, args.out, {r.model for r in result.records}))
    if result.history_errors:
        print(
            f"error: the history refused {len(result.history_errors)} write(s) ({result.history_errors[0]}); every "
            f"record is in the run file: make history-import RUN_FILE={result.path} once the history is back",
            file=sys.stderr,
        )
    if result.interrupted:
        return ExitCode.INTERRUPTED
    return ExitCode.OK if result.ok and not result.history_errors else ExitCode.FAILED


@dataclass(frozen=True)
class GateCommand:
    result: GateResult
    junit: Path
    reports: Path


def check_gate(args: argparse.Namespace) -> GateCommand:
    """Thresholds from the farm file, each flag given overriding its own (0 is refused, not ignored); the history,
    the run judged and the baseline read: a name or file that is not there is bad input, and nothing is written."""
    greater_than(args.threshold_percent, 0, "--threshold-percent")
    at_least(args.cv_factor, 0, "--cv-factor")
    greater_than(args.instructions_percent, 0, "--instructions-percent")
    base = load_farm(args.farm).thresholds if args.farm.is_file() else Thresholds()
    given = {
        "regression_percent": args.threshold_percent,
        "cv_factor": args.cv_factor,
        "instructions_percent": args.instructions_percent,
    }
    t = base.model_copy(update={k: v for k, v in given.items() if v is not None})
    output_dir(args.reports, "--reports")
    junit = args.junit or args.reports / "gate-junit.xml"
    output_dir(junit.parent, "--junit")
    if args.baseline.endswith(".json"):
        existing_file(Path(args.baseline), "--baseline", fix="export one with `make baseline` (history export)")
    location = _history_path(args)
    preflight.history_location(location, must_exist=True)
    with open_existing(location) as history:
        current = history.run(args.run).run_id if args.run else latest_finished(history)
        baseline_label, baseline = load_baseline(args.baseline, history, current)
        noise = history_noise(history, current)
        result = GateResult(baseline_label, current, t, compare(baseline, history.run_records(current), t, noise))
    return GateCommand(result, junit, args.reports)


def run_gate_command(cmd: GateCommand) -> int:
    result = cmd.result
    print_gate(result)
    write_junit(result, cmd.junit)
    gate_path = new_run_path("gate", cmd.reports)
    write_run(gate_path, result.run())
    print(f"JUnit XML {cmd.junit}; gate file {gate_path}")
    return ExitCode.OK if result.passed else ExitCode.FAILED


def check_history(args: argparse.Namespace) -> argparse.Namespace:
    if args.action == "import":
        if bool(args.run) == bool(args.run_file):
            raise UsageError("history import takes an export-all file, or --run-file RUN_FILE.json (one of the two)")
        existing_file(
            Path(args.run or args.run_file), "history import", fix="give a file written by history export-all"
        )
        preflight.history_location(_history_path(args), must_exist=False)
        return args
    if args.action in ("export", "export-all"):
        if args.output is None:
            raise UsageError(f"history {args.action} needs -o FILE.json")
        output_dir(args.output.parent, "-o")
    preflight.history_location(_history_path(args), must_exist=True)
    return args


def run_history_command(args: argparse.Namespace) -> int:
    if args.action == "import":
        return _import(args)
    with open_existing(_history_path(args)) as history:
        if args.action == "runs":
            for r in history.runs():
                n = len(history.run_records(r.run_id))
                print(f"{r.run_id}  {r.started_at}  {r.status:<11}  {n:>3} record(s)  {r.host or ''}")
            return 0
        if args.action == "export-all":
            if args.output is None:
                raise UsageError("history export-all needs -o FILE.json")
            n_runs, n_records = export_all(history, args.output)
            print(f"history {history.path}: {n_runs} run(s), {n_records} record(s) written to {args.output}")
            return 0
        run_id = args.run or latest_finished(history)
        if args.output is None:
            raise UsageError("history export needs -o FILE.json")
        n = export_baseline(history, run_id, args.output)
    print(f"baseline {args.output}: {n} record(s) of run {run_id}")
    return 0


def _import(args: argparse.Namespace) -> int:
    """An export-all file or a farm run file into --history (created if needed); runs it already holds are kept."""
    if bool(args.run) == bool(args.run_file):
        raise UsageError("history import takes an export-all file, or --run-file RUN_FILE.json (one of the two)")
    source = Path(args.run or args.run_file)
    data = read_import(source, run_file=args.run_file is not None)  # bad input: one line, nothing written
    with History(_history_path(args)) as history:
        summary = import_runs(history, data)
    print(f"history {history.path}: {summary}")
    return 0


def add_scaling_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("farm-scaling", help="farm wall time over N emulated devices / over one (target <= 1.3)")
    add_zoo_args(p)
    add_precision_arg(p, "variants")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    p.add_argument("--devices", type=int, default=3, help="emulated devices for the parallel run (default 3)")
    p.add_argument("--latency-ms", type=float, default=50.0, help="fixed time per inference (default 50)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=20)


def check_scaling(args: argparse.Namespace) -> argparse.Namespace:
    at_least(args.devices, 2, "--devices")
    greater_than(args.latency_ms, 0, "--latency-ms")
    at_least(args.rounds, 1, "--rounds")
    at_least(args.repeats, 1, "--repeats")
    check_zoo_args(args)
    preflight.zoo_models(args.zoo, args.models)
    output_dir(args.reports, "--reports")
    return args


def run_scaling(args: argparse.Namespace) -> int:
    s = measure_scaling(
        zoo=load_zoo(args.zoo),
        sources=model_sources(args),
        models=args.models or ["portrait_pp_humansegv2_lite_256x144"],
        precisions=args.precision,
        devices=args.devices,
        latency_ms=args.latency_ms,
        rounds=args.rounds,
        repeats=args.repeats,
    )
    print(
        f"farm scaling: 1 device {s.one_device_wall_s:.2f} s, {s.devices} devices {s.all_devices_wall_s:.2f} s "
        f"(two adb servers, runners sleeping {s.fixed_latency_ms:g} ms per inference): ratio {s.wall_ratio:.2f} "
        f"(target <= {TARGET_RATIO}: {'met' if s.meets_target else 'MISSED'})"
    )
    path = new_run_path("farm-scaling", args.reports)
    write_run(path, FarmScalingRun(target_ratio=TARGET_RATIO, records=[s]))
    print(f"farm scaling: run file {path}")
    return ExitCode.OK if s.meets_target else ExitCode.FAILED  # a benchmark with a target: a miss fails the command
