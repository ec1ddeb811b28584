"""`int8-study`: which full-int8 quantization keeps each model's accuracy (benchmark.parity.int8_study)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from benchmark.images import ImageSet
from benchmark.parity.int8_study import ALGOS, Int8Study, StudyPlan, study_int8
from benchmark.records.run_files import DEFAULT_REPORTS
from benchmark.workflow import preflight
from converter.base.errors import ExitCode, ToolkitError, UsageError
from converter.base.needs import at_least, existing_dir, output_dir
from converter.cli.args import add_zoo_args, check_zoo_args, csv_list, env_path, model_sources
from converter.quant.calibration import default_calibration_dir
from converter.schema.zoo import load_zoo

log = logging.getLogger("benchmark")


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in csv_list(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected numbers >= 1, got {text!r}")
    return values


def _choices(allowed: tuple[str, ...]) -> argparse._ActionType:
    def parse(text: str) -> tuple[str, ...]:
        values = tuple(csv_list(text))
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise argparse.ArgumentTypeError(f"{text!r}: use a subset of {', '.join(allowed)}")
        return values

    return parse


def add_int8_study_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "int8-study",
        help="which full-int8 quantization keeps accuracy: calibration options and a sensitivity pass, on desktop",
    )
    add_zoo_args(p)
    p.add_argument(
        "--dataset",
        type=Path,
        default=env_path("DATASET"),
        help="labelled images (Images/ + Annotations/) to judge on (default $DATASET); calibration images are left out",
    )
    p.add_argument("--algos", type=_choices(ALGOS), default=ALGOS, help="first is the baseline (hist,mse,KL,avg)")
    p.add_argument("--weight-scales", type=_choices(("channel", "tensor")), default=("channel", "tensor"))
    p.add_argument("--samples-per-image", type=_ints, default=(8, 32), help="calibration samples per photo (8,32)")
    p.add_argument(
        "--calib-alt", type=Path, action="append", default=[], help="another calibration folder to try (repeatable)"
    )
    p.add_argument("--groups", type=int, default=8, help="sensitivity pass: conv groups left in fp32 one at a time")
    p.add_argument("--no-combine", action="store_true", help="skip combining the options that helped")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)


def _print(study: Int8Study) -> None:
    print(
        f"{study.model}: fp32 desktop mIoU {100 * (study.fp32_miou or 0):.2f} on {len(study.images)} held-out "
        f"labelled image(s)" + (f" ({len(study.left_out)} calibration image(s) left out)" if study.left_out else "")
    )
    print(f"{'option':<42} {'algo':<5} {'weights':<8} {'samples':>7} {'fp32 convs':>10} {'mIoU':>7} {'vs fp32':>7} "
          f"{'argmax':>8} {'min':>8}  gate")  # fmt: skip
    for r in study.rows:
        if r.status != "ok":
            print(f"{r.option:<42} failed: {r.error}")
            continue
        print(
            f"{r.option:<42} {r.algo:<5} {r.weights:<8} {r.samples or 0:>7} {len(r.skip):>10} "
            f"{100 * (r.miou or 0):>7.2f} {-(r.miou_drop_points or 0):>+7.2f} "
            f"{100 * (r.mean_argmax_agreement or 0):>7.2f}% {100 * (r.min_argmax_agreement or 0):>7.2f}%  "
            + ("PASS" if r.passed else "fail: " + "; ".join(r.problems)[:160])
        )
    chosen = study.chosen
    if chosen is None:
        print(f"{study.model}: no option passes the int8 gate: int8 is not recommended for it (figures above)")
    elif chosen is study.rows[0]:
        print(f"{study.model}: the defaults pass the int8 gate: no recipe needed")
    else:
        print(f"{study.model}: chosen: {chosen.option}; as the zoo entry's recipe:\n{study.recipe_yaml()}")
    print(f"run file {study.path}")


def check_int8_study(args: argparse.Namespace) -> tuple[argparse.Namespace, ImageSet]:
    """The labelled set (loaded once, here), the models, the calibration folders, the numbers."""
    if args.dataset is None:
        raise UsageError("int8-study needs labelled images: --dataset DIR (or DATASET=DIR), e.g. a PaddleSeg subset")
    at_least(args.groups, 0, "--groups")
    check_zoo_args(args)
    preflight.zoo_models(args.zoo, args.models)
    dataset = preflight.image_inputs(dataset=args.dataset)
    assert dataset is not None
    for folder in args.calib_alt:  # --calib itself: check_zoo_args
        existing_dir(folder, "--calib-alt", fix="give a folder of calibration photos")
    output_dir(args.reports, "--reports")
    return args, dataset


def run_int8_study(checked: tuple[argparse.Namespace, ImageSet]) -> int:
    args, dataset = checked
    zoo = load_zoo(args.zoo)
    names = zoo.select(args.models)
    sources = model_sources(args)
    plan = StudyPlan(
        algos=args.algos,
        weights=args.weight_scales,
        per_image=args.samples_per_image,
        calib_dirs=(args.calib or default_calibration_dir(), *args.calib_alt),  # the first is the baseline's
        groups=args.groups,
        combine=not args.no_combine,
    )
    failed = []
    for name in names:
        try:
            _print(study_int8(zoo, name, dataset, sources=sources, plan=plan, reports=args.reports))
        except ToolkitError as e:
            log.error("error: %s: %s", name, e)
            failed.append(name)
    done = f"int8-study: {len(names) - len(failed)}/{len(names)} model(s) studied"
    print(done + (f"; failed: {', '.join(failed)}" if failed else ""))
    return ExitCode.FAILED if failed else ExitCode.OK
