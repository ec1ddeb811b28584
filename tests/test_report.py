"""Device parity, accuracy and the report, end to end through the real adb server and an emulated device; the
HTML is rendered in a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from benchmark.cli import main
from benchmark.records.runs import AccuracyRun, ParityRun, SweepRun
from tests.conftest import HUMAN_V1, PORTRAIT_V2
from tests.runs import latest

pytestmark = pytest.mark.slow
LABELLED = ["ache-adult-depression-expression-41253", "pexels-photo-206339", "pexels-photo-709792"]


def _dataset(data_dir: Path, dest: Path, names: list[str]) -> Path:
    src = data_dir / "mini_supervisely_subset"
    for sub in ("Images", "Annotations"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy(src / "Images" / f"{n}.jpg", dest / "Images")
        shutil.copy(src / "Annotations" / f"{n}.png", dest / "Annotations")
    return dest


def _run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    rc = main(list(argv))
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out, cap.err


@pytest.fixture(scope="module")
def bench_reports(lab, models_dir, data_dir, bench_out, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One emulated latency run with device parity + accuracy on 3 labelled images, then the report."""
    from benchmark.emulated.phone import load_phone

    root = tmp_path_factory.mktemp("report")
    dataset = _dataset(data_dir, root / "ds", LABELLED)
    reports = root / "reports"
    h = lab.add_device(load_phone("sd855"))
    try:
        rc = main(
            [
                "latency",
                "--adb",
                str(lab.server),
                "--serial",
                h.serial,
                "--models-dir",
                str(models_dir),
                "--out",
                str(bench_out),
                "--models",
                f"{PORTRAIT_V2},{HUMAN_V1}",
                "--reports",
                str(reports),
                "--rounds",
                "3",
                "--repeats",
                "3",
                "--warmup",
                "1",
                "--offline",
                "--dataset",
                str(dataset),
            ]
        )
    finally:
        lab.remove_device(h)
    assert rc == 0
    assert main(["report", "--reports", str(reports), "--models-out", str(bench_out)]) == 0
    return reports, h.serial


def test_device_parity_and_accuracy_records(bench_reports) -> None:  # type: ignore[no-untyped-def]
    reports, serial = bench_reports
    parity = latest(reports, ParityRun)
    assert parity.source == "device" and len(parity.records) == 6
    for r in parity.records:
        assert r.source == "device" and r.device.serial == serial and r.emulated is True
        assert r.passed and r.max_abs_diff < 1e-4 and r.argmax_agreement == 1.0
        elements = 2 * 144 * 256 if r.model == PORTRAIT_V2 else 2 * 192 * 192  # the whole softmax output
        assert r.print_rounding_bound > 0 and r.compared_elements == elements and r.note is None
        assert r.gt_iou_candidate == pytest.approx(r.gt_iou_reference, abs=1e-3)
    accuracy = latest(reports, AccuracyRun)
    models = {m.model: m for m in accuracy.models}
    assert models[PORTRAIT_V2].seed_miou_percent == 96.63 and "different, larger set" in accuracy.note
    assert models[HUMAN_V1].ground_truth.candidate.images == 3
    assert len(accuracy.records) == 6


