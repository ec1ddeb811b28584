"""The motion-compensated fusion (converter/images/motion_fusion.py) on answers that are known, the harder labelled
sequences (benchmark/parity/sequences.py) and the lag after a sudden change."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmark.parity.sequences import KINDS, make_sequence
from benchmark.parity.video import CameraMotion, stability
from benchmark.parity.video_record import lag_frames
from converter.artifacts.app_spec import SpecTemporal
from converter.images.motion_fusion import FusionParams, MotionFusion
from converter.images.temporal import GatedEma


def _picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.random((h + 40, w + 40, 3)).astype(np.float32)
    big = cv2.GaussianBlur(noise, (0, 0), 4.0)
    return np.asarray((big - big.min()) / (big.max() - big.min()) * 255.0, np.float32)


def _moved(img: np.ndarray, dx: float, dy: float, h: int, w: int) -> np.ndarray:
    m = np.array([[1.0, 0.0, dx - 20.0], [0.0, 1.0, dy - 20.0]])
    return np.asarray(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR), np.float32)


def test_the_fusion_finds_a_sub_pixel_move_and_damps_noise_that_does_not_move() -> None:
    h, w = 144, 256
    pic, blob = _picture(h, w), np.zeros((h + 40, w + 40), np.float32)
    cv2.circle(blob, (148, 92), 40, 1.0, -1)
    blob = cv2.GaussianBlur(blob, (0, 0), 3.0)
    rng = np.random.default_rng(1)
    fusion = MotionFusion(FusionParams())
    truth, raw_err, fused_err = [], [], []
    for t in range(8):
        dx, dy = 0.6 * t, -0.35 * t
        rgb = np.clip(np.round(_moved(pic, dx, dy, h, w)), 0, 255).astype(np.uint8)
        clean = _moved(blob, dx, dy, h, w)
        prob = np.clip(clean + rng.normal(0, 0.1, clean.shape).astype(np.float32), 0, 1).astype(np.float32)
        out = fusion.step(prob, rgb)
        if t:
            assert fusion.last is not None and not fusion.last.reset
            truth.append((fusion.last.dx - 0.6, fusion.last.dy + 0.35))
            edge = (clean > 0.3) & (clean < 0.7)  # where noise is not clipped: the mask's edge
            raw_err.append(float((prob - clean)[edge].std()))
            fused_err.append(float((out - clean)[edge].std()))
    assert np.abs(np.array(truth)).max() < 0.25  # model pixels
    assert np.mean(fused_err[3:]) < 0.75 * np.mean(raw_err[3:])  # a one-step estimate: a small bias stays


def test_a_scene_cut_starts_over() -> None:
    h, w = 144, 256
    fusion = MotionFusion(FusionParams())
    prob = np.full((h, w), 0.2, np.float32)
    first = np.clip(_picture(h + 40, w + 40, 1)[:h, :w], 0, 255).astype(np.uint8)
    rng = np.random.default_rng(5)  # another scene: blocks of random colours
    other = np.kron(rng.integers(0, 256, (h // 16, w // 16, 3)), np.ones((16, 16, 1))).astype(np.uint8)
    fusion.step(prob, first)
    out = fusion.step(np.full((h, w), 0.9, np.float32), other)
    assert fusion.last is not None and fusion.last.reset and np.all(out == np.float32(0.9))
    with pytest.raises(ValueError, match="differ in size"):
        fusion.step(prob, first[:, :100])


def test_a_fast_pan_starts_over_and_a_slower_one_is_followed() -> None:
    h, w = 144, 256
    pic = _picture(h, w)
    prob = np.full((h, w), 0.2, np.float32)
    for dx, reset in ((12.0, True), (8.0, False)):  # jump = 0.04 of 256 pixels: 10.24
        fusion = MotionFusion(FusionParams())
        fusion.step(prob, np.clip(np.round(_moved(pic, 0.0, 0.0, h, w)), 0, 255).astype(np.uint8))
        out = fusion.step(
            np.full((h, w), 0.9, np.float32), np.clip(np.round(_moved(pic, dx, 0, h, w)), 0, 255).astype(np.uint8)
        )
        assert fusion.last is not None and fusion.last.reset == reset and abs(fusion.last.dx - dx) < 1.0
        assert np.all(out == np.float32(0.9)) == reset  # started over: the new probability alone


def test_where_the_model_contradicts_the_history_the_new_answer_comes_through() -> None:
    """A still scene whose history says background (0.1); then the model says person (0.9) in one block and 0.3
    elsewhere. In the block the difference (0.8) is beyond `contradict` (0.5): w = (0.8 - 0.5) / 0.5 = 0.6 and the
    mask turns in one frame; elsewhere (0.2) the history holds with w = alpha."""
    h, w = 144, 256
    rgb = np.clip(np.round(_moved(_picture(h, w), 0.0, 0.0, h, w)), 0, 255).astype(np.uint8)
    block = (slice(40, 100), slice(80, 160))
    for params, turns in ((FusionParams(), True), (FusionParams(contradict=0.9), False)):
        fusion = MotionFusion(params)
        for _ in range(3):
            fusion.step(np.full((h, w), 0.1, np.float32), rgb)
        prob = np.full((h, w), 0.3, np.float32)
        prob[block] = 0.9
        out = fusion.step(prob, rgb)
        assert fusion.last is not None and not fusion.last.reset
        inner = out[50:90, 90:150]  # away from the block's edge, where the bilinear move mixes
        assert bool(np.all(inner > 0.5)) == turns, (params, float(inner.min()))
        assert abs(float(np.median(out[:, :60])) - (0.1 + params.alpha * 0.2)) < 0.01  # the history holds


def test_the_spec_names_the_fusion_and_bad_parameters_are_refused() -> None:
    t = SpecTemporal()
    assert t.smoothing == "motion_fusion" and isinstance(t.stepper(), MotionFusion)
    assert isinstance(t.model_copy(update={"smoothing": "gated_ema"}).stepper(), GatedEma)
    bad = ({"alpha": 0.0}, {"coarse": 3}, {"search": 0}, {"cut": 1.5}, {"tile": 0}, {"jump": 0.0}, {"contradict": 1.0})
    for params in bad:
        with pytest.raises(ValueError):
            FusionParams(**params)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_sequence_keeps_a_known_answer(kind: str) -> None:
    img = np.clip(_picture(200, 300)[:200, :300], 0, 255).astype(np.uint8)
    label = np.zeros((200, 300), np.uint8)
    cv2.ellipse(label, (150, 120), (50, 80), 0, 0, 360, 1, -1)
    seq = make_sequence(kind, "x", img, label, CameraMotion(frames=6, seed=3))
    assert len(seq.frames) == len(seq.labels) == 6
    labels = [lab.astype(bool) for lab in seq.labels if lab is not None]
    st = stability(labels, seq)  # the true masks follow the known motion: only resampling at the edge is left
    assert st.flicker < 0.1 and st.miou is not None and st.miou == pytest.approx(1.0)
    if kind == "person":  # the person moved apart from the camera: carrying with the camera alone would not do
        assert not np.allclose(seq.person_from_first[-1], seq.from_first[-1])
    if kind in ("sudden", "lighting"):
        assert seq.event_frame == 3


def test_lag_counts_frames_until_the_smoothed_miou_is_back() -> None:
    from benchmark.parity.video import Stability

    raw = Stability(0.1, 0.9, 0.9, 5, miou_per_frame=(0.9, 0.9, 0.9, 0.9, 0.9))
    slow = Stability(0.1, 0.9, 0.9, 5, miou_per_frame=(0.9, 0.9, 0.8, 0.85, 0.899))
    assert lag_frames(raw, slow, 2) == 2 and lag_frames(raw, raw, 2) == 0 and lag_frames(raw, slow, None) is None
