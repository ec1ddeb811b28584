"""`layer-diff` on a small case: a tiny conv + softmax model's fp16 and full int8 variants cut at each tensor, run by
the real ARM runtime under QEMU and compared with desktop Paddle Inference fp32; bad input exits 2 with one line."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmark.cli import main as bench_main
from benchmark.records.runs import LayerDiffRun
from converter.cli.main import main as convert_main
from converter.program.cut import cut_points
from tests.runs import manifest_of, read_as

pytestmark = pytest.mark.slow
OPS = ["conv2d", "elementwise_add", "softmax", "scale"]  # the tiny model: conv, its bias, softmax, the export's scale


@pytest.fixture
def converted(tiny_models: Callable[[str], Path], tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    shutil.copytree(tiny_models("small"), folder)
    out = tmp_path / "models"
    assert convert_main(["model", str(folder), "--out", str(out), "--targets", "arm", "--precision", "fp32,fp16"]) == 0
    return out


def _diff(capsys: pytest.CaptureFixture[str], out: Path, reports: Path, *extra: str) -> tuple[int, str, str]:
    rc = bench_main(["layer-diff", "--model", "tiny", "--out", str(out), "--reports", str(reports), *extra])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out, cap.err


def test_the_first_departing_op_is_named(arm_runtime, converted, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert manifest_of(converted / "tiny").files["arm-fp16.nb"]
    reports = tmp_path / "reports"
    # one run, with a tolerance fp16 cannot meet: the first op in program order is where it departs, and the rows
    # show that each op stays within 5 % (the default tolerance)
    rc, out, _ = _diff(capsys, converted, reports, "--precision", "fp16", "--tolerance", "1e-9")
    assert rc == 0 and "first departs at op #1 conv2d" in out and "<< departs" in out, out
    run = read_as(next(reports.glob("layer-diff-*.json")), LayerDiffRun)
    rows = run.records
    assert run.passed is True and run.non_finite_rows == 0  # departs beyond 1e-9, but nothing is non-finite
    assert [r.op_type for r in rows] == OPS and all(r.departs is True for r in rows)
    assert all(0.999 < r.cosine <= 1.0 + 1e-9 and 0 < r.relative_diff < 0.05 for r in rows)  # fp16 differs a bit


def test_an_op_computing_inf_in_fp16_fails_the_variant(arm_runtime, tiny_models, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A bias of 1e5 is finite in fp32 and past fp16's largest value (65504): the ARM fp16 kernels compute inf
    where desktop fp32 is finite; layer-diff names the op and exits 1 (a broken variant, not a departure)."""
    folder, out = tmp_path / "tiny", tmp_path / "models"
    shutil.copytree(tiny_models("fp16overflow"), folder)
    assert convert_main(["model", str(folder), "--out", str(out), "--targets", "arm", "--precision", "fp32,fp16"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "fp16 on ARM" in line]  # found before opt
    assert len(warned) == 1 and "elementwise_add" in warned[0] and "1e+05 is past fp16's range" in warned[0]
    reports = tmp_path / "reports"
    rc, out_text, _ = _diff(capsys, out, reports, "--precision", "fp16")
    run = read_as(next(reports.glob("layer-diff-*.json")), LayerDiffRun)
    bad = [r for r in run.records if r.non_finite]
    assert rc == 1 and run.passed is False and run.non_finite_rows == len(bad) >= 1, out_text
    first = bad[0]
    assert first.op_type in ("conv2d", "elementwise_add") and first.max_abs_diff is None
    assert f"FAILS: {len(bad)} op(s) compute inf/NaN" in out_text and f"op #{first.index} {first.op_type}" in out_text
    assert "non-finite value(s): FAILS" in out_text


def test_bad_input_is_one_line_and_exit_2(converted, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = _diff(capsys, tmp_path / "nowhere", tmp_path / "r")
    assert rc == 2 and err.count("\n") == 1 and "no converted model 'tiny'" in err
    (converted / "tiny" / "arm-fp16.nb").unlink()
    rc, _, err = _diff(capsys, converted, tmp_path / "r")
    assert rc == 2 and "arm-fp16.nb does not exist: convert tiny with PRECISIONS=fp32,fp16 first" in err
    rc, _, err = _diff(capsys, converted, tmp_path / "r", "--image", str(tmp_path / "none.jpg"))
    assert rc == 2 and "--image" in err


def test_cut_points_skip_feed_fetch_and_weights(tiny_models: Callable[[str], Path]) -> None:
    points = cut_points((tiny_models("small") / "model.pdmodel").read_bytes())
    assert [p.op_type for p in points] == OPS


def test_full_int8_is_cut_from_its_quantized_program(arm_runtime, tiny_models, data_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder, out, calib = tmp_path / "tiny", tmp_path / "models", tmp_path / "calib"
    shutil.copytree(tiny_models("small"), folder)
    calib.mkdir()
    for photo in sorted((data_dir / "pphumanseg_demo_images").glob("*.jpg"))[:2]:
        shutil.copy(photo, calib)
    argv = [
        "model",
        str(folder),
        "--out",
        str(out),
        "--targets",
        "arm",
        "--precision",
        "fp32,int8",
        "--calib",
        str(calib),
    ]
    assert convert_main(argv) == 0
    assert (out / "tiny" / "int8_program" / "model.pdmodel").is_file()  # kept beside the .nb, checked by its sha256
    reports = tmp_path / "reports"
    rc, text, _ = _diff(capsys, out, reports, "--precision", "int8", "--tolerance", "1e-9")
    assert rc == 0 and "first departs at op #1 conv2d" in text, text
    rows = read_as(next(reports.glob("layer-diff-*.json")), LayerDiffRun).records
    assert [r.op_type for r in rows] == OPS and all(r.departs is True for r in rows)
    # the convolution's cut ends at its dequantized output and runs as an int8 kernel; int8 differs more than fp16,
    # and every op stays within 5 % (the default tolerance)
    assert rows[0].int8_kernels >= 1 and 1e-4 < rows[0].relative_diff < 0.05
    assert all(r.relative_diff < 0.05 for r in rows)
    # a quantized program that is not the one the .nb came from is refused, with the fix
    (out / "tiny" / "int8_program" / "model.pdmodel").write_bytes(b"other")
    rc, _, err = _diff(capsys, out, tmp_path / "r3", "--precision", "int8")
    assert rc == 2 and err.count("\n") == 1 and "not the program tiny's arm-int8.nb was converted from" in err
    shutil.rmtree(out / "tiny" / "int8_program")
    rc, _, err = _diff(capsys, out, tmp_path / "r3", "--precision", "int8")
    assert rc == 2 and "the quantized program of its int8 variant was not kept" in err
    assert f"delete {out / 'tiny' / 'arm-int8.nb'}, then make convert MODELS=tiny OUT={out} " in err, err
    assert not (tmp_path / "r3").exists() or not list((tmp_path / "r3").glob("layer-diff-*.json"))
