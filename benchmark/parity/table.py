"""Readable stdout tables for parity runs."""

from __future__ import annotations

from typing import Any

from benchmark.parity.host import ModelParity


def _f(x: float | None, fmt: str) -> str:
    if x is None:
        width = "".join(ch for ch in fmt.split(".", maxsplit=1)[0] if ch.isdigit())
        return "-".rjust(int(width or 1))
    return format(x, fmt)


def print_records(records: list[dict[str, Any]]) -> None:
    if not records:
        return
    w_model = max(len(r["model"]) for r in records)
    w_img = min(max(len(r["image"]) for r in records), 60)
    print(
        f"{'model':<{w_model}}  {'image':<{w_img}}  {'max|diff|':>9}  {'mean|diff|':>10}  {'argmax':>7}  "
        f"{'IoU ref':>7}  {'GT IoU PI':>9}  {'GT IoU Lite':>11}  ok"
    )
    for r in records:
        image = r["image"] if len(r["image"]) <= w_img else "..." + r["image"][-(w_img - 3) :]
        print(
            f"{r['model']:<{w_model}}  {image:<{w_img}}  {_f(r['max_abs_diff'], '9.2e')}  "
            f"{_f(r['mean_abs_diff'], '10.2e')}  {r['argmax_agreement']:7.2%}  {r['iou_vs_reference']:7.4f}  "
            f"{_f(r.get('gt_iou_reference'), '9.3f')}  {_f(r.get('gt_iou_candidate'), '11.3f')}  "
            f"{'yes' if r['passed'] else 'NO'}"
        )


def print_summary(results: list[ModelParity]) -> None:
    w = max([len(r.model) for r in results] + [5])
    print()
    print(
        f"{'model':<{w}}  {'prec':<5}  {'result':<8}  {'images':>6}  {'max|diff|':>9}  {'tolerance':>9}  "
        f"{'min argmax':>10}  {'mask IoU':>8}  {'fg IoU PI':>9}  {'fg IoU Lite':>11}  {'mIoU PI':>7}  {'mIoU Lite':>9}"
    )
    for r in results:
        ref, cand = r.gt.get("reference", {}), r.gt.get("candidate", {})
        tol = r.tolerance.max_abs_diff if r.tolerance else None
        print(
            f"{r.model:<{w}}  {r.precision:<5}  {r.status.upper():<8}  {r.comparisons:>6}  "
            f"{_f(r.max_abs_diff, '9.2e')}  {_f(tol, '9.1e')}  {_f(r.min_argmax_agreement, '10.2%')}  "
            f"{_f(r.mean_mask_iou, '8.4f')}  "
            f"{_f(ref.get('mean_fg_iou'), '9.3f')}  {_f(cand.get('mean_fg_iou'), '11.3f')}  "
            f"{_f(ref.get('miou'), '7.3f')}  {_f(cand.get('miou'), '9.3f')}"
        )
    for r in results:
        if r.error:
            first = r.error.splitlines()[0]
            label = f"{r.model} {r.precision}"
            print(f"{label}: {first.removeprefix(f'{r.model}: ')}")
        for f in r.failures[:10]:
            print(f"{r.model} {r.precision}: FAIL {f}")
        if len(r.failures) > 10:
            print(f"{r.model}: ... {len(r.failures) - 10} more failure(s) in the run file")
