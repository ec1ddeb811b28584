"""Precision variants: conversion (fp16 for ARM only, weight-only int8w/int16w, full int8 for ARM only) and
per-precision parity gates."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmark.cli import main as bench_main
from benchmark.records.runs import ParityRun
from converter.cli.main import main as convert_main
from converter.nb.inspect import inspect_nb
from converter.schema.manifest_types import OptSettings
from tests.conftest import HUMAN_V1, PORTRAIT_V2, closed_port_url
from tests.runs import manifest_of, read_as

pytestmark = pytest.mark.slow


def test_variants_are_built_with_their_settings(models_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    rc = convert_main(
        [
            "zoo",
            "--models-dir",
            str(models_dir),
            "--models",
            PORTRAIT_V2,
            "--offline",
            "--out",
            str(out),
            "--precision",
            "fp32,fp16,int8w,int16w",
        ]
    )
    stdout = capsys.readouterr().out
    assert rc == 0, stdout
    d = out / PORTRAIT_V2
    assert sorted(p.name for p in d.glob("*.nb")) == sorted(
        ["arm-fp32.nb", "arm-fp16.nb", "arm-int8w.nb", "arm-int16w.nb", "x86-fp32.nb", "x86-int8w.nb", "x86-int16w.nb"]
    )
    assert "x86-fp16.nb: opt has no fp16 kernels for x86" in stdout
    m = manifest_of(d)
    files = m.files
    assert files["arm-fp16.nb"].settings.enable_fp16 is True and "ARMv8.2" in files["arm-fp16.nb"].requires
    assert files["arm-int8w.nb"].settings == OptSettings(
        valid_targets="arm", enable_fp16=False, quant_model=True, quant_type="QUANT_INT8"
    )
    assert files["x86-int16w.nb"].settings.quant_type == "QUANT_INT16" and files["x86-fp32.nb"].requires is None
    assert files["arm-int8w.nb"].int8_kernels == 0  # weight-only: smaller file, fp32 kernels
    ratio = files["arm-int8w.nb"].size_bytes / files["arm-fp32.nb"].size_bytes
    assert ratio < 0.45  # weight-only int8: well under half the fp32 size (about 0.37 here)
    assert "calib" in inspect_nb(d / "arm-fp16.nb").op_counts  # fp16 kernels with conversions at the edges
    assert "x86-fp16.nb" in m.not_built


def test_zoo_entry_precisions_are_the_default(
    models_dir: Path, tmp_path: Path, write_zoo: Callable[..., Path], capsys
) -> None:  # type: ignore[no-untyped-def]
    def edit(entries: list[dict]) -> None:
        entries[0]["precisions"] = ["fp32", "int16w"]

    zoo = write_zoo(models=[HUMAN_V1], edit=edit, url_base=closed_port_url())
    out = tmp_path / "out"
    assert (
        convert_main(["zoo", "--zoo", str(zoo), "--models-dir", str(models_dir), "--out", str(out), "--targets", "x86"])
        == 0
    )
    assert sorted(p.name for p in (out / HUMAN_V1).glob("*.nb")) == ["x86-fp32.nb", "x86-int16w.nb"]


def test_a_variant_failing_its_gate_is_reported_and_the_rest_judged(
    models_dir: Path, data_dir: Path, tmp_path: Path, write_zoo: Callable[..., Path], capsys
) -> None:  # type: ignore[no-untyped-def]
    def edit(entries: list[dict]) -> None:
        for e in entries:
            e["tolerances"] = {"int16w": {"min_argmax_agreement": 1.0, "reason": "test: exact int16 demanded"}}

    zoo = write_zoo(models=[HUMAN_V1], edit=edit, url_base=closed_port_url())
    images = tmp_path / "images"
    shutil.copytree(data_dir / "mini_supervisely_subset", images / "set")
    reports = tmp_path / "reports"
    rc = bench_main(
        [
            "parity",
            "--zoo",
            str(zoo),
            "--models-dir",
            str(models_dir),
            "--out",
            str(tmp_path / "m"),
            "--images",
            str(images),
            "--reports",
            str(reports),
            "--precision",
            "fp32,fp16,int8w,int16w",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 1
    run = read_as(next(reports.glob("parity-*.json")), ParityRun)
    status = {m.precision: m.status for m in run.models}
    assert status == {"fp32": "pass", "fp16": "not_run", "int8w": "pass", "int16w": "fail"}
    assert {r.precision for r in run.records} == {"fp32", "int8w", "int16w"}
    assert "fp16 kernels exist only for ARM" in out and "not run here" in out
    assert f"{HUMAN_V1} int16w: FAIL" in out and "argmax agreement" in out
    int8 = next(m for m in run.models if m.precision == "int8w")
    assert int8.tolerance.max_abs_diff is None and int8.mean_mask_iou > 0.95  # judged at task level


def test_old_weight_only_names_are_migrated(models_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A folder converted before full int8 existed (weight-only variants called int8 / int16) keeps its files under
    today's names, and the old precision name on the command line still works, with a message."""
    out = tmp_path / "out"
    argv = ["zoo", "--models-dir", str(models_dir), "--models", HUMAN_V1, "--offline", "--out", str(out)]
    assert convert_main([*argv, "--targets", "x86", "--precision", "fp32,int8w"]) == 0
    d = out / HUMAN_V1
    sha = manifest_of(d).files["x86-int8w.nb"].sha256
    (d / "x86-int8w.nb").rename(d / "x86-int8.nb")  # as version 0.1 named it
    old = json.loads((d / "manifest.json").read_text())  # a manifest of version 0.1, written by hand
    old["files"]["x86-int8.nb"] = {**old["files"].pop("x86-int8w.nb"), "precision": "int8"}  # by hand
    (d / "manifest.json").write_text(json.dumps(old))
    capsys.readouterr()
    assert convert_main([*argv, "--targets", "x86", "--precision", "int8w,int16"]) == 0
    cap = capsys.readouterr()
    assert "precision 'int16' is now called 'int16w'" in cap.err
    assert "renamed x86-int8.nb -> x86-int8w.nb (weight-only int8 is now called int8w)" in cap.err
    files = manifest_of(d).files
    assert sorted(p.name for p in d.glob("*.nb")) == ["x86-fp32.nb", "x86-int16w.nb", "x86-int8w.nb"]
    assert files["x86-int8w.nb"].sha256 == sha and files["x86-int8w.nb"].precision == "int8w"  # kept, not redone
