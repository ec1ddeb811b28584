"""`python -m benchmark latency` / `bench-emulated` / `overhead`: argument handling, model preparation (convert
what is missing), device selection, the run, the table. Exit codes: 0 all done, 1 some model or device failed,
2 nothing to run (no usable device, bad arguments)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from benchmark.cli.tables import print_device_checks, print_latency, print_recommendations
from benchmark.device.adb import AdbServer
from benchmark.device.runner_version import ALLOW_FLAG
from benchmark.device.select import select_devices
from benchmark.device.thermal import ThermalPolicy
from benchmark.emulated.phone import BenchDefaults
from benchmark.images import ImageSet, generated_image_set, load_dataset, load_image_set
from benchmark.latency.devices import LatencyResult, NoUsableDevice
from benchmark.latency.jobs import PreparedJobs, converted_jobs, prepare_jobs
from benchmark.latency.run import BenchSettings
from benchmark.parity.checks import check_devices
from benchmark.records.run_files import DEFAULT_REPORTS, utc_stamp
from benchmark.report.recommend import Recommendation
from benchmark.workflow import BenchRequest, bench
from converter.base.errors import ExitCode, UsageError
from converter.cli.args import add_precision_arg, add_zoo_args, env_path, model_sources
from converter.schema.zoo import load_zoo

log = logging.getLogger("benchmark")


def duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"duration {text!r} must be like 90, 90s, 10m or 1h") from None


def add_bench_args(p: argparse.ArgumentParser) -> None:
    add_zoo_args(p)
    p.add_argument(
        "--converted",
        default=os.environ.get("CONVERTED", ""),
        help="comma-separated models of your own, converted with `python -m converter model` into --out, instead "
        "of zoo models (default $CONVERTED); parity uses generated images unless --images/--dataset",
    )
    g = p.add_argument_group("measurement")
    g.add_argument(
        "--runner",
        type=Path,
        default=env_path("RUNNER"),
        help="benchmark_bin to push (required for real devices; default $RUNNER)",
    )
    add_precision_arg(g, "variants to run")
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
    g.add_argument("--round-timeout", type=float, default=d.round_timeout_s, help="seconds before a round is killed")
    g.add_argument("--thermal-margin", type=float, default=3.0, help="°C above the idle baseline that makes us wait")
    g.add_argument("--thermal-wait", type=float, default=120.0, help="max seconds to wait for cooling per model")
    g.add_argument("--thermal-poll", type=float, default=2.0, help="seconds between temperature reads while waiting")
    g.add_argument("--baseline-temp", type=float, default=None, help="idle baseline °C (default: read at start)")
    g.add_argument("--cooldown", type=float, default=0.0, help="seconds to sleep between models")
    g.add_argument(
        "--cv-limit", type=float, default=d.cv_limit, help=f"CV above this is reported (default {d.cv_limit})"
    )
    g.add_argument("--keep", action="store_true", help="keep the device work dir")
    add_allow_unknown_version_arg(g)
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


def add_allow_unknown_version_arg(g: argparse._ActionsContainer) -> None:
    g.add_argument(
        ALLOW_FLAG,
        action="store_true",
        help="run a runner whose Paddle-Lite version cannot be established (recorded in every record); a runner of "
        "another version than the .nb's opt is refused whatever this says",
    )


def settings_from(args: argparse.Namespace, defaults: BenchDefaults | None = None) -> BenchSettings:
    """The measurement settings: the flags given, else the emulated phone's defaults (an ARM emulated phone runs
    one inference in seconds), else BenchSettings' (*)."""
    base = BenchSettings()
    rounds = args.rounds if args.rounds is not None else (defaults.rounds if defaults else base.rounds)
    repeats = args.repeats if args.repeats is not None else (defaults.repeats if defaults else base.repeats)
    warmup = args.warmup if args.warmup is not None else (defaults.warmup if defaults else base.warmup)
    if rounds < 1 or repeats < 1 or warmup < 0:
        raise UsageError("--rounds and --repeats must be >= 1 and --warmup >= 0")
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
        allow_unknown_runner_version=args.allow_unknown_runner_version,
        memory_profile=not getattr(args, "no_memory", False),
        compare_plain_count=getattr(args, "compare_plain_count", False),
        thermal=ThermalPolicy(args.thermal_margin, args.thermal_wait, args.thermal_poll, args.baseline_temp),
    )


def jobs_from(args: argparse.Namespace) -> PreparedJobs:
    """The zoo models of --models (default: the whole zoo) in --precision, converted where missing; or the models
    of --converted (a user's own, converted with `python -m converter model`)."""
    if getattr(args, "converted", None):
        return converted_jobs(args.out, [n for n in args.converted.split(",") if n], args.precision)
    return prepare_jobs(
        zoo=load_zoo(args.zoo), sources=model_sources(args), names=args.models, precisions=args.precision
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


def latency_and_parity(
    args: argparse.Namespace,
    server: AdbServer,
    *,
    runner: Path | None,
    serial: str | None,
    defaults: BenchDefaults | None = None,
) -> tuple[int, LatencyResult]:
    """The arguments as a BenchRequest, the workflow (benchmark.workflow.bench), its tables; the exit code and the
    latency run."""
    images = None if args.no_parity else (check_images(args) or generated_image_set())
    request = BenchRequest(
        jobs=jobs_from(args),
        settings=settings_from(args, defaults),
        zoo=load_zoo(args.zoo),
        reports=args.reports,
        models_out=args.out,
        images=images,
        accuracy=args.dataset is not None,
        runner=runner,
        serial=serial,
    )
    result = bench(server, request, on_latency=_print_latency)
    if result.checks is not None:
        print_device_checks(result.checks)
    print_recommended(result.recommendations, result.recommendation_problems)
    return result.exit_code, result.latency


def _print_latency(run: LatencyResult) -> None:
    print_latency(run.outcomes)
    ok = sum(1 for r in run.records if r.status == "ok")
    print(f"latency: {ok}/{len(run.records)} record(s) ok on {len(run.outcomes)} device(s); run file {run.path}")


def print_recommended(recs: list[Recommendation], problems: list[str]) -> None:
    if recs:
        print_recommendations(recs)
    for problem in problems:
        log.warning("warning: %s", problem)


def run_parity_only(args: argparse.Namespace, server: AdbServer) -> int:
    """`parity --device`: device parity (and accuracy with --dataset) without the latency rounds."""
    images = check_images(args)
    if images is None:
        images = generated_image_set()
        log.info("no --images/--dataset: device parity on %d generated images", len(images.items))
    prepared = jobs_from(args)
    serials = select_devices(server, getattr(args, "serial", None))
    if not serials:
        raise NoUsableDevice(server)
    if not prepared.jobs:
        raise UsageError("no model could be prepared; nothing to run")
    checks = check_devices(
        server=server,
        serials=serials,
        jobs=prepared.jobs,
        images=images,
        zoo=load_zoo(args.zoo),
        reports=args.reports,
        runner=args.runner,
        run_id=utc_stamp().lower(),
        accuracy=args.dataset is not None,
        keep=args.keep,
        timeout_s=args.round_timeout,
        allow_unknown_runner_version=args.allow_unknown_runner_version,
    )
    print_device_checks(checks)
    return ExitCode.OK if checks.passed and not prepared.errors else ExitCode.FAILED
