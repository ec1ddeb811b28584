"""Image decoding and model preprocessing (OpenCV), shared by the reference runner, parity and the demo goldens.

PaddleSeg's pipeline: decode BGR, resize to W x H (bilinear), BGR -> RGB, x/255, (x - mean) / std, HWC -> NCHW.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from converter.base.errors import ToolkitError
from converter.schema.manifest_types import InputPreprocess


class ImageError(ToolkitError):
    """A file that should be an image cannot be decoded (`path`)."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


def to_bgr8(img: NDArray[Any]) -> NDArray[Any]:
    """Any decoded image (gray, gray+alpha, BGR, BGRA, 8 or 16 bit) -> HxWx3 uint8 BGR. Alpha is dropped."""
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    channels = img.shape[2]
    if channels == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    if channels == 2:  # gray + alpha
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(img[:, :, :3])


def decode(path: Path, flags: int = cv2.IMREAD_UNCHANGED) -> NDArray[Any]:
    """Decode an image file (any path, including non-ASCII names) or raise ImageError."""
    try:
        raw = np.fromfile(str(path), dtype=np.uint8)
    except OSError as e:
        raise ImageError(f"{path}: cannot be read: {e}", path=path) from e
    img = cv2.imdecode(raw, flags) if raw.size else None
    if img is None or img.size == 0:
        raise ImageError(f"{path}: not an image OpenCV can decode", path=path)
    return img


def load_image(path: Path) -> NDArray[Any]:
    return to_bgr8(decode(path))


def preprocess(img_bgr: NDArray[Any], pre: InputPreprocess) -> NDArray[Any]:
    """BGR uint8 image -> float32 NCHW tensor [1, 3, H, W] as described by a manifest's `preprocess`."""
    resized = cv2.resize(img_bgr, (pre.width, pre.height), interpolation=cv2.INTER_LINEAR)
    if pre.channel_order == "rgb":
        resized = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    x = resized.astype(np.float32) * np.float32(pre.scale)
    mean = np.asarray(pre.mean, dtype=np.float32).reshape(1, 1, 3)
    std = np.asarray(pre.std, dtype=np.float32).reshape(1, 1, 3)
    x = (x - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis])
