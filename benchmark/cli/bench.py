"""The options the latency path's commands share (`latency`, `bench-emulated`, `overhead`, `sweep`, `profile-arm`,
`parity --device`), each group added only where it is honoured, and their checks: the arguments become typed values
(a ModelChoice, BenchSettings, an ImageSet) before any conversion or device work. Exit codes: 0 all done, 1 some
model or device failed, 2 could not start (bad arguments, no usable device)."""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from benchmark.cli.tables import print_device_checks, print_latency, print_recommendations
from benchmark.device.adb import AdbServer
from benchmark.device.runner_version import ALLOW_FLAG
from benchmark.device.thermal import ThermalPolicy
from benchmark.emulated.phone import BenchDefaults
from benchmark.images import ImageSet, generated_image_set
from benchmark.latency.devices import LatencyResult
from benchmark.latency.jobs import ModelChoice
from benchmark.latency.run import BenchSettings
from benchmark.records.run_files import DEFAULT_REPORTS
from benchmark.report.recommend import Recommendation
from benchmark.workflow import BenchRequest, BenchResult, bench, preflight
from converter.base.needs import at_least, greater_than, output_dir
from converter.cli.args import add_precision_arg, add_zoo_args, check_zoo_args, csv_list, env_path, model_sources
from converter.schema.zoo import load_zoo

log = logging.getLogger("benchmark")


def duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        value = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"duration {text!r} must be like 90, 90s, 10m or 1h") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"duration {text!r} must be more than 0")
    return value


def add_model_args(p: argparse.ArgumentParser, what: str = "variants to run", *, models: bool = True) -> None:
    """Which models: zoo names (--models, unless the command names its own) or --converted ones, and --precision."""
    add_zoo_args(p, models=models)
    p.add_argument(
        "--converted",
        default=os.environ.get("CONVERTED", ""),
        help="comma-separated models of your own, converted with `python -m converter model` into --out, instead "
        "of zoo models (default $CONVERTED); parity uses generated images unless --images/--dataset",
    )
    add_precision_arg(p, what)


def add_runner_arg(g: argparse._ActionsContainer) -> None:
    g.add_argument(
        "--runner",
        type=Path,
        default=env_path("RUNNER"),
        help="benchmark_bin to push (required for real devices; default $RUNNER)",
    )


def add_ncnn_runner_arg(g: argparse._ActionsContainer) -> None:
    g.add_argument(
        "--ncnn-runner",
        type=Path,
        default=env_path("NCNN_RUNNER"),
        help="ncnn_run to push for the ncnn variants (--runtimes paddle-lite,ncnn); an ARM emulated phone's default "
        "is $NCNN_RUNTIME_DIR/ncnn_run (default $NCNN_RUNNER)",
    )


def add_measure_args(p: argparse.ArgumentParser, *, rounds: bool = True) -> None:
    """How each model is measured on a device."""
    g = p.add_argument_group("measurement")
    add_runner_arg(g)
    d = BenchSettings()
    if rounds:
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


def add_parity_args(p: argparse.ArgumentParser) -> None:
    """Device parity after the latency rounds."""
    g = p.add_argument_group("device parity after the latency rounds")
    g.add_argument(
        "--images",
        type=Path,
        default=env_path("IMAGES"),
        help="device parity on these images (default $IMAGES, else generated images)",
    )
    g.add_argument("--no-parity", action="store_true", help="skip the device parity check after the latency rounds")
    g.add_argument(
        "--dataset",
        type=Path,
        default=env_path("DATASET"),
        help="labelled set (Images/ + Annotations/): device parity and accuracy (default $DATASET)",
    )


def add_reports_arg(p: argparse._ActionsContainer) -> None:
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, help="run files (default build/reports)")


def add_bench_args(p: argparse.ArgumentParser) -> None:
    """Everything `latency` and `bench-emulated` honour."""
    add_model_args(p)
    add_measure_args(p)
    add_ncnn_runner_arg(p)
    add_parity_args(p)
    add_reports_arg(p)


def add_allow_unknown_version_arg(g: argparse._ActionsContainer) -> None:
    g.add_argument(
        ALLOW_FLAG,
        action="store_true",
        help="run a runner whose Paddle-Lite version cannot be established (recorded in every record); a runner of "
        "another version than the .nb's opt is refused whatever this says",
    )


def model_choice(
    args: argparse.Namespace,
    *,
    names: list[str] | None = None,
    precisions: tuple[str, ...] | None = None,
    run_ncnn: bool = False,
) -> ModelChoice:
    """The checked model choice: a readable zoo and known names, or converted models with every variant asked for;
    an --out that can be written. Nothing is converted here. `run_ncnn`: the command runs ncnn variants when
    --runtimes has ncnn."""
    check_zoo_args(args)
    converted = tuple(csv_list(getattr(args, "converted", "") or ""))
    wanted = tuple(names if names is not None else getattr(args, "models", ()))
    variants = precisions or args.precision
    sources = model_sources(args)
    if converted:
        runtimes = sources.runtimes if run_ncnn else ("paddle-lite",)
        preflight.converted_models(args.out, converted, variants, runtimes)
        zoo = load_zoo(args.zoo)
    else:
        zoo = preflight.zoo_models(args.zoo, wanted)
    return ModelChoice(zoo, sources, wanted, variants, converted, run_ncnn and "ncnn" in sources.runtimes)


