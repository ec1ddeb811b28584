"""Parity overlays: the input with the desktop mask, the device mask, and their difference."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from converter.images.preprocess import ImageError, decode


def _tint(img: np.ndarray, mask: np.ndarray, bgr: tuple[int, int, int]) -> np.ndarray:  # type: ignore[type-arg]
    out = img.copy()
    color = np.zeros_like(img)
    color[:] = bgr
    sel = mask > 0
    out[sel] = (0.45 * img[sel] + 0.55 * color[sel]).astype(np.uint8)
    return out


def overlay_strip(artifacts: dict[str, str], first: str = "desktop", second: str = "device") -> bytes | None:
    """One PNG: input | the `first` mask (green) | the `second` mask (blue) | difference (red = pixels that differ).
    Parity compares the desktop and device masks; video-check a frame's mask with the previous one, moved."""
    paths = {k: Path(v) for k, v in artifacts.items()}
    if not all(p.is_file() for p in paths.values()):
        return None
    try:
        img = decode(paths["input"], cv2.IMREAD_COLOR)
        desk = decode(paths[first], cv2.IMREAD_GRAYSCALE)
        dev = decode(paths[second], cv2.IMREAD_GRAYSCALE)
    except (ImageError, KeyError):
        return None
    diff = (desk > 0) != (dev > 0)
    gray = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    tiles = [img, _tint(img, desk, (60, 200, 60)), _tint(img, dev, (220, 120, 40)), _tint(gray, diff, (0, 0, 255))]
    sep = np.full((img.shape[0], 4, 3), 255, np.uint8)
    strip = np.hstack([t for tile in tiles for t in (tile, sep)][:-1])
    ok, png = cv2.imencode(".png", strip)
    return png.tobytes() if ok else None
