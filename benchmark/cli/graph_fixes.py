"""`python -m benchmark graph-fixes`: the converter's graph fixes measured (see benchmark.latency.graph_fixes): host
timing ratios, ARM instruction ratios, optional devices and perf profiles; a table and a run file."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from benchmark.cli.host import print_kernel_shares
from benchmark.device.adb import AdbServer
from benchmark.device.select import select_devices
from benchmark.emulated.lab import Lab
from benchmark.emulated.phone import load_phone
from benchmark.latency.arm_counts import ARM_PHONE
from benchmark.latency.graph_fixes import (
    EXPORTS,
    TARGET_RATIO,
    Pair,
    add_arm_ratios,
    device_rows,
    host_rounds,
    kernel_samples,
    load_exports,
    pairs_for,
)
from benchmark.latency.run import BenchSettings
from benchmark.records.rows import GraphFixRecord
from benchmark.records.run_files import DEFAULT_REPORTS, new_run_path, utc_stamp, write_run
from benchmark.records.runs import GraphFixesRun
from benchmark.workflow import preflight
from converter.base.errors import ExitCode, ToolkitError, UsageError
from converter.base.needs import at_least, output_dir
from converter.cli.args import add_zoo_args, check_zoo_args, csv_list, env_path, model_sources
from converter.schema.zoo import load_zoo

log = logging.getLogger("benchmark")


def add_graph_fix_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("graph-fixes", help="fixed vs unfixed .nb latency, interleaved (host and devices)")
    add_zoo_args(p)
    p.add_argument("--paddle26", type=csv_list, default=[], help=f"architectures of {EXPORTS.name} to re-export")
    p.add_argument("--rounds", type=int, default=6, help="rounds per variant, order rotating (default 6)")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--adb", help="also on the devices of this adb server HOST:PORT")
    p.add_argument("--serial", help="only this device")
    p.add_argument("--runner", type=Path, default=env_path("RUNNER"), help="benchmark_bin for real devices")
    p.add_argument("--emulated", action="store_true", help="also on an emulated device (private adb server)")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    p.add_argument(
        "--perf", "--profile", dest="perf", action="store_true",
        help="also sample each host .nb by kernel family with Linux perf (--profile: its old name)",
    )  # fmt: skip
    p.add_argument(
        "--no-arm", action="store_true", help="skip counting ARM instructions per variant (ARM emulated phone, QEMU)"
    )


def _devices(args: argparse.Namespace, pairs: list[Pair], settings: BenchSettings, run_id: str) -> list[GraphFixRecord]:
    rows: list[GraphFixRecord] = []
    if args.emulated:
        with Lab.create() as lab:
            lab.add_device(load_phone("sd855"))
            assert lab.server is not None
            serials = select_devices(lab.server)
            rows += device_rows(
                pairs, server=lab.server, serials=serials, settings=settings, runner=args.runner, run_id=run_id
            )
    if args.adb or args.serial:
        server = AdbServer.from_env(args.adb)
        serials = select_devices(server, args.serial)
        rows += device_rows(pairs, server=server, serials=serials, settings=settings, runner=args.runner, run_id=run_id)
    return rows


def _profile(pair: Pair) -> dict[str, dict[str, float]]:
    profiles = kernel_samples(pair)
    print(f"{pair.name}: where the host's time goes, by kernel family (perf, cpu-clock samples):")
    print_kernel_shares(list(profiles.values()), list(profiles))
    return {kind: p.shares_percent for kind, p in profiles.items()}


def _print_rows(rows: list[GraphFixRecord], rounds: int) -> None:
    head = f"{'model':<44}  {'where':<42}  {'unfixed ms':>10}  {'fixed ms':>9}  {'ratio':>6}  {'.nb ops':>9}"
    print(f"{head}  {'old-form ms':>11}  {'old-form ratio':>14}  {'ARM instr. ratio':>16}")
    for r in rows:
        ops = f"{r.x86_ops_before}->{r.x86_ops_after}"
        old = "-" if r.old_form_median_ms is None else f"{r.old_form_median_ms:.2f}"
        old_ratio = "-" if r.old_form_ratio_median is None else f"{r.old_form_ratio_median:.2f}"
        print(
            f"{r.model:<44}  {r.where:<42}  {r.unfixed_median_ms:>10.2f}  {r.fixed_median_ms:>9.2f}  "
            f"{r.ratio_median:>6.2f}  {ops:>9}  {old:>11}  {old_ratio:>14}  {_arm_cell(r):>16}"
        )
    print(
        f"ratio = fixed / unfixed median latency, median over {rounds} interleaved rounds; host target <= "
        f"{TARGET_RATIO} on a Paddle 2.6 export of the general V2-Lite architecture"
    )
    if any(r.arm_instructions for r in rows):
        print(
            "ARM instr. ratio = fixed / unfixed ARM instructions per inference (real Paddle-Lite ARM runtime under "
            f"QEMU on {ARM_PHONE}; old form in parentheses): the ARM work, deterministic, not a phone latency"
        )
    for r in rows:
        if r.old_form_model:
            weights = " (random weights: timing only)" if r.old_form_weights == "random" else ""
            print(
                f"old-form ratio = {r.old_form_model}{weights}, the official Paddle <= 2.4 export of the same "
                f"architecture, / unfixed, same rounds: the most a graph-form fix can recover ({r.where}: "
                f"fixed {r.ratio_median:.2f}, old form {r.old_form_ratio_median or 0:.2f})"
            )


def _arm_cell(r: GraphFixRecord) -> str:
    if r.arm_instruction_ratio is None:
        return "-"
    old = r.arm_old_form_instruction_ratio
    return f"{r.arm_instruction_ratio:.3f}" + (f" ({old:.3f})" if old else "")


def check_graph_fixes(args: argparse.Namespace) -> argparse.Namespace:
    """Numbers, models, the Paddle 2.6 exports named, the devices asked for (server, serial, runner), the ARM
    tools unless --no-arm, perf with --perf: before any conversion or measurement."""
    at_least(args.rounds, 1, "--rounds")
    at_least(args.repeats, 1, "--repeats")
    at_least(args.warmup, 0, "--warmup")
    check_zoo_args(args)
    preflight.zoo_models(args.zoo, args.models)
    known = load_exports()
    unknown = [a for a in args.paddle26 if a not in known]
    if unknown:
        raise UsageError(f"--paddle26 {', '.join(unknown)}: not in {EXPORTS.name}; known: {', '.join(known)}")
    preflight.runner_file(args.runner)
    if args.adb or args.serial:
        preflight.devices(preflight.adb_server(args.adb), args.serial)
    if args.emulated:
        preflight.emulated_phone("sd855")
    if not args.no_arm:
        preflight.emulated_phone(ARM_PHONE)
    if args.perf:
        preflight.perf_tool()
    output_dir(args.reports, "--reports")
    return args


def run_graph_fix_bench(args: argparse.Namespace) -> int:
    pairs = pairs_for(zoo=load_zoo(args.zoo), sources=model_sources(args), models=args.models, paddle26=args.paddle26)
    for p in pairs:
        if not p.comparable:
            status = p.graph_fixes.status if p.graph_fixes else "unknown"
            print(f"{p.name}: graph fixes {status}: nothing to compare (the program went to opt as exported)")
    pairs = [p for p in pairs if p.comparable]
    if not pairs:
        raise UsageError("no model with graph fixes applied; try --paddle26 " + ", ".join(load_exports()))
    rows = []
    for pair in pairs:
        log.info("%s: host: fixed vs unfixed x86 .nb, %d interleaved rounds", pair.name, args.rounds)
        rows.append(host_rounds(pair, args.rounds, args.repeats, args.warmup))
        if args.perf:
            rows[-1].kernel_shares_percent = _profile(pair)
        if not args.no_arm:
            add_arm_ratios(rows[-1], pair, utc_stamp().lower())
    settings = BenchSettings(warmup=args.warmup, repeats=args.repeats, rounds=args.rounds)
    failed: ToolkitError | None = None
    try:
        rows += _devices(args, pairs, settings, utc_stamp().lower())
    except ToolkitError as e:  # the host and ARM rows measured so far are kept in the run file
        failed = e
    _print_rows(rows, args.rounds)
    path = new_run_path("graph-fixes", args.reports)
    write_run(path, GraphFixesRun(target_ratio=TARGET_RATIO, records=rows))
    print(f"graph fixes: run file {path}")
    if failed is not None:
        print(f"error: the device rows failed: {failed}", file=sys.stderr)
        return ExitCode.FAILED
    return ExitCode.OK
