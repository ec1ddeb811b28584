"""The input-shape / threads / power-mode sweep on an emulated device through the real adb server."""

from __future__ import annotations

import cv2
import pytest

from benchmark.cli import main
from benchmark.records.runs import SweepRun
from tests.conftest import PORTRAIT_V2
from tests.runs import read_as

pytestmark = pytest.mark.slow


def test_sweep_on_emulated_device(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    h = emulated()
    reports = tmp_path / "reports"
    rc = main(
        [
            "sweep",
            "--adb",
            str(lab.server),
            "--serial",
            h.serial,
            "--models-dir",
            str(models_dir),
            "--out",
            str(bench_out),
            "--offline",
            "--model",
            PORTRAIT_V2,
            "--range",
            "128:256:128",
            "--threads-list",
            "1,2",
            "--power-modes",
            "0,3",
            "--rounds",
            "2",
            "--repeats",
            "3",
            "--warmup",
            "1",
            "--reports",
            str(reports),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    run = read_as(next(reports.glob("sweep-*.json")), SweepRun)
    shapes = [r.shape_wh for r in run.records if r.sweep == "shape"]
    assert shapes == [[128, 72], [256, 144]]  # 16:9 range; the zoo's best shape (256x144) included and marked
    assert [r.best for r in run.records if r.sweep == "shape"] == [False, True]
    assert [r.input_shape for r in run.records if r.sweep == "shape"] == [[1, 3, 72, 128], [1, 3, 144, 256]]
    combos = [(r.threads, r.power_mode) for r in run.records if r.sweep == "threads"]
    assert combos == [(1, 0), (1, 3), (2, 0), (2, 3)]
    assert all(r.status == "ok" and r.median_ms > 0 for r in run.records)
    assert cv2.imread(str(next(reports.glob("sweep-*.png")))) is not None
    assert "256x144 (zoo best)" in out and "no bind (LITE_POWER_NO_BIND)" in out


def test_sweep_arguments_are_checked(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["sweep", "--model", PORTRAIT_V2, "--offline"]) == 2
    assert "give --shapes" in capsys.readouterr().err
    assert main(["sweep", "--model", PORTRAIT_V2, "--range", "300:100:10", "--offline"]) == 2
    assert "need 0 < MIN <= MAX" in capsys.readouterr().err
