"""`layer-diff`: which layer of a variant departs from desktop fp32, cut by cut on the real ARM runtime (QEMU)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from benchmark.parity.layer_diff import PRECISIONS, layer_diff
from benchmark.records.run_files import DEFAULT_REPORTS, new_run_path, write_run
from benchmark.workflow import preflight
from converter.artifacts import manifest
from converter.base.errors import ExitCode, UsageError
from converter.base.needs import at_least, existing_file, greater_than, output_dir
from converter.images.generated import generated_images
from converter.images.preprocess import ImageError, load_image, preprocess
from converter.schema.manifest_types import Manifest


def add_layer_diff_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("layer-diff", help="which layer of a variant departs from fp32 (ARM runtime under QEMU)")
    p.add_argument("--model", required=True, help="a converted model (its folder under --out)")
    p.add_argument("--precision", default="fp16", choices=PRECISIONS)
    p.add_argument("--out", type=Path, default=Path("build/models"), help="conversion outputs (default build/models)")
    p.add_argument("--image", type=Path, help="the input photo (default: the first generated image)")
    p.add_argument("--tolerance", type=float, default=0.05, help="max |diff| / max |fp32| that departs (0.05)")
    p.add_argument("--limit", type=int, help="only the first N cuts")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    p.add_argument("-v", "--verbose", action="store_true")


@dataclass(frozen=True)
class LayerDiffCommand:
    args: argparse.Namespace
    data: Manifest
    bgr: NDArray[Any]  # the input photo


def check_layer_diff(args: argparse.Namespace) -> LayerDiffCommand:
    """The converted model with its fp32 and the variant's arm .nb, the photo, the numbers, the ARM runtime's
    lite_run and QEMU: all before the first cut runs."""
    preflight.lite_run(args.precision)
    preflight.lite_run("fp32")
    model_dir = args.out / args.model
    data = manifest.read(model_dir)
    if data is None:
        raise UsageError(f"{model_dir}: no converted model {args.model!r} here; convert it first (make convert)")
    greater_than(args.tolerance, 0, "--tolerance")
    at_least(args.limit, 1, "--limit")
    bgr = generated_images()[0][1]
    if args.image is not None:
        existing_file(args.image, "--image", fix="give a jpg/png photo")
        try:
            bgr = load_image(args.image)
        except ImageError as e:
            raise UsageError(f"--image {args.image}: {e}") from None
    nb = model_dir / manifest.nb_name("arm", args.precision)
    if not nb.is_file():
        raise UsageError(f"{nb} does not exist: convert {args.model} with PRECISIONS=fp32,{args.precision} first")
    output_dir(args.reports, "--reports")
    return LayerDiffCommand(args, data, bgr)


def run_layer_diff(cmd: LayerDiffCommand) -> int:
    args, data, bgr = cmd.args, cmd.data, cmd.bgr
    model_dir = args.out / args.model
    x = preprocess(bgr, data.preprocess)
    work = args.reports / f".layer-diff-{args.model}-{args.precision}"
    result = layer_diff(model_dir, args.precision, x, tolerance=args.tolerance, work=work, limit=args.limit)
    path = new_run_path("layer-diff", args.reports)
    write_run(path, result.run())
    print(f"{'#':>4}  {'op':<24} {'tensor':<44} {'cosine':>9} {'max|diff|':>10} {'rel':>9}")
    for r in result.rows:
        if r.departs is None:
            print(f"{r.index:>4}  {r.op_type:<24} {r.tensor[:44]:<44} not matched: {r.not_matched}")
            continue
        mark = "  << departs" if r.departs and r is result.first_departure else ""
        mark += f"  << {r.non_finite} non-finite value(s): FAILS" if r.non_finite else ""
        cos = "-" if r.cosine is None else f"{r.cosine:.6f}"
        diff = "non-finite" if r.max_abs_diff is None else f"{r.max_abs_diff:.3g}"
        int8 = "" if r.int8_kernels is None else f"  int8 kernels {r.int8_kernels}"
        print(
            f"{r.index:>4}  {r.op_type:<24} {r.tensor[:44]:<44} {cos:>9} {diff:>10} {r.relative_diff:>9.3g}{int8}{mark}"
        )
    first, worst = result.first_departure, result.worst
    if worst is not None:
        print(f"worst: op #{worst.index} {worst.op_type} ({worst.tensor}), {worst.relative_diff:.3g} of its magnitude")
    print(
        f"layer-diff {args.model} {args.precision}: "
        + (f"first departs at op #{first.index} {first.op_type} ({first.tensor})" if first else "no op departs")
        + f" beyond {args.tolerance:g} of the tensor's magnitude; run file {path}"
    )
    if all(r.departs is None for r in result.rows):  # no verdict without work
        reasons = sorted({r.not_matched or "" for r in result.rows})
        print(
            f"error: layer-diff {args.model} {args.precision}: no cut could be compared ({'; '.join(reasons)[:300]}); "
            "no verdict",
            file=sys.stderr,
        )
        return ExitCode.FAILED
    bad = result.non_finite
    if bad:
        print(
            f"layer-diff {args.model} {args.precision}: FAILS: {len(bad)} op(s) compute inf/NaN where desktop fp32 is "
            f"finite, first op #{bad[0].index} {bad[0].op_type} ({bad[0].tensor})"
        )
        return ExitCode.FAILED
    return ExitCode.OK
