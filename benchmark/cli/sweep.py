"""`python -m benchmark sweep`: latency of one model over input shapes, then threads and power modes, on one
device (an attached one, or `--emulated`); the run file and a latency-vs-pixels plot."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from benchmark.cli.bench import add_measure_args, add_model_args, add_reports_arg, model_choice, settings_from
from benchmark.device.adb import AdbServer
from benchmark.emulated.lab import Lab
from benchmark.emulated.phone import load_phone
from benchmark.latency.jobs import ModelChoice
from benchmark.latency.run import BenchSettings
from benchmark.latency.sweep import POWER_MODES, SweepResult, sweep
from benchmark.report import plots
from benchmark.workflow import preflight
from converter.base import atomic_files
from converter.base.errors import ExitCode, UsageError
from converter.base.needs import at_least, int_list, output_dir


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


@dataclass(frozen=True)
class SweepCommand:
    """A sweep, checked: one model (the first variant asked for), its shapes, threads and power modes, where."""

    models: ModelChoice
    shapes: list[tuple[int, int]]
    threads_list: list[int]
    power_modes: list[int]
    settings: BenchSettings
    reports: Path
    runner: Path | None
    emulated: bool
    server: AdbServer | None = None
    serial: str | None = None


def check_sweep(args: argparse.Namespace) -> SweepCommand:
    if not args.shapes and not args.range:
        raise UsageError("give --shapes WxH,... or --range MIN:MAX:STEP")
    try:
        shapes = args.shapes or range_shapes(args.range, args.aspect)
    except argparse.ArgumentTypeError as e:
        raise UsageError(str(e)) from None
    for t in args.threads_list:
        at_least(t, 1, "--threads-list")
    bad_modes = [m for m in args.power_modes if m not in POWER_MODES]
    if bad_modes:
        raise UsageError(f"--power-modes {bad_modes[0]}: use 0 big, 1 little, 2 all, 3 no bind")
    settings = settings_from(args)
    preflight.runner_file(args.runner)
    output_dir(args.reports, "--reports")
    variant = tuple((args.precision or ("fp32",))[:1])
    models = model_choice(args, names=[args.model], precisions=variant)
    server = None if args.emulated else preflight.adb_server(args.adb)
    if server is not None:
        preflight.devices(server, args.serial)
    return SweepCommand(
        models, shapes, args.threads_list, args.power_modes, settings, args.reports, args.runner, args.emulated,
        server, args.serial,
    )  # fmt: skip


def run_sweep_command(cmd: SweepCommand) -> int:
    prepared = cmd.models.prepare()
    if not prepared.jobs:
        raise UsageError(f"nothing to sweep ({prepared.errors[0] if prepared.errors else 'no model'})")
    job = prepared.jobs[0]
    common = {
        "job": job,
        "shapes": cmd.shapes,
        "threads_list": cmd.threads_list,
        "power_modes": cmd.power_modes,
        "settings": cmd.settings,
        "reports": cmd.reports,
        "runner": cmd.runner,
    }
    if cmd.server is None:
        with Lab.create() as lab:
            lab.add_device(load_phone("sd855"))
            assert lab.server is not None
            run = sweep(server=lab.server, **common)  # type: ignore[arg-type]
    else:
        run = sweep(server=cmd.server, serial=cmd.serial, **common)  # type: ignore[arg-type]
    plot_path = run.path.with_suffix(".png")
    shape_rows = [r for r in run.records if r.sweep == "shape"]
    atomic_files.write_bytes(plot_path, plots.latency_vs_pixels(shape_rows, job.name))
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
    add_model_args(sw, "the variant to sweep (the first one given; default fp32)", models=False)
    add_measure_args(sw)
    add_reports_arg(sw)
    sw.add_argument("--model", required=True, help="zoo model name")
    sw.add_argument("--shapes", type=parse_shapes, default=None, help="WxH list, e.g. 192x192,256x144,398x224")
    sw.add_argument("--range", help="widths MIN:MAX:STEP at --aspect (e.g. 128:512:64)")
    sw.add_argument("--aspect", default="16:9", help="W:H for --range (default 16:9, the phone camera's)")
    sw.add_argument("--threads-list", type=int_list("thread counts"), default=[1, 2, 4], help="(default 1,2,4)")
    sw.add_argument(
        "--power-modes",
        type=int_list("power modes"),
        default=[0, 1, 2, 3],
        help="0 big, 1 little, 2 all, 3 no bind (default all four)",
    )
    sw.add_argument("--adb", help="adb server HOST:PORT")
    sw.add_argument("--serial", help="the device (default $ANDROID_SERIAL, else the first usable one)")
    sw.add_argument("--emulated", action="store_true", help="start a private adb server and an emulated device")
