"""Judging parity results against a precision's gates (converter.schema.zoo.Tolerance), the same way on the host and on
devices: per image, then at task level over the image set."""

from __future__ import annotations

from converter.images.compare import OutputComparison
from converter.schema.zoo import Tolerance


def image_problems(c: OutputComparison, tol: Tolerance, print_bound: float = 0.0) -> list[str]:
    problems = list(c.problems)
    if tol.max_abs_diff is not None and not c.max_abs_diff <= tol.max_abs_diff + print_bound:
        bound = f" + print bound {print_bound:.2g}" if print_bound else ""
        problems.append(f"max abs diff {c.max_abs_diff:.3g} > tolerance {tol.max_abs_diff:.3g}{bound}")
    if c.argmax_agreement < tol.min_argmax_agreement:
        problems.append(f"argmax agreement {c.argmax_agreement:.5f} < {tol.min_argmax_agreement}")
    return problems


def task_problems(
    tol: Tolerance,
    *,
    mean_mask_iou: float | None,
    miou: float | None,
    fp32_desktop_miou: float | None,
    mean_argmax_agreement: float | None = None,
) -> list[str]:
    """Task-level gates: argmax agreement over all images, mean mask IoU vs the fp32 reference masks, mIoU drop vs
    fp32 desktop (labelled images)."""
    problems = []
    if (
        tol.min_mean_argmax_agreement is not None
        and mean_argmax_agreement is not None
        and mean_argmax_agreement < tol.min_mean_argmax_agreement
    ):
        problems.append(
            f"argmax agreement over all images {mean_argmax_agreement:.4f} < {tol.min_mean_argmax_agreement}"
        )
    if tol.min_mask_iou is not None and mean_mask_iou is not None and mean_mask_iou < tol.min_mask_iou:
        problems.append(f"mean mask IoU vs fp32 {mean_mask_iou:.4f} < {tol.min_mask_iou}")
    if tol.max_miou_drop_points is not None and miou is not None and fp32_desktop_miou is not None:
        drop = 100 * (fp32_desktop_miou - miou)
        if drop > tol.max_miou_drop_points:
            problems.append(f"mIoU drop {drop:.2f} points vs fp32 desktop > {tol.max_miou_drop_points}")
    return problems
