"""Argmax exports (int32 as PaddleSeg >= 2.7 writes them, int64 as 2.6 does) through the device path: decoded
from benchmark_bin's float dump instead of compared as garbage."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from benchmark.cli import main
from benchmark.records.runs import ParityRun
from tests.runs import read_as

pytestmark = pytest.mark.slow


def test_argmax_models_on_device(lab, emulated, tiny_models: Callable[[str], Path], tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    models = tmp_path / "models"
    entries = []
    for kind in ("argmax32", "argmax64"):
        shutil.copytree(tiny_models(kind), models / f"tiny_{kind}")
        entries.append(
            {
                "name": f"tiny_{kind}",
                "title": kind,
                "url": f"file:///nonexistent/tiny_{kind}.zip",
                "input_shape": [1, 3, 16, 16],
                "published": {"miou_percent": 50.0},
            }
        )
    zoo = tmp_path / "zoo.yaml"
    zoo.write_text(
        yaml.safe_dump(
            {
                "schema_version": 1,
                "models": entries,
                "defaults": {"tolerances": {"fp32": {"max_abs_diff": 1.0e-4, "min_argmax_agreement": 0.999}}},
            }
        )
    )
    h = emulated()
    reports = tmp_path / "reports"
    rc = main(
        [
            "parity",
            "--device",
            "--adb",
            str(lab.server),
            "--serial",
            h.serial,
            "--zoo",
            str(zoo),
            "--models-dir",
            str(models),
            "--out",
            str(tmp_path / "out"),
            "--offline",
            "--reports",
            str(reports),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    run = read_as(next(reports.glob("parity-*.json")), ParityRun)
    by_model: dict[str, list[dict]] = {}
    for r in run.records:
        by_model.setdefault(r.model, []).append(r)
    assert len(by_model["tiny_argmax32"]) == 4  # the generated images
    for r in by_model["tiny_argmax32"]:
        assert r.output_dtype == "int32" and r.compared_elements == 256 and "bit patterns" in r.note
        assert r.passed and r.argmax_agreement == 1.0 and r.max_abs_diff == 0.0
    for r in by_model["tiny_argmax64"]:
        assert r.output_dtype == "int64" and r.compared_elements == 128 and "first 128 of 256" in r.note
        assert r.passed and r.argmax_agreement == 1.0
