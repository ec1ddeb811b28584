"""python -m converter [zoo] | model DIR | inspect FILE.nb

Exit codes: 0 the work asked for was done and passed; 1 some of it failed (finished conversions are kept); 2 it
could not start (bad input, nothing to run); 130 interrupted."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from converter.base.cpu import prefer_avx2_math
from converter.base.errors import ExitCode, ToolkitError, UsageError
from converter.base.needs import existing_file, output_dir
from converter.cli.args import (
    add_graph_fix_args,
    add_int8_args,
    add_precision_arg,
    add_runtimes_arg,
    add_zoo_args,
    check_conversion_args,
    check_zoo_args,
    csv_list,
    graph_fix_settings,
    model_sources,
    nchw,
    precisions_arg,
    setup_logging,
)
from converter.cli.contract import EXIT_CODES_HELP, Command, run_command
from converter.nb.inspect import inspect_nb
from converter.opt.run import TARGETS
from converter.pipeline.convert import ConversionSummary, ModelOutcome, convert_folder, convert_zoo
from converter.pipeline.variants import builds_int8
from converter.pir.json_format import read_pir
from converter.program.read import read_program
from converter.quant.quantize import int8_plan
from converter.schema.zoo import load_zoo
from converter.sources.fetch import default_cache_dir
from converter.sources.model_files import PIR, find_model_files
from converter.sources.spec import Int8Options

log = logging.getLogger("converter")


def _targets(text: str) -> tuple[str, ...]:
    items = tuple(csv_list(text))
    bad = [t for t in items if t not in TARGETS]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"{text!r}: targets must be a comma-separated subset of {', '.join(TARGETS)}")
    return items


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m converter",
        description=__doc__,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    z = sub.add_parser("zoo", help="convert zoo models (the default command)")
    add_zoo_args(z)
    z.add_argument("--targets", type=_targets, default=("arm", "x86"), help="arm,x86 (default: both)")
    add_precision_arg(z, "variants to build")
    m = sub.add_parser("model", help="convert your own Paddle inference model folder(s)")
    m.add_argument("folder", type=Path, nargs="+", help="one or more exported model folders")
    m.add_argument("--name", help="output name (default: the folder name; one folder only)")
    m.add_argument("--input-shape", type=nchw, help="1,3,H,W (default: from deploy.yaml)")
    m.add_argument("--targets", type=_targets, default=("arm", "x86"))
    m.add_argument("--precision", type=precisions_arg, default=("fp32",))
    m.add_argument("--out", type=Path, default=Path("build/models"))
    add_graph_fix_args(m)
    add_int8_args(m)
    add_runtimes_arg(m)
    m.add_argument("-v", "--verbose", action="store_true")
    i = sub.add_parser("inspect", help="read a .nb header and kernel targets without loading it")
    i.add_argument("files", type=Path, nargs="+")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.add_argument("-v", "--verbose", action="store_true")
    for command in sub.choices.values():
        command.epilog = EXIT_CODES_HELP
    return p


def _print_summary(summary: ConversionSummary) -> None:
    width = max([len(o.name) for o in summary.outcomes] + [5])
    print(f"{'model':<{width}}  {'status':<11}  outputs")
    for o in summary.outcomes:
        reason = (o.error or "").partition("\n")[0].removeprefix(f"{o.name}: ")
        outputs = ", ".join(sorted(o.files)) if o.ok else (reason[:90] + "..." if len(reason) > 90 else reason)
        status = "stand-in" if o.ok and o.source is not None and o.source.kind == "standin" else o.status
        print(f"{o.name:<{width}}  {status:<11}  {outputs}")
        for file_name, why in o.skipped.items():
            print(f"{'':<{width}}  {'not built':<11}  {file_name}: {why}")
        for runtime, why in o.failed_targets.items():
            print(f"{'':<{width}}  {'FAILED':<11}  {runtime}: {why.removeprefix(f'{o.name}: ')[:110]}")
    for line in summary.lines():
        print(line)


def _check_inspect(args: argparse.Namespace) -> argparse.Namespace:
    for f in args.files:
        existing_file(f, "the .nb", fix="give a .nb file that opt wrote (build/models/<model>/*.nb)")
    return args


def _inspect(args: argparse.Namespace) -> int:
    """Each file in turn; one that cannot be read is an error line, the others are still shown."""
    failed = 0
    results = []
    for f in args.files:
        try:
            info = inspect_nb(f)
        except ToolkitError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        results.append(info.to_json())
        if not args.json:
            ops = sum(info.op_counts.values())
            print(
                f"{f}: target {info.target}, opt version {info.opt_version}, meta version {info.meta_version}, "
                f"{info.size_bytes} bytes, {ops} ops ({len(info.op_counts)} types), {info.int8_kernels} int8 kernels"
            )
            print("  ops: " + ", ".join(f"{k} x{v}" for k, v in info.op_counts.items()))
    if args.json:
        print(json.dumps(results, indent=2))
    return ExitCode.FAILED if failed else ExitCode.OK  # a file read and found corrupt: the inspection's verdict


@dataclass(frozen=True)
class FolderBatch:
    """`model`'s folders, checked: the ones whose program reads, and why each other one cannot be converted."""

    args: argparse.Namespace
    unreadable: dict[Path, str]


