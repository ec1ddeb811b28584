"""`video-check` end to end: real model, the desktop reference and the ARM kernels under QEMU, with and without the
shared smoothing; a clip; bad input is one line and exit 2 with no run file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmark.cli import main
from benchmark.records.runs import VideoRun
from converter.artifacts import manifest
from tests.conftest import HUMAN_V1, labelled_subset
from tests.runs import read_as

pytestmark = pytest.mark.slow


def _clip(path: Path, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for t in range(frames):
        f = np.full((120, 160, 3), 90, np.uint8)
        cv2.ellipse(f, (70 + 4 * t, 60), (25, 40), 0, 0, 360, (200, 180, 160), -1)
        writer.write(f)
    writer.release()
    return path


def test_video_check_on_labelled_sequences_and_a_clip(  # type: ignore[no-untyped-def]
    arm_runtime, models_dir, data_dir, bench_out, tmp_path, capsys
) -> None:
    reports = tmp_path / "reports"
    common = ["video-check", "--models-dir", str(models_dir), "--models", HUMAN_V1, "--out", str(bench_out)]
    common += ["--reports", str(reports), "--frames", "3", "--precision", "fp32,fp16"]
    dataset = labelled_subset(data_dir, tmp_path / "ds", 1)
    assert main([*common, "--dataset", str(dataset), "--sequences", "1", "--kinds", "camera,sudden"]) == 0
    out = capsys.readouterr().out
    (run_file,) = reports.glob("video-*.json")
    every = read_as(run_file, VideoRun).records
    assert [(r.variant, r.kind) for r in every] == [
        (v, k) for v in ("reference", "fp32", "fp16") for k in ("camera motion", "sudden shift")]  # fmt: skip
    for r in every:  # every method on the same masks; the *_smoothed fields are the spec's method
        assert r.smoothing == "motion_fusion" and [m.method for m in r.methods] == [
            "gated_ema", "motion_fusion", "dis_fusion"]  # fmt: skip
        fused = r.methods[1]
        assert fused.flicker == r.flicker_smoothed and fused.miou == r.miou_smoothed
        assert (fused.lag_frames is not None) == (r.kind == "sudden shift")
    recs = [r for r in every if r.kind == "camera motion"]
    assert f"{HUMAN_V1}" in out
    ref, fp32, fp16 = recs
    assert "Paddle Inference" in ref.runtime and "sd855-arm" in fp32.runtime and fp32.frames == 3
    for r in recs:
        assert 0 <= r.flicker <= 1 and 0 <= r.flicker_smoothed <= 1 and 0 < r.temporal_iou <= 1
        assert r.miou is not None and r.miou > 0.5 and r.source.startswith("labelled photo")
    assert abs(fp32.flicker - ref.flicker) < 0.02 and abs(fp32.miou - ref.miou) < 0.01  # same model, ARM kernels
    assert all(r.smoothing_ms_per_frame is not None and r.smoothing_ms_per_frame > 0 for r in recs)
    # the step's ARM cost: counted once per model on the phone (a C port checked against the Python step there)
    assert ref.smoothing_arm_insns_per_frame is None and fp32.smoothing_arm_insns_per_frame is not None
    assert fp16.smoothing_arm_insns_per_frame == fp32.smoothing_arm_insns_per_frame
    pixels = np.prod(manifest.read(bench_out / HUMAN_V1).input_shape[2:])  # type: ignore[union-attr]
    assert 5 < fp32.smoothing_arm_insns_per_frame / pixels < 200  # per pixel: a luminance and a blend
    for r in recs:  # the frame that changed most, saved for the report's strip
        assert r.worst_frame in (1, 2) and r.artifacts is not None
        assert all(Path(p).is_file() for p in r.artifacts.values()) and set(r.artifacts) == {
            "input", "previous", "current"}  # fmt: skip
    assert main(["report", "--reports", str(reports), "--models-out", str(bench_out)]) == 0
    capsys.readouterr()
    section = (reports / "report.md").read_text().split("## Video: mask stability", 1)[1].split("\n## ", 1)[0]
    both = [r for r in every if r.variant == "fp16"]  # the main table: means over the camera and sudden sequences
    flicker, smoothed = (sum(getattr(r, k) for r in both) / 2 for k in ("flicker", "flicker_smoothed"))
    assert f"| {HUMAN_V1} | fp16 | 2 | {flicker:.4f} | {smoothed:.4f} |" in section
    assert f"| {fp32.smoothing_arm_insns_per_frame / 1e6:.2f} |" in section
    assert f"video_{HUMAN_V1}_fp16.png" in section and "motion fusion" in section and "DIS fusion (host)" in section
    assert f"| {HUMAN_V1} | fp16 | sudden shift | 1 | " in section
    host = tmp_path / "host"  # the reference alone, every method, on this host: no phone
    elsewhere = [a for a in common if a not in ("--reports", str(reports))] + ["--reports", str(host)]
    assert main([*elsewhere, "--dataset", str(dataset), "--sequences", "1", "--kinds", "person,lighting",
                 "--host-only"]) == 0  # fmt: skip
    capsys.readouterr()
    (host_file,) = host.glob("video-*.json")
    alone = read_as(host_file, VideoRun).records
    assert [(r.variant, r.kind) for r in alone] == [
        ("reference", "person moves against the background"), ("reference", "lighting changes")]  # fmt: skip
    assert all(r.smoothing_arm_insns_per_frame is None and len(r.methods) == 3 for r in alone)
    for r in alone:  # known motion: the labels' own flicker is a rounding floor, far under the model's
        assert r.flicker_labels is not None and 0 <= r.flicker_labels < r.flicker
    small = tmp_path / "small"  # the same sequences measured as a 64-pixel-high clip would be: estimated motion
    assert main([*elsewhere[:-1], str(small), "--dataset", str(dataset), "--sequences", "1", "--kinds", "camera",
                 "--host-only", "--clip-height", "64"]) == 0  # fmt: skip
    capsys.readouterr()
    (as_clip,) = read_as(next(small.glob("video-*.json")), VideoRun).records
    assert as_clip.sequence.endswith(" at 64 px") and as_clip.source.startswith("labelled photo measured as a clip")
    assert as_clip.flicker_labels is not None and as_clip.flicker_labels > 0 and as_clip.miou is not None
    clip = _clip(tmp_path / "clip.mp4", 4)  # a clip through the same path: one ARM variant is enough
    assert main([*[a if a != "fp32,fp16" else "fp32" for a in common], "--video", str(clip)]) == 0
    capsys.readouterr()
    newest = max(reports.glob("video-*.json"), key=lambda p: p.name)
    recs = read_as(newest, VideoRun).records
    assert [r.variant for r in recs] == ["reference", "fp32"] and {r.sequence for r in recs} == {"clip.mp4"}
    assert all(r.kind == "clip" and r.miou is None for r in recs)
    assert all(r.source.startswith("clip (motion estimated") and len(r.methods) == 3 for r in recs)


def test_bad_video_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = _clip(tmp_path / "one.mp4", 1)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(_clip(tmp_path / "full.mp4", 4).read_bytes()[:200])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    reports = tmp_path / "reports"
    for path, what in ((one, "a single frame"), (broken, "cannot open it"), (empty, "cannot open it"),
                       (tmp_path / "missing.mp4", "does not exist")):  # fmt: skip
        assert main(["video-check", "--video", str(path), "--reports", str(reports)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err and what in err, err
    assert main(["video-check", "--reports", str(reports)]) == 2
    assert "--dataset DIR" in capsys.readouterr().err
    assert main(["video-check", "--video", str(one), "--kinds", "camera,bogus", "--reports", str(reports)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bogus" in err and "camera, person, lighting, sudden" in err, err
    bad_heights = [(["--video", str(one), "--clip-height", "96"], "measured at its own size"),
                   (["--dataset", str(tmp_path), "--clip-height", "8"], "--clip-height must be >= 32")]  # fmt: skip
    for extra, what in bad_heights:
        assert main(["video-check", *extra, "--reports", str(reports)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and what in err, err
    assert not reports.exists()  # no partial run file
