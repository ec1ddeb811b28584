"""The temporal-stability measure on sequences whose answer is known, and the shared temporal smoothing step."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmark.parity.video import (
    CameraMotion,
    FrameSequence,
    as_clip,
    compensate,
    labels_flicker,
    stability,
    synthetic_sequence,
)
from converter.images.temporal import SmoothingParams, TemporalSmoother, luminance


def _photo(h: int = 96, w: int = 128) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 2)
    label = np.zeros((h, w), np.uint8)
    cv2.ellipse(label, (w // 2, h // 2), (w // 5, h // 3), 0, 0, 360, 1, -1)
    img[label == 1] = (img[label == 1] // 2 + 100).astype(np.uint8)
    return img, label


def test_a_model_that_follows_a_pure_shift_has_no_flicker_after_compensation() -> None:
    img, label = _photo()
    h, w = label.shape
    seq = FrameSequence("shift", [], [])
    for t in range(5):  # whole-pixel steps: the compensated previous mask is exactly the current one
        m = np.array([[1.0, 0.0, 2.0 * t], [0.0, 1.0, -1.0 * t]])
        seq.frames.append(cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT101))
        seq.labels.append(cv2.warpAffine(label, m, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT101))
        seq.from_first.append(m)
    masks = [lab.astype(bool) for lab in seq.labels if lab is not None]  # the oracle: the moved labels themselves
    s = stability(masks, seq)
    assert (s.flicker, s.temporal_iou, s.miou, s.frames) == (0.0, 1.0, 1.0, 5)
    # the same masks judged without knowing the motion: the shift shows up as change
    unknown = stability(masks, FrameSequence(seq.name, seq.frames, seq.labels))
    assert unknown.flicker > 0.1 and unknown.temporal_iou < 0.95


def test_sub_pixel_camera_motion_leaves_only_rounding_at_the_edge() -> None:
    img, label = _photo()
    motion = CameraMotion(frames=6, shift_px=3.0, rotate_deg=0.0, zoom=0.0, exposure=0.0, noise=0.0, seed=1)
    seq = synthetic_sequence("shift", img, label, motion)
    steps = [seq.step(t) for t in range(1, 6)]
    assert all(s is not None and np.allclose(s[:, :2], np.eye(2)) for s in steps)  # a pure translation
    masks = [lab.astype(bool) for lab in seq.labels if lab is not None]
    s = stability(masks, seq)
    assert s.miou == 1.0 and s.flicker < 0.05 and s.temporal_iou > 0.98  # nearest-neighbour rounding only
    unknown = stability(masks, FrameSequence(seq.name, seq.frames, seq.labels))
    assert unknown.flicker > 4 * s.flicker and unknown.temporal_iou < s.temporal_iou


def test_a_static_scene_with_noise_measures_the_model_alone() -> None:
    img, label = _photo()
    motion = CameraMotion(frames=5, shift_px=0.0, rotate_deg=0.0, zoom=0.0, exposure=0.0, noise=3.0, seed=2)
    seq = synthetic_sequence("static", img, label, motion)
    steady = [label.astype(bool)] * 5
    assert stability(steady, seq).flicker == 0.0 and stability(steady, seq).temporal_iou == 1.0
    # a model whose edge jitters by one pixel from frame to frame: flicker is what it adds, nothing else
    k = np.ones((3, 3), np.uint8)
    jitter = [label.astype(bool) if t % 2 == 0 else cv2.dilate(label, k).astype(bool) for t in range(5)]
    s = stability(jitter, seq)
    assert 0.0 < s.flicker < 1.0 and s.temporal_iou < 1.0
    assert s.miou is not None and s.miou < 1.0


def test_the_frame_that_changed_most_is_named() -> None:
    img, label = _photo()
    motion = CameraMotion(frames=5, shift_px=0.0, rotate_deg=0.0, zoom=0.0, exposure=0.0, noise=0.0, seed=2)
    seq = synthetic_sequence("static", img, label, motion)
    k = np.ones((5, 5), np.uint8)
    masks = [label.astype(bool)] * 5
    masks[3] = cv2.dilate(label, k).astype(bool)  # frame 3 grows, frame 4 shrinks back: both change, by the same
    s = stability(masks, seq)
    assert s.changed_per_step[:2] == (0.0, 0.0) and s.changed_per_step[2] > 0 and s.changed_per_step[3] > 0
    assert s.worst_step in (3, 4) and s.changed_per_step[s.worst_step - 1] == max(s.changed_per_step)
    masks[4] = masks[3]  # now only frame 3 changes
    assert stability(masks, seq).worst_step == 3 and stability(masks, seq).changed_per_step[3] == 0.0


def test_a_labelled_sequence_measured_as_a_clip_has_a_floor_from_its_own_labels() -> None:
    img, label = _photo(192, 256)
    motion = CameraMotion(frames=5, shift_px=1.5, rotate_deg=0.2, zoom=0.0, exposure=0.0, noise=1.0, seed=4)
    seq = synthetic_sequence("walk", img, label, motion)
    known = labels_flicker(seq)
    assert known is not None and 0.0 <= known < 0.1  # known motion: at most the rounding of a binary mask
    small = as_clip(seq, 96)
    assert small.name == "walk at 96 px" and all(f.shape == (96, 128, 3) for f in small.frames)
    assert all(lab is not None and lab.shape == (96, 128) for lab in small.labels) and not small.from_first
    assert len(small.flows) == 4 and small.flows[0].shape == (96, 128, 2)  # estimated, as for a clip
    floor = labels_flicker(small)
    assert floor is not None and 0.0 < floor < 0.3
    frozen = [small.labels[0].astype(bool)] * 5  # type: ignore[union-attr]  # a mask that never moves
    assert stability(frozen, small).flicker > floor  # the estimated flow still sees the motion
    assert labels_flicker(FrameSequence("clip", small.frames, [None] * 5, flows=small.flows)) is None


def test_compensation_marks_what_comes_from_outside_the_previous_frame() -> None:
    mask = np.ones((10, 10), bool)
    moved, valid = compensate(mask, np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 0.0]]))
    assert not valid[:, :3].any() and valid[:, 3:].all() and (moved == valid).all()


def test_bad_sequences_are_refused() -> None:
    img, label = _photo()
    with pytest.raises(ValueError, match="at least 2 frames"):
        synthetic_sequence("one", img, label, CameraMotion(frames=1))
    seq = synthetic_sequence("two", img, label, CameraMotion(frames=2))
    with pytest.raises(ValueError, match="1 masks for 2 frames"):
        stability([label.astype(bool)], seq)


def test_smoothing_damps_a_still_scene_and_follows_motion() -> None:
    smoother = TemporalSmoother(SmoothingParams(alpha=0.5, gate=0.08))
    y = np.full((4, 4), 100.0, np.float32)
    first = smoother.step(np.full((4, 4), 0.2, np.float32), y)
    assert np.array_equal(first, np.full((4, 4), 0.2, np.float32))  # the first frame passes as is
    still = smoother.step(np.full((4, 4), 0.8, np.float32), y)
    assert np.allclose(still, 0.5)  # half the new probability where nothing moved
    moved_y = y.copy()
    moved_y[0, 0] = 100.0 + 0.08 * 255  # a pixel whose luminance changed by the gate: taken as is
    moved_y[0, 1] = 100.0 + 0.04 * 255  # half the gate: weight halfway between alpha and 1
    out = smoother.step(np.full((4, 4), 1.0, np.float32), moved_y)
    assert out[0, 0] == pytest.approx(1.0) and out[0, 1] == pytest.approx(0.75 * 1.0 + 0.25 * 0.5)
    assert out[1, 1] == pytest.approx(0.75)
    assert luminance(np.array([[[255, 255, 255]]], np.uint8))[0, 0] == pytest.approx(255.0, abs=1e-3)
    with pytest.raises(ValueError, match="alpha"):
        SmoothingParams(alpha=0.0)
    with pytest.raises(ValueError, match="differ in size"):
        smoother.step(np.zeros((4, 4), np.float32), np.zeros((3, 3), np.float32))
