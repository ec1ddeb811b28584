"""Temporal stability of a segmentation on frame sequences: how much the predicted mask changes from one frame to the
next beyond what the scene's motion explains.

Sequences with a known answer are made from a labelled photo by small camera motions (sub-pixel shifts, a little zoom
and rotation), with a per-frame exposure change and sensor noise. The camera motion between two frames is known, so
the expected mask of a frame is the previous mask carried along that motion (motion compensation); the labels move
the same way, so every frame keeps a ground truth.

Per sequence:
- flicker: the fraction of boundary pixels (a band around the motion-compensated previous mask's edge) whose label
  differs from that compensated mask: 0 for a model that follows the motion exactly;
- temporal IoU: the IoU of each mask with the compensated previous one, averaged over frame pairs;
- mIoU against the moved labels, averaged over frames (foreground and background IoU)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from converter.images.compare import iou

BAND_PX = 3  # half-width of the boundary band flicker is measured in, at mask resolution


@dataclass(frozen=True)
class CameraMotion:
    """How a synthetic sequence moves: per frame, a random-walk step (pixels, degrees, relative zoom), and the
    exposure and noise of each frame."""

    frames: int = 8
    shift_px: float = 0.6
    rotate_deg: float = 0.3
    zoom: float = 0.004
    exposure: float = 0.03  # relative gain change per frame (std)
    noise: float = 2.0  # sensor noise std, in 8-bit levels
    seed: int = 0


@dataclass
class FrameSequence:
    """Frames (BGR uint8), their labels (0/1, None when unknown) and each frame's affine map from frame 0."""

    name: str
    frames: list[NDArray[Any]]
    labels: list[NDArray[Any] | None]
    from_first: list[NDArray[Any]] = field(default_factory=list)  # 2x3 affine, frame 0 -> frame t
    person_from_first: list[NDArray[Any]] = field(default_factory=list)  # the person's own, when it moves apart
    flows: list[NDArray[Any]] = field(default_factory=list)  # a clip's estimated motion: per t >= 1, t -> t-1
    kind: str = "camera motion"
    event_frame: int | None = None  # a sudden shift or change at this frame, when the sequence has one

    def step(self, t: int) -> NDArray[Any] | None:
        """The 2x3 affine from frame t-1 to frame t, when known."""
        if not self.from_first or t < 1:
            return None
        return _between(self.from_first, t)

    def carry(self, mask: NDArray[Any], t: int) -> tuple[NDArray[Any], NDArray[Any]]:
        """Frame t-1's mask carried to frame t, and where that is defined. When the person moves apart from the
        background, mask pixels near frame t-1's true person follow the person, the rest follow the camera; the
        background the person uncovers was not visible before, so it is not defined."""
        if self.flows and t >= 1:
            return _follow(mask, self.flows[t - 1])
        if not self.person_from_first or t < 1 or self.labels[t - 1] is None:
            return compensate(mask, self.step(t))
        person = self.labels[t - 1]
        assert person is not None
        near = cv2.dilate(person.astype(np.uint8), np.ones((2 * BAND_PX + 3,) * 2, np.uint8)).astype(bool)
        pstep = _between(self.person_from_first, t)
        m = mask.astype(bool)
        fg, fg_valid = compensate(m & near, pstep)
        bg, bg_valid = compensate(m & ~near, self.step(t))
        cover, _ = compensate(near, pstep)
        left, _ = compensate(near, self.step(t))
        moved = np.where(cover, fg, bg)
        valid = np.where(cover, fg_valid, bg_valid & ~left)
        return moved, valid