def _check_model(args: argparse.Namespace) -> FolderBatch:
    """Every folder's program is read (a Paddle 3 export: and $PADDLE3_PYTHON, when set, exists) and the options
    make sense, before the first conversion. A folder that cannot be read is that folder's failure when others can
    (they are converted, exit 1); when none can, the command could not start (exit 2)."""
    if args.name and len(args.folder) > 1:
        raise UsageError("--name names one output: give one folder with it")
    check_conversion_args(args)
    output_dir(args.out, "--out")
    unreadable: dict[Path, str] = {}
    for folder in args.folder:
        try:
            _read_folder(folder)
        except ToolkitError as e:
            unreadable[folder] = str(e)
    if len(unreadable) == len(args.folder):
        raise UsageError(next(iter(unreadable.values())))
    return FolderBatch(args, unreadable)


def _read_folder(folder: Path) -> None:
    files = find_model_files(folder)
    if files.layout == PIR:
        given = os.environ.get("PADDLE3_PYTHON")
        if given and not Path(given).is_file():
            raise UsageError(f"$PADDLE3_PYTHON {given} does not exist: unset it to let the toolkit make one")
        read_pir(files.model_file)
    else:
        read_program(files.model_file)


def _convert_folders(batch: FolderBatch) -> int:
    """Each readable folder in turn; one that fails does not stop the others (the summary says which failed)."""
    args = batch.args
    start = time.monotonic()
    options = Int8Options(args.calib, args.calib_per_image, args.calib_algo, args.int8_weights)
    int8 = int8_plan(None, options, default_cache_dir()) if builds_int8(args.precision, args.targets) else None
    outcomes = []
    for folder in args.folder:
        if folder in batch.unreadable:
            log.error("error: %s", batch.unreadable[folder])
            outcomes.append(ModelOutcome(args.name or folder.name, "failed", error=batch.unreadable[folder]))
            continue
        outcome = convert_folder(
            folder,
            name=args.name,
            input_shape=args.input_shape,
            targets=args.targets,
            precisions=args.precision,
            out_root=args.out,
            fixes=graph_fix_settings(args),
            int8=int8,
            runtimes=args.runtimes,
        )
        if outcome.error:
            log.error("error: %s", outcome.error)
        for w in outcome.warnings:
            log.warning("warning: %s: %s", outcome.name, w)
        outcomes.append(outcome)
    summary = ConversionSummary(outcomes, time.monotonic() - start)
    _print_summary(summary)
    return summary.exit_code


def _check_zoo(args: argparse.Namespace) -> argparse.Namespace:
    check_zoo_args(args)
    zoo = load_zoo(args.zoo)
    unknown = [n for n in args.models if n not in zoo.names() and not any(e.name == n for e in zoo.entry_errors)]
    if unknown:
        raise UsageError(f"unknown model(s) {', '.join(unknown)}; the zoo {args.zoo} has: {', '.join(zoo.names())}")
    return args


def _convert_zoo(args: argparse.Namespace) -> int:
    summary = convert_zoo(
        load_zoo(args.zoo),
        args.models or None,
        sources=model_sources(args),
        targets=args.targets,
        precisions=args.precision,
    )
    _print_summary(summary)
    return summary.exit_code


COMMANDS: dict[str, Command[Any]] = {
    "zoo": Command(_check_zoo, _convert_zoo),
    "model": Command(_check_model, _convert_folders),
    "inspect": Command(_check_inspect, _inspect),
}


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0].startswith("-") and args_list[0] not in ("-h", "--help"):
        args_list.insert(0, "zoo")
    args = _parser().parse_args(args_list)
    prefer_avx2_math()  # before Paddle is loaded, here or in a child
    setup_logging(args.verbose)
    return run_command(COMMANDS[args.command], args)
