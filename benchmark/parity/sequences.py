"""Harder labelled sequences than a camera moving over a still photo (benchmark/parity/video.py): each keeps a known
answer per frame.

- **person**: the person moves apart from the background. The photo's background is filled in where the person was
  (OpenCV inpainting), the person (the label as a soft matte) is pasted back moved by its own random walk on top of
  the camera's; the labels follow the person. A global motion model cannot explain both.
- **lighting**: the camera motion plus a light that changes: a slow dimming over the sequence, a one-frame jump in
  brightness and a light gradient across the frame that turns. A method that compares pixel values across frames
  must not take a brightness change for motion, nor motion for a brightness change.
- **sudden**: a still-ish camera that jumps once by a large fraction of the frame (a fast pan), at `event_frame`:
  what a fusion with history does right after it shows as lag.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmark.parity.video import CameraMotion, FrameSequence, camera_affine, noisy_frame, synthetic_sequence

KINDS = ("camera", "person", "lighting", "sudden")


@dataclass(frozen=True)
class PersonMotion:
    step_px: float = 2.5  # the person's own random-walk step per frame, pixels at 512 wide
    drift_px: float = 2.0  # a steady sideways walk per frame, pixels at 512 wide


@dataclass(frozen=True)
class Lighting:
    dim: float = 0.25  # the light falls by this share over the sequence
    jump: float = 0.18  # one frame brighter by this share
    gradient: float = 0.25  # left-to-right light difference, turning over the sequence


@dataclass(frozen=True)
class Sudden:
    jump: float = 0.08  # the jump, as a share of the frame's width (and half of it vertically)


def _compose(outer: NDArray[Any], inner: NDArray[Any]) -> NDArray[Any]:
    return np.asarray((np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]]))[:2])


def person_sequence(
    name: str, image: NDArray[Any], label: NDArray[Any], motion: CameraMotion, person: PersonMotion = PersonMotion()
) -> FrameSequence:
    """The person moves apart from the background (see the module's docstring)."""
    rng = np.random.default_rng(motion.seed)
    h, w = image.shape[:2]
    px = w / 512.0
    hole = cv2.dilate(label.astype(np.uint8), np.ones((9, 9), np.uint8))
    background = cv2.inpaint(image, hole, 5, cv2.INPAINT_TELEA)
    matte = cv2.GaussianBlur(label.astype(np.float32), (3, 3), 0)
    seq = FrameSequence(name, [], [], kind="person moves against the background")
    cx = cy = 0.0
    pdx = pdy = 0.0
    for t in range(motion.frames):
        if t:
            cx += rng.normal(0, motion.shift_px)
            cy += rng.normal(0, motion.shift_px)
            pdx += person.drift_px * px + rng.normal(0, person.step_px * px)
            pdy += rng.normal(0, person.step_px * px / 2)
        cam = camera_affine((w, h), (cx, cy), 0.0, 1.0)
        own = camera_affine((w, h), (pdx, pdy), 0.0, 1.0)
        both = _compose(cam, own)
        bg = cv2.warpAffine(background, cam, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        fg = cv2.warpAffine(image, both, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        a = cv2.warpAffine(matte, both, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0,))[..., None]
        frame = fg.astype(np.float32) * a + bg.astype(np.float32) * (1 - a)
        seq.frames.append(noisy_frame(frame, 1.0, rng, motion.noise))
        seq.labels.append(cv2.warpAffine(label.astype(np.uint8), both, (w, h), flags=cv2.INTER_NEAREST))
        seq.from_first.append(cam)
        seq.person_from_first.append(both)
    return seq


def lighting_sequence(
    name: str, image: NDArray[Any], label: NDArray[Any] | None, motion: CameraMotion, light: Lighting = Lighting()
) -> FrameSequence:
    """Camera motion under a changing light (see the module's docstring)."""
    base = synthetic_sequence(name, image, label, replace(motion, exposure=0.0, noise=0.0))
    rng = np.random.default_rng(motion.seed + 1000)
    h, w = image.shape[:2]
    xs = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :]
    ys = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
    n = max(1, motion.frames - 1)
    jump_at = motion.frames // 2
    frames = []
    for t, frame in enumerate(base.frames):
        angle = np.pi * t / n
        gain = (1.0 - light.dim * t / n) * (1.0 + light.gradient * (np.cos(angle) * xs + np.sin(angle) * ys))
        if t == jump_at:
            gain = gain * (1.0 + light.jump)
        frames.append(noisy_frame(frame, np.asarray(gain, np.float32), rng, motion.noise))
    return FrameSequence(name, frames, base.labels, base.from_first, kind="lighting changes", event_frame=jump_at)


def sudden_sequence(
    name: str, image: NDArray[Any], label: NDArray[Any] | None, motion: CameraMotion, sudden: Sudden = Sudden()
) -> FrameSequence:
    """Small camera motion with one large jump at the middle frame (see the module's docstring)."""
    rng = np.random.default_rng(motion.seed)
    h, w = image.shape[:2]
    at = motion.frames // 2
    sign = 1.0 if rng.random() < 0.5 else -1.0
    seq = FrameSequence(name, [], [], kind="sudden shift", event_frame=at)
    dx = dy = 0.0
    for t in range(motion.frames):
        if t:
            dx += rng.normal(0, motion.shift_px)
            dy += rng.normal(0, motion.shift_px)
        if t == at:
            dx += sign * sudden.jump * w
            dy += sudden.jump * w / 2
        m = camera_affine((w, h), (dx, dy), 0.0, 1.0)
        frame = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        seq.frames.append(noisy_frame(frame, 1.0 + (rng.normal(0, motion.exposure) if t else 0.0), rng, motion.noise))
        seq.labels.append(
            None
            if label is None
            else cv2.warpAffine(label.astype(np.uint8), m, (w, h), flags=cv2.INTER_NEAREST,
                                borderMode=cv2.BORDER_REFLECT101)
        )  # fmt: skip
        seq.from_first.append(m)
    return seq


def make_sequence(
    kind: str, name: str, image: NDArray[Any], label: NDArray[Any], motion: CameraMotion
) -> FrameSequence:
    if kind == "camera":
        return synthetic_sequence(name, image, label, motion)
    if kind == "person":
        return person_sequence(name, image, label, motion)
    if kind == "lighting":
        return lighting_sequence(name, image, label, motion)
    if kind == "sudden":
        return sudden_sequence(name, image, label, motion)
    raise ValueError(f"sequence kind {kind!r}: one of {', '.join(KINDS)}")