def estimate_flows(frames: Sequence[NDArray[Any]]) -> list[NDArray[Any]]:
    """A clip's motion, estimated: for each frame t >= 1, where each of its pixels was in frame t-1 (OpenCV's DIS
    optical flow, medium preset, at the clip's own resolution). An estimate, not the truth: it lets flicker on a clip
    count what changed beyond the motion, as on the labelled sequences."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]
    grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    return [np.asarray(dis.calc(grey[t], grey[t - 1], None), np.float32) for t in range(1, len(grey))]


def as_clip(seq: FrameSequence, height_px: int) -> FrameSequence:
    """A labelled sequence measured as a clip of that height would be: frames area-resized, labels resized by nearest
    pixel, and the motion estimated from the frames (estimate_flows) instead of known. What its labels then score
    (labels_flicker) is the floor of a clip's metric at that size: a perfect mask flickers that much."""
    h, w = seq.frames[0].shape[:2]
    size = (max(1, round(w * height_px / h)), height_px)
    frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in seq.frames]
    labels = [
        None if lab is None else cv2.resize(lab.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        for lab in seq.labels
    ]
    return FrameSequence(
        f"{seq.name} at {height_px} px", frames, labels, flows=estimate_flows(frames), kind=seq.kind,
        event_frame=seq.event_frame,
    )  # fmt: skip


def _follow(mask: NDArray[Any], flow: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    h, w = mask.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = xs + flow[..., 0], ys + flow[..., 1]
    moved = cv2.remap(mask.astype(np.uint8), mx, my, cv2.INTER_NEAREST, borderValue=(0,))
    valid = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    return moved.astype(bool), valid


def _between(from_first: list[NDArray[Any]], t: int) -> NDArray[Any]:
    prev = np.vstack([from_first[t - 1], [0, 0, 1]])
    cur = np.vstack([from_first[t], [0, 0, 1]])
    return np.asarray((cur @ np.linalg.inv(prev))[:2])


def camera_affine(size: tuple[int, int], shift: tuple[float, float], deg: float, scale: float) -> NDArray[Any]:
    """The 2x3 affine of a camera that turns by deg and zooms by scale about the frame's centre, then shifts."""
    w, h = size
    m = np.array(cv2.getRotationMatrix2D((w / 2.0, h / 2.0), deg, scale), np.float64)
    m[:, 2] += np.array(shift, np.float64)
    return m


def noisy_frame(frame: NDArray[Any], gain: NDArray[Any] | float, rng: np.random.Generator, noise: float) -> NDArray[
    Any
]:  # fmt: skip
    """A frame under an exposure gain (one number, or one per pixel) and sensor noise (std in 8-bit levels)."""
    g = gain if isinstance(gain, float) else gain[..., None]
    out = frame.astype(np.float32) * g + rng.normal(0, noise, frame.shape)
    return np.asarray(np.clip(np.round(out), 0, 255), np.uint8)


def synthetic_sequence(
    name: str, image: NDArray[Any], label: NDArray[Any] | None, motion: CameraMotion
) -> FrameSequence:
    """A sequence from one photo: frame t is the photo under the accumulated camera motion, exposure and noise."""
    if motion.frames < 2:
        raise ValueError(f"a sequence needs at least 2 frames, not {motion.frames}")
    rng = np.random.default_rng(motion.seed)
    h, w = image.shape[:2]
    dx = dy = deg = 0.0
    scale = 1.0
    seq = FrameSequence(name, [], [])
    for t in range(motion.frames):
        if t:
            dx += rng.normal(0, motion.shift_px)
            dy += rng.normal(0, motion.shift_px)
            deg += rng.normal(0, motion.rotate_deg)
            scale *= 1.0 + rng.normal(0, motion.zoom)
        m = camera_affine((w, h), (dx, dy), deg, scale)
        frame = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        seq.frames.append(noisy_frame(frame, 1.0 + (rng.normal(0, motion.exposure) if t else 0.0), rng, motion.noise))
        seq.labels.append(
            None
            if label is None
            else cv2.warpAffine(
                label.astype(np.uint8), m, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT101
            )
        )
        seq.from_first.append(m)
    return seq


def compensate(prev_mask: NDArray[Any], step: NDArray[Any] | None) -> tuple[NDArray[Any], NDArray[Any]]:
    """The previous mask carried along the camera motion to the current frame, and where that is defined (pixels
    that come from inside the previous frame). Without a known motion: the mask as is, defined everywhere."""
    h, w = prev_mask.shape
    if step is None:
        return prev_mask.astype(bool), np.ones((h, w), bool)
    moved = cv2.warpAffine(prev_mask.astype(np.uint8), step, (w, h), flags=cv2.INTER_NEAREST, borderValue=(0,))
    valid = cv2.warpAffine(np.ones((h, w), np.uint8), step, (w, h), flags=cv2.INTER_NEAREST, borderValue=(0,))
    return moved.astype(bool), valid.astype(bool)


def _band(mask: NDArray[Any]) -> NDArray[Any]:
    k = np.ones((2 * BAND_PX + 1, 2 * BAND_PX + 1), np.uint8)
    m = mask.astype(np.uint8)
    return np.asarray(cv2.dilate(m, k) != cv2.erode(m, k))


@dataclass(frozen=True)
class Stability:
    flicker: float  # fraction of boundary pixels that change against the motion-compensated previous mask
    temporal_iou: float  # IoU of each mask with the compensated previous one, mean over frame pairs
    miou: float | None  # mean over labelled frames of (foreground IoU + background IoU) / 2
    frames: int
    changed_per_step: tuple[float, ...] = ()  # per frame t >= 1: the share of its band that changed
    miou_per_frame: tuple[float, ...] = ()  # labelled frames only

    @property
    def worst_step(self) -> int:
        """The frame (>= 1) whose mask changed most against the compensated previous one."""
        return 1 + int(np.argmax(self.changed_per_step)) if self.changed_per_step else 1


def stability(masks: Sequence[NDArray[Any]], seq: FrameSequence) -> Stability:
    """masks: the predicted person masks (bool, frame size) of every frame of `seq`, in order."""
    if len(masks) != len(seq.frames) or len(masks) < 2:
        raise ValueError(f"{seq.name}: {len(masks)} masks for {len(seq.frames)} frames (at least 2 are needed)")
    changed = band_total = 0
    ious, per_step = [], []
    for t in range(1, len(masks)):
        expected, valid = seq.carry(masks[t - 1], t)
        cur = masks[t].astype(bool)
        band = _band(expected) & valid
        step_changed, step_band = int(np.count_nonzero((cur != expected) & band)), int(np.count_nonzero(band))
        changed += step_changed
        band_total += step_band
        per_step.append(step_changed / step_band if step_band else 0.0)
        ious.append(iou(cur & valid, expected & valid))
    mious = [
        (iou(m.astype(bool), lab.astype(bool)) + iou(~m.astype(bool), ~lab.astype(bool))) / 2
        for m, lab in zip(masks, seq.labels, strict=True)
        if lab is not None
    ]
    return Stability(
        flicker=changed / band_total if band_total else 0.0,
        temporal_iou=float(np.mean(ious)),
        miou=float(np.mean(mious)) if mious else None,
        frames=len(masks),
        changed_per_step=tuple(per_step),
        miou_per_frame=tuple(float(m) for m in mious),
    )


def labels_flicker(seq: FrameSequence) -> float | None:
    """The flicker of the sequence's own labels, measured as any mask is: what a perfect mask scores (None when a
    frame has no label)."""
    labels = [lab for lab in seq.labels if lab is not None]
    if len(labels) != len(seq.frames):
        return None
    return stability([lab.astype(bool) for lab in labels], seq).flicker
