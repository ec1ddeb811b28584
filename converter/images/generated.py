"""Deterministic natural-looking images (no files needed): parity without --images, stand-in calibration, and the
graph-fix validation use them."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray


def generated_images() -> list[tuple[str, NDArray[Any]]]:
    """Four 640x480 BGR images: a person-like silhouette, a gradient, smooth noise, a checkerboard."""
    h, w = 480, 640
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grad = np.stack([xx / w * 255, yy / h * 255, (1 - xx / w) * 200 + 30], axis=-1).astype(np.uint8)
    person = grad.copy()
    cv2.ellipse(person, (w // 2, 150), (55, 70), 0, 0, 360, (120, 150, 200), -1)
    cv2.rectangle(person, (w // 2 - 110, 220), (w // 2 + 110, h), (60, 60, 140), -1)
    rng = np.random.default_rng(20240521)
    blurred = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 6).astype(np.float32)
    noise = ((blurred - blurred.min()) / (blurred.max() - blurred.min()) * 255).astype(np.uint8)
    checker = (((xx // 40 + yy // 40) % 2) * 200 + 25).astype(np.uint8)
    checker_bgr = np.repeat(checker[:, :, None], 3, axis=2)
    return [("person_silhouette", person), ("gradient", grad), ("smooth_noise", noise), ("checkerboard", checker_bgr)]


def calibration_images(count: int = 12, seed: int = 7) -> list[NDArray[Any]]:
    """The generated set plus textured composites (sharp-edged shapes over multi-scale noise), so statistics
    estimated on them cover the edges and textures of photos, not only smooth gradients."""
    rng = np.random.default_rng(seed)
    h, w = 480, 640
    out = [img for _, img in generated_images()]
    for i in range(count):
        sigma = (0.0, 1.0, 3.0, 8.0)[i % 4]
        base = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        img = cv2.GaussianBlur(base, (0, 0), sigma) if sigma else base
        img = (img.astype(np.float32) * rng.uniform(0.3, 1.0) + rng.uniform(0, 120)).clip(0, 255).astype(np.uint8)
        for _ in range(int(rng.integers(3, 9))):
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            if rng.random() < 0.5:
                cv2.rectangle(
                    img, (x0, y0), (x0 + int(rng.integers(20, 250)), y0 + int(rng.integers(20, 250))), color, -1
                )
            else:
                cv2.ellipse(
                    img, (x0, y0), (int(rng.integers(10, 150)), int(rng.integers(10, 150))), 0, 0, 360, color, -1
                )
        out.append(img)
    return out
