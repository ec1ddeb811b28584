"""`python -m benchmark sweep`: latency of one model over input shapes (a list, or a width range at a fixed
aspect ratio), then over threads and power modes at the zoo's best shape, on one device. This is how a user checks
the "best input shape" claim and sees what single-thread big-core means on their own phone.

The PP-HumanSeg programs take dynamic shapes, so one .nb serves every shape (benchmark_bin --input_shape)."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmark.cli.bench import add_bench_args, prepare_jobs, select_devices, settings_from
from benchmark.device.adb import AdbServer, Device
from benchmark.device.session import ModelJob, device_session
from benchmark.latency.run import bench_model
from benchmark.records.run_files import new_run_path, utc_stamp, write_run
from benchmark.report import plots
from converter import atomic_files, manifest
from converter.cli_args import csv_list
from converter.errors import ToolkitError
from converter.program import read_program

log = logging.getLogger("benchmark")
POWER_MODES = {
    0: "big (LITE_POWER_HIGH)",
    1: "little (LITE_POWER_LOW)",
    2: "all (LITE_POWER_FULL)",
    3: "no bind (LITE_POWER_NO_BIND)",
}


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


def _check_dynamic(job: ModelJob, shapes: list[tuple[int, int]]) -> None:
    data = manifest.load(job.model_dir) or {}
    source = data.get("source", {})
    program = read_program(Path(source["folder"]) / source["model_file"])
    dims = program.inputs[0].dims
    fixed = len(dims) == 4 and dims[2] > 0 and dims[3] > 0
    if fixed and any((w, h) != (dims[3], dims[2]) for w, h in shapes):
        raise ToolkitError(
            f"{job.name}: the program has a fixed input shape {list(dims)}; re-export it with a dynamic shape "
            "(PaddleSeg tools/export.py without --input_shape) to sweep shapes"
        )


def run_sweep(args: argparse.Namespace, server: AdbServer) -> int:
    settings = settings_from(args)
    shapes = args.shapes or (range_shapes(args.range, args.aspect) if args.range else [])
    args.models = [args.model]
    args.precision = (args.precision or ["fp32"])[:1]
    jobs, errors = prepare_jobs(args)
    serials = select_devices(server, args.serial)
    if errors or not jobs or not serials:
        print(
            f"error: nothing to sweep ({errors[0] if errors else 'no usable device on ' + str(server)})",
            file=sys.stderr,
        )
        return 2
    job = jobs[0]
    best = (job.input_shape[3], job.input_shape[2])
    shapes = sorted(set(shapes) | {best}, key=lambda s: s[0] * s[1])
    _check_dynamic(job, shapes)
    path = new_run_path("sweep", args.reports)
    records: list[dict[str, Any]] = []
    payload = {"model": job.name, "best_shape_wh": list(best), "device": serials[0]}
    with device_session(
        Device(server, serials[0]), runner=args.runner, run_id=utc_stamp().lower(), keep=args.keep
    ) as ctx:
        for w, h in shapes:
            log.info("%s: %dx%d", job.name, w, h)
            rec = bench_model(ctx, replace(job, input_shape=[1, 3, h, w]), settings)
            records.append({**rec, "sweep": "shape", "shape_wh": [w, h], "pixels": w * h, "best": (w, h) == best})
            write_run(path, "sweep", payload, records)
        for threads in args.threads_list:
            for mode in args.power_modes:
                log.info("%s: %d thread(s), power mode %d", job.name, threads, mode)
                rec = bench_model(ctx, job, replace(settings, threads=threads, power_mode=mode))
                records.append({**rec, "sweep": "threads", "power_mode_name": POWER_MODES.get(mode, str(mode))})
                write_run(path, "sweep", payload, records)
    png = plots.latency_vs_pixels([r for r in records if r["sweep"] == "shape"], job.name)
    plot_path = path.with_suffix(".png")
    atomic_files.write_bytes(plot_path, png)
    _print(records, ctx.info.emulated)
    print(f"sweep: run file {path}, plot {plot_path}")
    return 0 if all(r["status"] == "ok" for r in records) else 1


def _print(records: list[dict[str, Any]], emulated: bool) -> None:
    print(f"{'shape (WxH)':<19}  {'pixels':>8}  {'threads':>7}  {'power mode':<28}  {'median ms':>9}  {'CV':>6}")
    for r in records:
        shape = "x".join(map(str, r.get("shape_wh") or [r["input_shape"][3], r["input_shape"][2]]))
        mark = " (zoo best)" if r.get("best") else ""
        median = f"{r['median_ms']:9.2f}" if r["status"] == "ok" else "   FAILED"
        cv = f"{r['cv']:6.1%}" if r["status"] == "ok" else "     -"
        mode = POWER_MODES.get(r["power_mode"], str(r["power_mode"]))
        print(
            f"{shape + mark:<19}  {r['input_shape'][2] * r['input_shape'][3]:>8}  {r['threads']:>7}  {mode:<28}  "
            f"{median}  {cv}"
        )
    if emulated:
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
