"""Recognising the same photo after it was re-encoded or resized: a perceptual hash of the decoded image (the
64-bit DCT hash: grey, 32x32, the lowest 8x8 frequencies against their median) and the Hamming distance between
two hashes. The file's bytes change with every re-encoding; the picture's coarse structure does not."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

MATCH_BITS = 8  # at most this many of 64 bits differ: the same picture (re-encoded/resized copies differ by 0-4)


def perceptual_hash(bgr: NDArray[Any]) -> str:
    """16 hex digits of a BGR (or grey) uint8 image's DCT hash."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].reshape(-1)
    bits = low[1:] > np.median(low[1:])  # the DC term says only how bright the picture is
    value = 0
    for b in bits:
        value = (value << 1) | int(b)
    return format(value, "016x")


def distance_bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def same_picture(a: str, b: str) -> bool:
    return distance_bits(a, b) <= MATCH_BITS
