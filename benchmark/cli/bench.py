"""`python -m benchmark latency` / `bench-emulated` / `overhead`: argument handling, model preparation (convert
what is missing), device selection, the run, the table. Exit codes: 0 all done, 1 some model or device failed,
2 nothing to run (no usable device, bad arguments)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmark.device.adb import AdbServer, Device, DeviceError, list_devices
from benchmark.device.session import ModelJob
from benchmark.device.thermal import ThermalPolicy
from benchmark.emulated.profile import BenchDefaults
from benchmark.images import ImageSet, generated_image_set, load_dataset, load_image_set
from benchmark.latency.run import BenchSettings, DeviceOutcome, RunFile, bench_device
from benchmark.parity.checks import run_device_checks
from benchmark.records.run_files import DEFAULT_REPORTS, new_run_path, utc_stamp
from converter import manifest
from converter.cli_args import add_zoo_args, csv_list, env_list, env_path, model_sources
from converter.convert import convert_zoo_model
from converter.zoo import load_zoo

log = logging.getLogger("benchmark")


def duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"duration {text!r} must be like 90, 90s, 10m or 1h") from None


def add_bench_args(p: argparse.ArgumentParser) -> None:
    add_zoo_args(p)
    g = p.add_argument_group("measurement")
    g.add_argument(
        "--runner",
        type=Path,
        default=env_path("RUNNER"),
        help="benchmark_bin to push (required for real devices; default $RUNNER)",
    )
    g.add_argument(
        "--precision",
        type=csv_list,
        default=env_list("PRECISIONS"),
        help="variants to run: fp32,fp16,int8,int16 (default $PRECISIONS, else the zoo's)",
    )
    d = BenchSettings()
    g.add_argument("--rounds", type=int, help=f"benchmark_bin invocations per model (default {d.rounds}*)")
    g.add_argument("--repeats", type=int, help=f"timed runs per round (default {d.repeats}*)")
    g.add_argument("--warmup", type=int, help=f"warmup runs per round (default {d.warmup}*)")
    g.add_argument("--duration", type=duration, default=None, help="sustained mode: run rounds this long (10m)")
    g.add_argument(
        "--pin",
        choices=["none", "big", "prime"],
        default="none",
        help="taskset to these cores, with power_mode 3 (with 0-2 the runtime replaces any taskset mask)",
    )
    g.add_argument("--round-timeout", type=float, default=300.0, help="seconds before a round is killed")
    g.add_argument("--thermal-margin", type=float, default=3.0, help="°C above the idle baseline that makes us wait")
    g.add_argument("--thermal-wait", type=float, default=120.0, help="max seconds to wait for cooling per model")
    g.add_argument("--thermal-poll", type=float, default=2.0, help="seconds between temperature reads while waiting")
    g.add_argument("--baseline-temp", type=float, default=None, help="idle baseline °C (default: read at start)")
    g.add_argument("--cooldown", type=float, default=0.0, help="seconds to sleep between models")
    g.add_argument("--cv-limit", type=float, default=0.05)
    g.add_argument("--keep", action="store_true", help="keep the device work dir")
    g.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    g.add_argument(
        "--images",
        type=Path,
        default=env_path("IMAGES"),
        help="after the latency run, device parity on these images (default $IMAGES)",
    )
    g.add_argument("--no-parity", action="store_true", help="skip the device parity check after the latency rounds")
    g.add_argument(
        "--dataset",
        type=Path,
        default=env_path("DATASET"),
        help="labelled set (Images/ + Annotations/): device parity and accuracy (default $DATASET)",
    )


def settings_from(args: argparse.Namespace, defaults: BenchDefaults | None = None) -> BenchSettings:
    """The measurement settings: the flags given, else the device profile's defaults (an ARM emulated phone runs
    one inference in seconds), else BenchSettings' (*)."""
    base = BenchSettings()
    rounds = args.rounds if args.rounds is not None else (defaults.rounds if defaults else base.rounds)
    repeats = args.repeats if args.repeats is not None else (defaults.repeats if defaults else base.repeats)
    warmup = args.warmup if args.warmup is not None else (defaults.warmup if defaults else base.warmup)
    if rounds < 1 or repeats < 1 or warmup < 0:
        raise DeviceError("--rounds and --repeats must be >= 1 and --warmup >= 0")
    return BenchSettings(
        warmup=warmup,
        repeats=repeats,
        rounds=rounds,
        duration_s=args.duration,
        pin=args.pin,
        round_timeout_s=args.round_timeout,
        cooldown_s=args.cooldown,
        cv_limit=args.cv_limit,
        keep=args.keep,
        thermal=ThermalPolicy(args.thermal_margin, args.thermal_wait, args.thermal_poll, args.baseline_temp),
    )


