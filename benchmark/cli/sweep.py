"""`python -m benchmark sweep`: latency of one model over input shapes, then threads and power modes, on one
device (an attached one, or `--emulated`); the run file and a latency-vs-pixels plot."""

from __future__ import annotations

import argparse

from benchmark.cli.bench import add_bench_args, jobs_from, settings_from
from benchmark.device.adb import AdbServer
from benchmark.emulated.lab import Lab
from benchmark.emulated.phone import load_phone
from benchmark.latency.sweep import POWER_MODES, SweepResult, sweep
from benchmark.report import plots
from converter.base import atomic_files
from converter.base.errors import ExitCode, UsageError
from converter.cli.args import csv_list


def parse_shapes(text: str) -> list[tuple[int, int]]:
    """'192x192,256x144' -> [(w, h), ...] (W x H, as the model list writes them)."""
    out = []
    for item in text.split(","):
        w, sep, h = item.strip().lower().partition("x")
        if not sep or not w.isdigit() or not h.isdigit() or int(w) <= 0 or int(h) <= 0:
            raise argparse.ArgumentTypeError(f"shape {item!r} must be WxH, e.g. 256x144")
        out.append((int(w), int(h)))
    return out


def range_shapes(spec: str, aspect: str) -> list[tuple[int, int]]:
    """'128:512:64' widths at aspect 'W:H' -> shapes, heights rounded to even."""
    try:
        lo, hi, step = (int(x) for x in spec.split(":"))
        aw, ah = (int(x) for x in aspect.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--range {spec!r} must be MIN:MAX:STEP and --aspect W:H") from None
    if lo <= 0 or hi < lo or step <= 0:
        raise argparse.ArgumentTypeError(f"--range {spec!r}: need 0 < MIN <= MAX and STEP > 0")
    return [(w, max(2, round(w * ah / aw / 2) * 2)) for w in range(lo, hi + 1, step)]


def run_sweep_command(args: argparse.Namespace) -> int:
    if not args.shapes and not args.range:
        raise UsageError("give --shapes WxH,... or --range MIN:MAX:STEP")
    try:
        shapes = args.shapes or range_shapes(args.range, args.aspect)
    except argparse.ArgumentTypeError as e:
        raise UsageError(str(e)) from None
    variant = (args.precision or ["fp32"])[:1]
    prepared = jobs_from(argparse.Namespace(**{**vars(args), "models": [args.model], "precision": variant}))
    if prepared.errors or not prepared.jobs:
        raise UsageError(f"nothing to sweep ({prepared.errors[0] if prepared.errors else 'no model'})")
    common = {
        "job": prepared.jobs[0],
        "shapes": shapes,
        "threads_list": args.threads_list,
        "power_modes": args.power_modes,
        "settings": settings_from(args),
        "reports": args.reports,
        "runner": args.runner,
    }
    if args.emulated:
        with Lab.create() as lab:
            lab.add_device(load_phone("sd855"))
            assert lab.server is not None
            run = sweep(server=lab.server, **common)
    else:
        run = sweep(server=AdbServer.from_env(args.adb), serial=args.serial, **common)
    plot_path = run.path.with_suffix(".png")
    shape_rows = [r for r in run.records if r.sweep == "shape"]
    atomic_files.write_bytes(plot_path, plots.latency_vs_pixels(shape_rows, prepared.jobs[0].name))
    _print(run)
    print(f"sweep: run file {run.path}, plot {plot_path}")
    return ExitCode.OK if run.ok else ExitCode.FAILED


def _print(run: SweepResult) -> None:
    print(f"{'shape (WxH)':<19}  {'pixels':>8}  {'threads':>7}  {'power mode':<28}  {'median ms':>9}  {'CV':>6}")
    for r in run.records:
        shape = "x".join(map(str, r.shape_wh or [r.input_shape[3], r.input_shape[2]]))
        mark = " (zoo best)" if r.best else ""
        median = f"{r.median_ms:9.2f}" if r.status == "ok" else "   FAILED"
        cv = f"{r.cv:6.1%}" if r.status == "ok" else "     -"
        mode = POWER_MODES.get(r.power_mode or 0, str(r.power_mode))
        print(
            f"{shape + mark:<19}  {r.input_shape[2] * r.input_shape[3]:>8}  {r.threads:>7}  {mode:<28}  {median}  {cv}"
        )
    if run.emulated:
        print("host-emulated: Paddle-Lite x86 timings of this machine; thread and power-mode rows mean little here")


def add_sweep_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sw = sub.add_parser("sweep", help="latency over input shapes, threads and power modes on one device")
    add_bench_args(sw)
    sw.add_argument("--model", required=True, help="zoo model name")
    sw.add_argument("--shapes", type=parse_shapes, default=None, help="WxH list, e.g. 192x192,256x144,398x224")
    sw.add_argument("--range", help="widths MIN:MAX:STEP at --aspect (e.g. 128:512:64)")
    sw.add_argument("--aspect", default="16:9", help="W:H for --range (default 16:9, the phone camera's)")
    sw.add_argument("--threads-list", type=lambda t: [int(x) for x in csv_list(t)], default=[1, 2, 4])
    sw.add_argument(
        "--power-modes",
        type=lambda t: [int(x) for x in csv_list(t)],
        default=[0, 1, 2, 3],
        help="0 big, 1 little, 2 all, 3 no bind (default all four)",
    )
    sw.add_argument("--adb", help="adb server HOST:PORT")
    sw.add_argument("--serial", help="the device (default $ANDROID_SERIAL, else the first usable one)")
    sw.add_argument("--emulated", action="store_true", help="start a private adb server and an emulated device")
