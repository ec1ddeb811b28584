"""python -m benchmark parity | host-run | latency | bench-emulated | overhead | sweep | report | farm | gate |
history"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from android_demo.goldens import add_goldens_command, run_goldens
from benchmark.cli.bench import add_bench_args, run_latency, run_parity_only
from benchmark.cli.emulated import run_emulated, run_overhead
from benchmark.cli.farm import add_farm_commands, run_farm_command, run_gate_command, run_history_command
from benchmark.device.adb import AdbServer
from benchmark.emulated.lab import Lab
from benchmark.emulated.profile import load_profile
from benchmark.farm.scaling import add_scaling_command, run_scaling
from benchmark.host.lite import LiteHostRunner
from benchmark.host.profile import add_host_profile_command, run_host_profile
from benchmark.images import ImageSet, generated_image_set, load_image_set
from benchmark.latency.graph_fixes import add_graph_fix_command, run_graph_fix_bench
from benchmark.latency.sweep import add_sweep_command, range_shapes, run_sweep
from benchmark.parity import table as parity_table
from benchmark.parity.host import ModelParity, check_model
from benchmark.records.run_files import DEFAULT_REPORTS, new_run_path, write_run
from converter import manifest
from converter.cli_args import (
    add_zoo_args,
    csv_list,
    env_list,
    env_path,
    model_sources,
    nchw,
    setup_logging,
)
from converter.errors import ToolkitError
from converter.preprocess import preprocess
from converter.zoo import load_zoo

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
        "--precision",
        type=csv_list,
        default=env_list("PRECISIONS"),
        help="variants to judge: fp32,fp16,int8,int16 (default $PRECISIONS, else the zoo's)",
    )
    dev = par.add_argument_group("on a device (instead of Paddle-Lite x86 on the host)")
    dev.add_argument("--device", action="store_true", help="run the converted .nb on attached device(s) over adb")
    dev.add_argument("--adb", help="adb server HOST:PORT")
    dev.add_argument("--serial", help="only this device (default $ANDROID_SERIAL, else every usable device)")
    dev.add_argument("--runner", type=Path, help="benchmark_bin to push (required for real devices)")
    dev.add_argument("--dataset", type=Path, help="labelled set (Images/ + Annotations/): also accuracy")
    dev.add_argument("--round-timeout", type=float, default=300.0)
    dev.add_argument("--keep", action="store_true")
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
        type=Path,
        default=env_path("HISTORY") or Path("build/history.sqlite"),
        help="farm history for the farm view (default $HISTORY, else build/history.sqlite)",
    )
    rep.add_argument("-v", "--verbose", action="store_true")
    add_farm_commands(sub)
    add_scaling_command(sub)
    add_goldens_command(sub)
    add_graph_fix_command(sub)
    add_host_profile_command(sub)
    run = sub.add_parser("host-run", help="run an x86 .nb with Paddle-Lite on the host, isolated")
    run.add_argument("nb", type=Path)
    run.add_argument("--input-shape", type=nchw, help="1,3,H,W (default: from the manifest beside the .nb)")
    run.add_argument("--images", type=Path, help="images to run (default: a generated set)")
    run.add_argument("-v", "--verbose", action="store_true")
    return p


def _images(folder: Path | None) -> ImageSet:
    if folder is None:
        log.info("no --images given: using %d generated images (say --images DIR for real ones)", 4)
        return generated_image_set()
    return load_image_set(folder)


def _parity(args: argparse.Namespace) -> int:
    zoo = load_zoo(args.zoo)
    names = args.models or zoo.names()
    unknown = [n for n in names if n not in zoo.names()]
    if unknown:
        print(
            f"error: unknown model(s) {', '.join(unknown)}; the zoo has: {', '.join(zoo.names())}",
            file=sys.stderr,
        )
        return 2
    images = _images(args.images)
    for w in images.warnings:
        log.warning("warning: %s", w)
    log.info("parity on %d image(s) from %s", len(images.items), images.source)
    path = new_run_path("parity", args.reports)
    results: list[ModelParity] = []
    records: list[dict[str, object]] = []
    for name in names:
        log.info("%s: checking", name)
        pairs = check_model(zoo, name, images, precisions=args.precision, sources=model_sources(args))
        for result, recs in pairs:
            results.append(result)
            records += recs
        write_run(
            path,
            "parity",
            {
                "images": images.source,
                "image_count": len(images.items),
                "image_warnings": list(images.warnings),
                "models": [r.to_json() for r in results],
            },
            records,
        )
        log.info("%s: %s", name, ", ".join(f"{r.precision} {r.status}" for r, _ in pairs))
    parity_table.print_records(records)
    parity_table.print_summary(results)
    passed = sum(1 for r in results if r.status == "pass")
    counts = {s: sum(1 for r in results if r.status == s) for s in ("fail", "unavailable", "error", "not_run")}
    names = {"fail": "failed", "not_run": "not run here (see above)"}
    others = ", ".join(f"{n} {names.get(s, s)}" for s, n in counts.items() if n)
    judged = len(results) - counts["not_run"]
    print(f"parity: {passed}/{judged} model variant(s) passed{'; ' + others if others else ''}; run file {path}")
    return 0 if passed == judged else 1


def _host_run(args: argparse.Namespace) -> int:
    runner = LiteHostRunner(args.nb)
    data = manifest.load(args.nb.parent)
    if args.input_shape:
        _, _, h, w = args.input_shape
        pre = {"width": w, "height": h, "mean": [0.5] * 3, "std": [0.5] * 3, "channel_order": "rgb"}
    elif data and "preprocess" in data:
        pre = data["preprocess"]
    else:
        print(f"error: no manifest beside {args.nb}; pass --input-shape 1,3,H,W", file=sys.stderr)
        return 2
    images = _images(args.images)
    result = runner.run_batch([[preprocess(i.bgr, pre)] for i in images.items])
    for item, outs in zip(images.items, result.outputs, strict=True):
        for name, arr in outs.items():
            print(
                json.dumps(
                    {
                        "image": item.name,
                        "output": name,
                        "shape": list(arr.shape),
                        "dtype": str(arr.dtype),
                        "mean": float(np.mean(arr)),
                        "finite": bool(np.isfinite(arr).all()),
                    }
                )
            )
    print(
        f"init {result.init_ms:.1f} ms; median run {float(np.median(result.run_ms)):.2f} ms "
        f"over {len(result.run_ms)} image(s) (host Paddle-Lite x86, 1 thread)"
    )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    if not args.shapes and not args.range:
        print("error: give --shapes WxH,... or --range MIN:MAX:STEP", file=sys.stderr)
        return 2
    if args.range:
        try:
            range_shapes(args.range, args.aspect)  # validates before any device work
        except argparse.ArgumentTypeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if not args.emulated:
        return run_sweep(args, AdbServer.from_env(args.adb))
    with Lab.create() as lab:
        lab.add_device(load_profile("sd855"))
        assert lab.server is not None
        return run_sweep(args, lab.server)


def _report(args: argparse.Namespace) -> int:
    from benchmark.report.build import build_report

    if not args.reports.is_dir():
        print(f"error: {args.reports} does not exist: run a benchmark or parity first", file=sys.stderr)
        return 2
    html_path, md_path, collected = build_report(args.reports, args.models_out, args.history)
    print(
        f"report: {html_path} and {md_path} from {len(collected.files)} run file(s)"
        + (f", {len(collected.warnings)} file(s) skipped" if collected.warnings else "")
    )
    return 0


def _parity_command(args: argparse.Namespace) -> int:
    return run_parity_only(args, AdbServer.from_env(args.adb)) if args.device else _parity(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "parity": _parity_command,
    "host-run": _host_run,
    "latency": lambda args: run_latency(args, AdbServer.from_env(args.adb)),
    "bench-emulated": run_emulated,
    "overhead": run_overhead,
    "report": _report,
    "sweep": _sweep,
    "farm": run_farm_command,
    "farm-scaling": run_scaling,
    "gate": run_gate_command,
    "history": run_history_command,
    "graph-fixes": run_graph_fix_bench,
    "host-profile": run_host_profile,
    "demo-goldens": run_goldens,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return COMMANDS[args.command](args)
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1 if args.command == "host-run" else 2
    except KeyboardInterrupt:
        print("interrupted; completed records are kept", file=sys.stderr)
        return 130