def prepare_jobs(args: argparse.Namespace) -> tuple[list[ModelJob], list[str]]:
    """Convert what is missing (arm and x86); return the runnable models and the errors of the others."""
    zoo = load_zoo(args.zoo)
    names = args.models or zoo.names()
    unknown = [n for n in names if n not in zoo.names()]
    if unknown:
        raise DeviceError(f"unknown model(s) {', '.join(unknown)}; the zoo has: {', '.join(zoo.names())}")
    jobs, errors = [], []
    sources = model_sources(args)
    for name in names:
        o = convert_zoo_model(zoo, name, sources=sources, targets=("arm", "x86"), precisions=args.precision)
        if not o.ok or o.model_dir is None:
            errors.append(o.error or f"{name}: {o.status}")
            log.error("error: %s", errors[-1])
            continue
        data = manifest.load(o.model_dir) or {}
        entry = zoo.get(name)
        shape = list(data.get("input_shape", entry.input_shape))
        for precision in args.precision or zoo.precisions(entry):
            jobs.append(ModelJob(name, o.model_dir, shape, entry.published.sd855_latency_ms, precision))
    return jobs, errors


def select_devices(server: AdbServer, serial: str | None) -> list[str]:
    entries = list_devices(server)
    wanted = serial or os.environ.get("ANDROID_SERIAL") or None
    if wanted:
        match = [e for e in entries if e.serial == wanted]
        if not match:
            attached = ", ".join(f"{e.serial} ({e.state})" for e in entries) or "none"
            raise DeviceError(f"device {wanted} is not attached to the adb server {server}; attached: {attached}")
        entries = match
    for e in entries:
        if not e.usable:
            log.warning("warning: skipping %s: %s", e.serial, e.reason)
    return [e.serial for e in entries if e.usable]


def _fmt(v: Any, spec: str) -> str:
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def print_table(outcomes: list[DeviceOutcome]) -> None:
    rows = [r for o in outcomes for r in o.records]
    if not rows:
        return
    w = max(len(r["model"]) for r in rows) + 6
    print(
        f"{'device':<22}  {'model':<{w}}  {'shape':<16}  {'median ms':>9}  {'p90 ms':>8}  {'CV':>6}  "
        f"{'M instr/inf':>11}  {'seed SD855 ms':>13}  {'ratio':>6}  note"
    )
    for r in rows:
        shape = "x".join(map(str, r["input_shape"]))
        note = ""
        if r.get("emulated_cpu"):
            note = f"QEMU {r['emulated_cpu']}: emulation time"
        elif r["emulated"]:
            note = "host-emulated"
        if r["status"] == "not_run":
            note = "NOT RUN: " + r["error"].splitlines()[0][:80]
        elif r["status"] == "skipped":
            note = "skipped: " + r["error"].split(": ", 1)[-1][:80]
        elif r["status"] != "ok":
            note = "FAILED: " + r["error"].splitlines()[0][:80]
        elif r.get("reused_from_run"):
            note = f"reused from run {r['reused_from_run']}"
        elif r["warnings"]:
            note = (note + "; " if note else "") + r["warnings"][0][:60]
        if r.get("parity"):
            note = ("parity PASS" if r["parity"]["passed"] else "parity FAIL") + (f"; {note}" if note else "")
        seed = r.get("seed_ms")
        label = f"{r['model']} {r['precision']}"
        # a timing of an emulated device is not a phone timing: no ratio against the seed's phone figure
        ratio = r["median_ms"] / seed if seed and r["status"] == "ok" and not r["emulated"] else None
        insns = r.get("instructions_per_inference")
        print(
            f"{r['device']['serial']:<22}  {label:<{w}}  {shape:<16}  {_fmt(r.get('median_ms'), '9.2f')}  "
            f"{_fmt(r.get('p90_ms'), '8.2f')}  {_fmt(r.get('cv'), '6.1%')}  "
            f"{_fmt(insns / 1e6 if insns else None, '11.2f')}  {_fmt(seed, '13.2f')}  {_fmt(ratio, '6.2f')}  {note}"
        )
    if any(r["emulated"] and not r.get("emulated_cpu") for r in rows):
        print("host-emulated rows are Paddle-Lite x86 timings of this machine, not phone timings")
    if any(r.get("emulated_cpu") for r in rows):
        print(
            "QEMU rows ran the real ARM runtime under emulation: their ms are emulation time, not phone time; "
            "instructions per inference are the deterministic cost figure (not a latency)"
        )