def test_report_has_every_section(bench_reports) -> None:  # type: ignore[no-untyped-def]
    reports, serial = bench_reports
    page = (reports / "index.html").read_text()
    first = re.search(r"<h2[^>]*>([^<]*)</h2>", page)  # the first screen answers what to ship
    assert first is not None and first.group(1) == "What to ship"
    assert "no ARM device class has measured a model yet" in page  # this run had an x86 emulated device only
    for text in (
        "Devices and latency",
        "Plots",
        "Parity",
        "Accuracy",
        "Converted models",
        serial,
        "host-emulated",
        ">15.86<",
        ">12.3<",
        "<th>mIoU</th>",
        "seed SD855 ms",
        "6 significant digits",
    ):
        assert text in page, text
    # 3 plots + 3 overlays for each of 2 models; no latency-vs-seed plot and no ratio for an emulated device
    assert page.count("data:image/png;base64,") >= 3 + 6 and "Latency per model vs the seed" not in page
    assert "n/a (emulated)" in page and "x86 and ARM kernels against desktop Paddle Inference fp32" in page
    captions = re.findall(r"<figcaption>[^<]*input \| desktop mask \(green\) \| device mask \(blue\)", page)
    assert len(captions) == 6
    md = (reports / "report.md").read_text()
    assert "| model | runtime | precision | mIoU |" in md and "report_assets/rounds_distribution.png" in md
    # model load, first inference, steady-state median and peak memory, each its own column (its own run for memory)
    assert "| median ms | p90 ms | CV | first ms | load (init) ms |" in md and "| peak MB |" in md
    assert (reports / "report_assets" / "rounds_distribution.png").stat().st_size > 1000


def test_report_renders_in_headless_chromium(bench_reports, tmp_path) -> None:  # type: ignore[no-untyped-def]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("REQUIRE_SHARED"):
            pytest.fail("chromium is missing; .ci/run installs Debian's chromium")
        pytest.skip("chromium not installed")
    reports, _ = bench_reports
    url = (reports / "index.html").resolve().as_uri()
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--hide-scrollbars",
        "--window-size=1300,4000",
    ]
    shot = tmp_path / "page.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", url], check=True, capture_output=True, timeout=120)
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[:2] == (4000, 1300)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 500  # plots and photos rendered, not a blank page
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count("<table") >= 6 and dom.count("<img") >= 9 and "<th>mIoU</th>" in dom


def test_corrupt_and_foreign_run_files_are_skipped(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "latency-broken.json").write_text('{"kind": "latency", "records": [')
    (reports / "package.json").write_text('{"name": "not ours"}')
    rc, out, err = _run(capsys, "report", "--reports", str(reports), "--models-out", str(tmp_path / "none"))
    assert rc == 0 and "2 file(s) skipped" in out
    assert f"skipping {reports / 'latency-broken.json'}: not valid JSON" in err
    assert f"skipping {reports / 'package.json'}: not a toolkit run file" in err
    assert "Skipped files" in (reports / "index.html").read_text()