def settings_from(args: argparse.Namespace, defaults: BenchDefaults | None = None) -> BenchSettings:
    """The measurement settings: the flags given, else the device's defaults (an ARM emulated phone runs one
    inference in seconds), else BenchSettings' (*)."""
    base = BenchSettings()

    def pick(flag: str, default: int) -> int:
        given = getattr(args, flag, None)
        return int(given) if given is not None else (getattr(defaults, flag) if defaults else default)

    rounds, repeats, warmup = pick("rounds", base.rounds), pick("repeats", base.repeats), pick("warmup", base.warmup)
    at_least(rounds, 1, "--rounds")
    at_least(repeats, 1, "--repeats")
    at_least(warmup, 0, "--warmup")
    greater_than(args.round_timeout, 0, "--round-timeout")
    at_least(args.cooldown, 0, "--cooldown")
    greater_than(args.cv_limit, 0, "--cv-limit")
    at_least(args.thermal_wait, 0, "--thermal-wait")
    greater_than(args.thermal_poll, 0, "--thermal-poll")
    return BenchSettings(
        warmup=warmup,
        repeats=repeats,
        rounds=rounds,
        duration_s=getattr(args, "duration", None),
        pin=args.pin,
        round_timeout_s=args.round_timeout,
        cooldown_s=args.cooldown,
        cv_limit=args.cv_limit,
        keep=args.keep,
        allow_unknown_runner_version=args.allow_unknown_runner_version,
        thermal=ThermalPolicy(args.thermal_margin, args.thermal_wait, args.thermal_poll, args.baseline_temp),
    )


def parity_images(args: argparse.Namespace) -> tuple[ImageSet | None, bool]:
    """The images of device parity after the latency rounds (None: --no-parity) and whether they are labelled;
    a bad folder is refused here, before any work."""
    if args.no_parity:
        return None, False
    images = preflight.image_inputs(dataset=args.dataset, images=args.images)
    for w in images.warnings if images else []:
        log.warning("warning: %s", w)
    return images or generated_image_set(), args.dataset is not None


@dataclass(frozen=True)
class BenchPlan:
    """A latency run, checked: which models, how, the parity images (None: latency only), where run files go."""

    models: ModelChoice
    settings: BenchSettings
    reports: Path
    runner: Path | None
    images: ImageSet | None = None
    accuracy: bool = False
    ncnn_runner: Path | None = None

    def request(self, serial: str | None = None) -> BenchRequest:
        """The workflow's request; preparing the jobs converts what is missing (the work starts here)."""
        return BenchRequest(
            jobs=self.models.prepare(),
            settings=self.settings,
            zoo=self.models.zoo,
            reports=self.reports,
            models_out=self.models.sources.out_root,
            images=self.images,
            accuracy=self.accuracy,
            runner=self.runner,
            serial=serial,
            ncnn_runner=self.ncnn_runner,
        )


def bench_plan(
    args: argparse.Namespace, defaults: BenchDefaults | None = None, *, ncnn_default: Path | None = None
) -> BenchPlan:
    """latency / bench-emulated: every input of the latency path checked; with ncnn in --runtimes, the ncnn runner
    too (`ncnn_default`: an ARM emulated phone's own)."""
    settings = settings_from(args, defaults)
    preflight.runner_file(args.runner)
    ncnn_runner = preflight.ncnn_runner_file(args.ncnn_runner, args.runtimes, default=ncnn_default)
    output_dir(args.reports, "--reports")
    images, accuracy = parity_images(args)
    models = model_choice(args, run_ncnn=True)
    return BenchPlan(models, settings, args.reports, args.runner, images, accuracy, ncnn_runner)


@dataclass(frozen=True)
class LatencyCommand:
    plan: BenchPlan
    server: AdbServer
    serial: str | None


def check_latency(args: argparse.Namespace) -> LatencyCommand:
    plan = bench_plan(args)
    server = preflight.adb_server(args.adb)
    preflight.devices(server, args.serial)
    if plan.runner is None:
        log.info("no --runner: only emulated devices can run (a phone needs benchmark_bin: RUNNER=)")
    return LatencyCommand(plan, server, args.serial)


def run_latency(cmd: LatencyCommand) -> int:
    return print_bench(bench(cmd.server, cmd.plan.request(cmd.serial), on_latency=print_latency_run))


def print_bench(result: BenchResult) -> int:
    """The tables after the workflow; the exit code."""
    if result.checks is not None:
        print_device_checks(result.checks)
    print_recommended(result.recommendations, result.recommendation_problems)
    return result.exit_code


def print_latency_run(run: LatencyResult) -> None:
    print_latency(run.outcomes)
    ok = sum(1 for r in run.records if r.status == "ok")
    print(f"latency: {ok}/{len(run.records)} record(s) ok on {len(run.outcomes)} device(s); run file {run.path}")


def print_recommended(recs: list[Recommendation], problems: list[str]) -> None:
    if recs:
        print_recommendations(recs)
    for problem in problems:
        log.warning("warning: %s", problem)
