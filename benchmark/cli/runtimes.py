"""`runtimes` (make compare-runtimes): Paddle-Lite and ncnn side by side on one emulated ARM core, per model and
precision: ARM instructions per inference and the first inference of a fresh process against desktop Paddle
Inference fp32, judged with the zoo's tolerances; a typed run file (benchmark.parity.runtimes)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from benchmark.cli.bench import add_model_args, add_reports_arg, model_choice
from benchmark.cli.emulated import add_phone_arg
from benchmark.emulated import ncnn_runtime
from benchmark.emulated.phone import PhoneSpec
from benchmark.images import generated_image_set
from benchmark.latency.jobs import ModelChoice
from benchmark.parity.runtimes import compare_runtimes
from benchmark.records.rows import RuntimeRecord
from benchmark.records.run_files import RunFile, new_run_path
from benchmark.records.runs import RuntimesRun
from benchmark.workflow import preflight
from converter.base.errors import ExitCode, ToolkitError, UsageError
from converter.base.needs import at_least, output_dir

log = logging.getLogger("benchmark")


def add_runtimes_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("runtimes", help="Paddle-Lite and ncnn side by side on one emulated ARM core (QEMU)")
    add_model_args(p, "precisions to compare (fp32, fp16)")
    add_phone_arg(p, "sd855-arm", env=False)
    p.add_argument("--images", type=Path, help="photos for the first-inference parity (default: generated images)")
    p.add_argument(
        "--dataset",
        type=Path,
        help="a labelled set (Images/ + Annotations/) instead: also mIoU, against desktop fp32's",
    )
    p.add_argument("--max-images", type=int, default=4, help="at most this many photos (4)")
    add_reports_arg(p)


@dataclass(frozen=True)
class RuntimesCommand:
    models: ModelChoice
    phone: PhoneSpec
    images: list[NDArray[Any]]
    masks: list[NDArray[Any] | None]
    precisions: tuple[str, ...]
    reports: Path


def check_runtimes(args: argparse.Namespace) -> RuntimesCommand:
    """The ARM phone and its tools, ncnn's runtime and its version, the photos, the models: before any conversion."""
    phone = preflight.arm_phone(args.phone)
    assert phone.qemu is not None  # arm_phone refuses the x86 one
    try:
        ncnn_runtime.runtime_version(phone.qemu.cpu)
    except ToolkitError as e:
        raise UsageError(str(e)) from None
    at_least(args.max_images, 1, "--max-images")
    precisions = tuple(args.precision or ("fp32", "fp16"))
    bad = [p for p in precisions if p not in ("fp32", "fp16")]
    if bad:
        raise UsageError(f"--precision {','.join(bad)}: runtimes compares fp32 and fp16 (ncnn has no int8 path here)")
    found = preflight.image_inputs(dataset=args.dataset, images=args.images) or generated_image_set()
    output_dir(args.reports, "--reports")
    models = model_choice(args, precisions=precisions)
    sources = dataclasses.replace(models.sources, runtimes=("paddle-lite", "ncnn"))
    items = found.items[: args.max_images]
    bgr, masks = [item.bgr for item in items], [item.mask for item in items]
    return RuntimesCommand(dataclasses.replace(models, sources=sources), phone, bgr, masks, precisions, args.reports)


def _print(records: list[RuntimeRecord]) -> None:
    print(f"{'model':<40} {'runtime':<12} {'variant':<7} {'M instr.':>9} {'vs PL same':>10} {'vs PL fp32':>10} "
          f"{'max|diff|':>10} {'argmax':>8} {'mIoU':>7} {'desktop':>7}  verdict")  # fmt: skip
    for r in records:
        pl = {x.precision: x.insns_per_inference for x in records if x.model == r.model and x.runtime == "paddle-lite"}
        same, fp32 = pl.get(r.precision), pl.get("fp32")
        insns = r.insns_per_inference
        m = f"{insns / 1e6:9.2f}" if insns else "        -"
        v1 = f"{insns / same:9.2f}x" if insns and same else "         -"
        v2 = f"{insns / fp32:9.2f}x" if insns and fp32 else "         -"
        diff = f"{r.max_abs_diff:10.3g}" if r.max_abs_diff is not None else "         -"
        agree = f"{r.argmax_agreement:8.3%}" if r.argmax_agreement is not None else "       -"
        verdict = r.status.upper() + (f": {r.reason}" if r.reason else "") if r.status != "ok" else (
            "pass" if r.passed else f"FAIL: {r.gate_failure}")  # fmt: skip
        miou = f"{100 * r.miou:7.2f}" if r.miou is not None else "      -"
        desk = f"{100 * r.desktop_miou:7.2f}" if r.desktop_miou is not None else "      -"
        print(f"{r.model:<40} {r.runtime:<12} {r.precision:<7} {m} {v1} {v2} {diff} {agree} {miou} {desk}  {verdict}")


def run_runtimes(cmd: RuntimesCommand) -> int:
    prepared = cmd.models.prepare()
    if not prepared.jobs:
        raise UsageError(f"no model could be prepared; nothing to compare ({'; '.join(prepared.errors)})")
    zoo = cmd.models.zoo
    tolerance = {p: zoo.tolerance(None, p).max_abs_diff or 0.0 for p in cmd.precisions}
    run = RunFile(new_run_path("runtimes", cmd.reports), RuntimesRun(tolerance=tolerance))
    for model_dir in sorted({j.model_dir for j in prepared.jobs}):
        log.info("%s: Paddle-Lite and ncnn on %s (%s), %d image(s)", model_dir.name, cmd.phone.name,
                 cmd.phone.qemu.cpu if cmd.phone.qemu else "", len(cmd.images))  # fmt: skip
        entry = next((m for m in zoo.models if m.name == model_dir.name), None)  # None: a user's own model
        tolerances = {p: zoo.tolerance(entry, p) for p in cmd.precisions}
        found = compare_runtimes(
            model_dir, cmd.phone, cmd.images, tolerances, precisions=cmd.precisions, masks=cmd.masks
        )
        for rec in found:
            run.add(rec)
    _print(run.records)
    failed = [r for r in run.records if r.status == "failed" or r.passed is False]
    judged = [r for r in run.records if r.status == "ok"]
    print(f"runtimes: {len(judged) - len(failed)}/{len(judged)} runtime x variant(s) pass; run file {run.path}")
    if not judged:
        raise UsageError("runtimes: nothing was measured (no variant of a converted model ran)")
    return ExitCode.FAILED if failed or prepared.errors else ExitCode.OK