def test_dataset_faults_are_reported_and_the_rest_evaluated(
    lab, emulated, models_dir, data_dir, bench_out, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    ds = _dataset(data_dir, tmp_path / "ds", LABELLED)
    (ds / "Annotations" / f"{LABELLED[0]}.png").unlink()  # a mask missing
    mask = cv2.imread(str(ds / "Annotations" / f"{LABELLED[1]}.png"), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(ds / "Annotations" / f"{LABELLED[1]}.png"), mask[:100, :100])  # a size mismatch
    (ds / "Images" / "notes.jpg").write_text("not an image")
    h = emulated()
    rc, out, err = _run(
        capsys,
        "parity",
        "--device",
        "--adb",
        str(lab.server),
        "--serial",
        h.serial,
        "--models",
        HUMAN_V1,
        "--models-dir",
        str(models_dir),
        "--out",
        str(bench_out),
        "--offline",
        "--dataset",
        str(ds),
        "--reports",
        str(tmp_path / "reports"),
    )
    assert rc == 0, out + err
    assert f"no mask {ds / 'Annotations' / (LABELLED[0] + '.png')}" in err
    assert "differs from the image's" in err and f"skipping {ds / 'Images' / 'notes.jpg'}" in err
    (model,) = latest(tmp_path / "reports", AccuracyRun).models
    assert model.ground_truth.candidate.images == 1  # only the intact pair counts
    assert len(latest(tmp_path / "reports", ParityRun).records) == 3  # parity still ran on all 3 images


@pytest.mark.parametrize("layout", ["empty", "no_annotations"])
def test_unusable_dataset_is_an_error(lab, tmp_path, capsys, layout) -> None:  # type: ignore[no-untyped-def]
    ds = tmp_path / "ds"
    (ds / "Images").mkdir(parents=True)
    if layout == "empty":
        (ds / "Annotations").mkdir()
    rc, _, err = _run(capsys, "parity", "--device", "--adb", str(lab.server), "--dataset", str(ds), "--offline")
    assert rc == 2 and "error: " in err and str(ds) in err


def test_run_files_before_schema_2_are_read_and_newer_ones_refused(tmp_path: Path) -> None:
    """A user's build/reports survives the change: device parity records of schema 1 (gt_iou_desktop/device) are
    read with today's names; a file from a newer toolkit is skipped with what to do; NaN is never written."""
    from benchmark.records.run_files import RunFileError, read_run, write_run
    from benchmark.records.runs import ParityRun
    from benchmark.records.types import LatencyRecord

    old = tmp_path / "parity-old.json"
    record = {  # a device parity record as the toolkit wrote it before schema version 2
        "model": "m", "image": "a.jpg", "output": "softmax_0.tmp_0", "output_dtype": "float32", "precision": "fp32",
        "target": "arm", "source": "device", "device": {"serial": "emu"}, "emulated": True,
        "reference": "paddle_inference", "candidate": "device_benchmark_bin", "max_abs_diff": 1e-6,
        "mean_abs_diff": 1e-7, "argmax_agreement": 1.0, "iou_vs_reference": 1.0, "reference_fg_fraction": 0.3,
        "print_rounding_bound": 5e-6, "compared_elements": 10, "note": None, "passed": True, "problems": [],
        "gt_iou_desktop": 0.8, "gt_iou_device": 0.79,
    }  # fmt: skip
    old.write_text(json.dumps({"kind": "parity", "records": [record]}))
    (rec,) = read_run(old).records  # type: ignore[attr-defined]  # read as its type, the old key names mapped
    assert rec.gt_iou_reference == 0.8 and rec.gt_iou_candidate == 0.79 and rec.run_file == str(old)
    foreign = tmp_path / "parity-foreign.json"  # a record that is not of its type: the file is refused, named
    foreign.write_text(json.dumps({"kind": "parity", "records": [{"model": "m", "image": "a.jpg"}]}))
    with pytest.raises(RunFileError, match="parity-foreign.json: not a ParityRun: output: Field"):
        read_run(foreign)
    newer = tmp_path / "parity-newer.json"
    newer.write_text(json.dumps({"kind": "parity", "schema_version": 99, "records": []}))
    with pytest.raises(RunFileError, match="schema version 99 is newer than this toolkit's"):
        read_run(newer)
    written = tmp_path / "sweep-nan.json"
    inf = LatencyRecord(model="m", precision="fp32", status="ok", input_shape=[1, 3, 8, 8], device={}, median_ms=1.0)
    inf.median_ms = float("inf")
    write_run(written, SweepRun(model="m", best_shape_wh=[8, 8], device="d", records=[inf]))
    text = written.read_text()
    assert "NaN" not in text and "Infinity" not in text and json.loads(text)["schema_version"] == 2
    with pytest.raises(ValueError, match="unknown_key"):  # a key the type lacks fails when it is set
        rec.unknown_key = 1
    with pytest.raises(ValidationError, match="gt_iou_desktop"):  # a record by hand in old key names: refused
        ParityRun(images="x", image_count=1, records=[record])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="parity run files hold ParityRecord records, not dict"):
        write_run(tmp_path / "parity-bad.json", ParityRun.model_construct(images="x", image_count=1, records=[record]))


def test_records_doc_is_generated_from_the_types() -> None:
    from benchmark.records.docs import markdown

    doc = Path(__file__).resolve().parent.parent / "docs" / "records.md"
    assert doc.read_text() == markdown(), "stale: run `python -m benchmark.records.docs > docs/records.md`"
