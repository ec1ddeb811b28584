"""Host parity end to end: real Paddle Inference vs real Paddle-Lite x86 on the shared models and images."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmark.cli import main
from benchmark.records.runs import ParityRun
from tests.conftest import HUMAN_V1, PORTRAIT_V1, PORTRAIT_V2, REAL_MODELS, closed_port_url
from tests.runs import read_as

pytestmark = pytest.mark.slow
EXPECTED_GT_IOU = {PORTRAIT_V2: 0.828, PORTRAIT_V1: 0.702, HUMAN_V1: 0.838}  # ../shared/data/SOURCES.md


def _parity(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["parity", *argv])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out, cap.err


def _parity_zoo(
    capsys: pytest.CaptureFixture[str], zoo: Path, models_dir: Path, tmp_path: Path, *extra: str
) -> tuple[int, str, str]:
    """Parity with a test zoo; outputs under tmp_path/models, run files under tmp_path/reports."""
    args = ["--zoo", str(zoo), "--models-dir", str(models_dir), "--out", str(tmp_path / "models")]
    return _parity(capsys, *args, "--reports", str(tmp_path / "reports"), *extra)


def _run_file(reports: Path) -> ParityRun:
    (path,) = sorted(reports.glob("parity-*.json"))
    return read_as(path, ParityRun)


def test_three_real_models_on_shared_images(
    models_dir: Path,
    data_dir: Path,
    tmp_path: Path,
    write_zoo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    zoo = write_zoo(models=list(REAL_MODELS), url_base=closed_port_url())
    reports = tmp_path / "reports"
    rc, out, err = _parity_zoo(capsys, zoo, models_dir, tmp_path, "--images", str(data_dir))
    assert rc == 0, out + err
    assert "parity: 3/3 model variant(s) passed" in out
    assert "SOURCES.md: not a jpg/png image" in err  # skipped with a warning naming it
    run = _run_file(reports)
    assert run.image_count == 15
    records = run.records
    assert len(records) == 45 and {r.model for r in records} == set(REAL_MODELS)
    for r in records:
        assert r.max_abs_diff <= 1e-4 and r.max_abs_diff > 0  # a real comparison, not identical arrays
        assert r.argmax_agreement == 1.0 and r.iou_vs_reference == 1.0 and r.passed
        assert r.precision == "fp32" and r.source == "host"
    assert max(r.max_abs_diff for r in records) < 2e-5  # "1e-5 order"
    masked = [r for r in records if r.gt_iou_reference is not None]
    assert len(masked) == 36  # 12 labelled images x 3 models
    for m in run.models:
        gt = m.ground_truth
        assert gt.reference.images == 12
        assert gt.reference.mean_fg_iou == pytest.approx(EXPECTED_GT_IOU[m.model], abs=0.005)
        assert gt.candidate.mean_fg_iou == pytest.approx(gt.reference.mean_fg_iou, abs=1e-3)
        assert m.status == "pass" and m.comparisons == 15


def test_tight_tolerance_fails_and_every_model_is_judged(
    models_dir: Path, tmp_path: Path, write_zoo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(entries: list[dict]) -> None:
        for e in entries:
            if e["name"] == PORTRAIT_V2:
                e["tolerances"] = {"fp32": {"max_abs_diff": 1e-12, "reason": "test: impossible tolerance"}}

    zoo = write_zoo(models=[PORTRAIT_V2, HUMAN_V1], edit=edit, url_base=closed_port_url())
    reports = tmp_path / "reports"
    rc, out, err = _parity_zoo(capsys, zoo, models_dir, tmp_path)
    assert rc == 1
    assert "no --images given: using 4 generated images" in err
    run = _run_file(reports)
    status = {m.model: m.status for m in run.models}
    assert status == {PORTRAIT_V2: "fail", HUMAN_V1: "pass"}
    assert f"{PORTRAIT_V2} fp32: FAIL generated/" in out and "> tolerance 1e-12" in out
    assert run.images == "generated"


def test_unavailable_model_is_reported_and_others_run(
    models_dir: Path, tmp_path: Path, write_zoo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    zoo = write_zoo(models=[HUMAN_V1, "human_pp_humansegv2_lite_192x192"], url_base=closed_port_url())
    reports = tmp_path / "reports"
    rc, out, _ = _parity_zoo(capsys, zoo, models_dir, tmp_path)
    assert rc == 1
    status = {m.model: m.status for m in _run_file(reports).models}
    assert status == {HUMAN_V1: "pass", "human_pp_humansegv2_lite_192x192": "unavailable"}
    assert "not available" in out


def test_awkward_images_just_work(
    models_dir: Path, tmp_path: Path, write_zoo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(3)
    color = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    cv2.imwrite(str(images / "tiny.png"), color[:1, :1])
    cv2.imwrite(str(images / "huge.jpg"), cv2.resize(color, (6000, 4000)))
    cv2.imwrite(str(images / "gray.png"), color[:, :, 0])
    cv2.imwrite(str(images / "alpha.png"), np.dstack([color, np.full((300, 200), 128, np.uint8)]))
    cv2.imwrite(str(images / "sixteen.png"), color.astype(np.uint16) * 257)
    cv2.imwrite(str(images / "UPPER.JPEG"), color)
    (images / "notes.txt").write_text("not an image")
    (images / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    zoo = write_zoo(models=[HUMAN_V1], url_base=closed_port_url())
    reports = tmp_path / "reports"
    rc, out, err = _parity_zoo(capsys, zoo, models_dir, tmp_path, "--images", str(images))
    assert rc == 0, out + err
    assert f"skipping {images / 'notes.txt'}" in err and f"skipping {images / 'broken.jpg'}" in err
    names = {r.image for r in _run_file(reports).records}
    assert names == {"tiny.png", "huge.jpg", "gray.png", "alpha.png", "sixteen.png", "UPPER.JPEG"}


@pytest.mark.parametrize("setup", ["missing", "empty", "only_text"])
def test_unusable_image_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str) -> None:
    folder = tmp_path / "imgs"
    if setup != "missing":
        folder.mkdir()
    if setup == "only_text":
        (folder / "a.txt").write_text("x")
    rc, _, err = _parity(capsys, "--models", HUMAN_V1, "--images", str(folder), "--out", str(tmp_path / "m"))
    assert rc == 2 and err.startswith("error: ") and str(folder) in err and err.count("\n") == 1


def test_a_run_that_judges_nothing_is_not_a_pass(
    models_dir: Path, tmp_path: Path, write_zoo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """fp16 and full int8 have no x86 kernels: host parity of them judges nothing, which is never '0/0 passed'."""
    zoo = write_zoo(models=[HUMAN_V1])
    rc, out, err = _parity_zoo(capsys, zoo, models_dir, tmp_path, "--precision", "fp16,int8")
    assert rc == 2 and "parity: nothing judged; 2 not run here" in out and " passed" not in out
    assert "parity judged nothing: fp16: fp16 kernels exist only for ARM" in err and "int8: full int8" in err
    assert [m.status for m in _run_file(tmp_path / "reports").models] == ["not_run", "not_run"]
    assert not (tmp_path / "models").exists()  # nothing to convert for what cannot be judged here