def check_images(args: argparse.Namespace) -> ImageSet | None:
    """The image set for device parity, loaded before any device work so bad input fails fast."""
    if args.dataset:
        images = load_dataset(args.dataset)
    elif args.images:
        images = load_image_set(args.images)
    else:
        return None
    for w in images.warnings:
        log.warning("warning: %s", w)
    return images


def run_latency(args: argparse.Namespace, server: AdbServer, defaults: BenchDefaults | None = None) -> int:
    settings = settings_from(args, defaults)
    images = None if args.no_parity else (check_images(args) or generated_image_set())
    jobs, model_errors = prepare_jobs(args)
    serials = select_devices(server, getattr(args, "serial", None))
    if not serials:
        print(
            f"error: no usable device on the adb server {server} (see the warnings above; `adb devices` lists them)",
            file=sys.stderr,
        )
        return 2
    if not jobs:
        print("error: no model could be prepared; nothing to run", file=sys.stderr)
        return 2
    run_id = utc_stamp().lower()
    path = new_run_path("latency", args.reports)
    run_file = RunFile(
        path, {"adb_server": str(server), "settings": settings_from_json(settings), "model_errors": model_errors}
    )
    outcomes = []
    for serial in serials:
        try:
            device = Device(server, serial)
        except DeviceError as e:
            outcomes.append(DeviceOutcome(serial, error=str(e)))
            continue
        outcomes.append(bench_device(device, jobs, settings, run_file=run_file, runner=args.runner, run_id=run_id))
        if outcomes[-1].error:
            log.error("error: %s", outcomes[-1].error)
    print_table(outcomes)
    ok = sum(1 for r in run_file.records if r["status"] == "ok")
    print(f"latency: {ok}/{len(run_file.records)} record(s) ok on {len(serials)} device(s); run file {path}")
    code = 0 if all(o.ok for o in outcomes) and not model_errors else 1
    if images is not None:
        alive = [o.serial for o in outcomes if not (o.error and "disconnected" in o.error)]
        checks = run_device_checks(args, server, alive, jobs, images, accuracy=args.dataset is not None, run_id=run_id)
        code = max(code, checks)
    return code


def run_parity_only(args: argparse.Namespace, server: AdbServer) -> int:
    """`parity --device`: device parity (and accuracy with --dataset) without the latency rounds."""
    images = check_images(args)
    if images is None:
        images = generated_image_set()
        log.info("no --images/--dataset: device parity on %d generated images", len(images.items))
    jobs, model_errors = prepare_jobs(args)
    serials = select_devices(server, getattr(args, "serial", None))
    if not serials or not jobs:
        print(
            f"error: nothing to run ({'no usable device on ' + str(server) if not serials else 'no model'})",
            file=sys.stderr,
        )
        return 2
    code = run_device_checks(
        args, server, serials, jobs, images, accuracy=args.dataset is not None, run_id=utc_stamp().lower()
    )
    return max(code, 1 if model_errors else 0)


def settings_from_json(s: BenchSettings) -> dict[str, Any]:
    return asdict(s)
