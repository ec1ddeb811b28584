"""Parity and accuracy metrics. Everything is compared; problems are collected, never raised one at a time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class OutputComparison:
    name: str
    max_abs_diff: float
    mean_abs_diff: float
    argmax_agreement: float
    iou_vs_reference: float
    problems: tuple[str, ...]
    reference_fg_fraction: float = 0.0  # share of pixels the reference calls person


def comparison_fields(c: OutputComparison) -> dict[str, Any]:
    """The comparison as record fields, the same for host and device parity (non-finite diffs become None)."""
    return {
        "max_abs_diff": c.max_abs_diff if math.isfinite(c.max_abs_diff) else None,
        "mean_abs_diff": c.mean_abs_diff if math.isfinite(c.mean_abs_diff) else None,
        "argmax_agreement": c.argmax_agreement,
        "iou_vs_reference": c.iou_vs_reference,
        "reference_fg_fraction": c.reference_fg_fraction,
    }


def foreground(output: NDArray[Any]) -> NDArray[Any]:
    """Person mask (HxW bool) from a softmax [1, C, H, W] output (class 1 wins) or a label map [1, (1,) H, W]."""
    if np.issubdtype(output.dtype, np.integer):
        return np.asarray(output.reshape(output.shape[-2:]) == 1)
    return np.asarray(np.argmax(output[0], axis=0) == 1)


def iou(a: NDArray[Any], b: NDArray[Any]) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def compare_output(name: str, ref: NDArray[Any], cand: NDArray[Any] | None) -> OutputComparison:
    if cand is None:
        return OutputComparison(name, float("nan"), float("nan"), 0.0, 0.0, (f"output {name} missing from candidate",))
    if ref.shape != cand.shape:
        return OutputComparison(
            name,
            float("nan"),
            float("nan"),
            0.0,
            0.0,
            (f"output {name}: shape {cand.shape} != reference {ref.shape}",),
        )
    problems = []
    bad = int((~np.isfinite(cand.astype(np.float64))).sum())
    if bad:
        problems.append(f"output {name}: {bad} non-finite value(s) (inf/NaN)")
    diff = np.abs(ref.astype(np.float64) - cand.astype(np.float64))
    max_diff = float(np.nanmax(diff)) if bad < diff.size else float("inf")
    if bad:
        max_diff = float("inf")
    ref_fg, cand_fg = foreground(ref), foreground(cand)
    if np.issubdtype(ref.dtype, np.integer):
        agreement = float(np.mean(ref == cand))
    else:
        agreement = float(np.mean(np.argmax(ref[0], axis=0) == np.argmax(cand[0], axis=0)))
    return OutputComparison(
        name, max_diff, float(np.nanmean(diff)), agreement, iou(ref_fg, cand_fg), tuple(problems), float(ref_fg.mean())
    )


MIN_FG_FOR_MASK_IOU = 0.01


class Compared(Protocol):
    """What the task-level figures read of each image's comparison (an OutputComparison or a parity record)."""

    @property
    def argmax_agreement(self) -> float: ...
    @property
    def iou_vs_reference(self) -> float: ...
    @property
    def reference_fg_fraction(self) -> float: ...


def mean_argmax_agreement(compared: Sequence[Compared]) -> float | None:
    """Argmax agreement with the reference over all images (the int8 gate's figure); None without any."""
    return float(np.mean([c.argmax_agreement for c in compared])) if compared else None


def mean_mask_iou(compared: Sequence[Compared]) -> float | None:
    """Mean mask IoU vs the reference over images where the reference finds a person (>= 1 % of the pixels): the
    IoU of a nearly empty mask is noise, a few flipped pixels swing it."""
    values = [c.iou_vs_reference for c in compared if c.reference_fg_fraction >= MIN_FG_FOR_MASK_IOU]
    return float(np.mean(values)) if values else None


@dataclass
class GroundTruthTally:
    """Per-model accumulation of foreground IoU (per image) and class intersections/unions (dataset mIoU)."""

    fg_ious: list[float]
    intersections: NDArray[Any]  # [background, person]
    unions: NDArray[Any]

    @classmethod
    def empty(cls) -> GroundTruthTally:
        return cls([], np.zeros(2), np.zeros(2))

    def add(self, output: NDArray[Any], gt: NDArray[Any]) -> float:
        pred = prediction_at_size(output, gt.shape)
        truth = gt.astype(bool)
        for cls_id, (p, t) in enumerate(((~pred, ~truth), (pred, truth))):
            self.intersections[cls_id] += np.logical_and(p, t).sum()
            self.unions[cls_id] += np.logical_or(p, t).sum()
        value = iou(pred, truth)
        self.fg_ious.append(value)
        return value

    @property
    def mean_fg_iou(self) -> float | None:
        return float(np.mean(self.fg_ious)) if self.fg_ious else None

    @property
    def miou(self) -> float | None:
        if not self.fg_ious:
            return None
        return float(np.mean(self.intersections / np.maximum(self.unions, 1)))


def prediction_at_size(output: NDArray[Any], shape: tuple[int, ...]) -> NDArray[Any]:
    """Person mask at the original image size: softmax person probability resized bilinearly, then > 0.5
    (PaddleSeg's reverse transform); label maps resized nearest."""
    h, w = int(shape[0]), int(shape[1])
    if np.issubdtype(output.dtype, np.integer):
        labels = np.asarray(output).reshape(output.shape[-2:]).astype(np.uint8)
        return np.asarray(cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST) == 1)
    return mask_at_size(output[0, 1], (h, w))


def mask_at_size(prob: NDArray[Any], shape: tuple[int, ...]) -> NDArray[Any]:
    """Person mask at an image size from a person probability map: resized bilinearly, then > 0.5."""
    h, w = int(shape[0]), int(shape[1])
    p = np.ascontiguousarray(prob.astype(np.float32))
    return np.asarray(cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5)
