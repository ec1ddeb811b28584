"""The ARM fp16 gemv tail read (docs/parity.md, converter/program/gemv_tail.py) on the real ARM runtime under QEMU:
a 1x1 convolution on a 1x1 input with 72 output and 18 input channels reads past its filter for channel 71, which
is NaN when the stale bytes there are; the graph fix removes the condition with the same fp32 results; the converter
warns, naming the op, when no fix applies; a parameter past fp16's range is named too."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from benchmark.emulated.arm_runtime import run_lite
from converter.cli.main import main as convert_main
from converter.opt.run import run_opt
from converter.pipeline.fp16_risks import fp16_warnings
from converter.program.graph_fixes import fix_program
from converter.reference.desktop import ReferenceRunner
from converter.sources.model_files import ModelFiles
from tests.runs import manifest_of

pytestmark = pytest.mark.slow
GATE_INPUT = (1, 18, 1, 1)


def _files(folder: Path) -> ModelFiles:
    return ModelFiles(folder, folder / "model.pdmodel", folder / "model.pdiparams", "pdmodel")


def _arm(folder: Path, precision: str, x: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    nb = run_opt("gate", _files(folder), "arm", precision, out_stem=folder / f"arm-{precision}", timeout_s=300)
    return run_lite(nb, x, precision=precision).reshape(72)


def test_the_gate_reads_past_its_filter_in_fp16_and_the_fix_removes_it(  # type: ignore[no-untyped-def]
    arm_runtime, tiny_models: Callable[[str], Path], tmp_path: Path
) -> None:
    src = tmp_path / "gate"
    shutil.copytree(tiny_models("gemvtail"), src)
    x = np.random.default_rng(1).random(GATE_INPUT).astype(np.float32)
    (warning,) = fp16_warnings(_files(src), GATE_INPUT)
    assert "conv2d ->" in warning and "18 -> 72 channels" in warning and "output channel 71" in warning
    broken = _arm(src, "fp16", x)
    assert np.nonzero(~np.isfinite(broken))[0].tolist() == [71]  # that channel alone, whatever the input

    result = fix_program((src / "model.pdmodel").read_bytes(), "gate", GATE_INPUT)
    assert result.rewrites == {"fp16_gemv_tail": 1} and result.ops_after == result.ops_before + 2
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    (fixed / "model.pdmodel").write_bytes(result.program)
    shutil.copy(src / "model.pdiparams", fixed / "model.pdiparams")
    assert fp16_warnings(_files(fixed), GATE_INPUT) == []
    (want,) = ReferenceRunner(src / "model.pdmodel", src / "model.pdiparams").run([x]).values()
    (got,) = ReferenceRunner(fixed / "model.pdmodel", fixed / "model.pdiparams").run([x]).values()
    assert got.shape == want.shape == (1, 72, 1, 1) and np.array_equal(got, want)  # the same arithmetic
    fp16 = _arm(fixed, "fp16", x)
    assert np.isfinite(fp16).all() and np.abs(fp16 - want.reshape(72)).max() < 1e-2
    np.testing.assert_allclose(fp16[:71], broken[:71], atol=1e-2)  # the other channels were right before
    assert np.abs(_arm(fixed, "fp32", x) - want.reshape(72)).max() < 1e-5


def test_the_converter_rewrites_the_gate_and_warns_when_no_fix_applies(  # type: ignore[no-untyped-def]
    arm_runtime, tiny_models: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "segate"
    shutil.copytree(tiny_models("segate"), folder)
    argv = ["model", str(folder), "--targets", "arm", "--precision", "fp32,fp16"]
    assert convert_main([*argv, "--out", str(tmp_path / "fixed")]) == 0
    assert "fp16 on ARM" not in capsys.readouterr().err
    fixes = manifest_of(tmp_path / "fixed" / "segate").graph_fixes
    assert fixes is not None and fixes.status == "applied" and fixes.rewrites_by_kind == {"fp16_gemv_tail": 1}
    assert fixes.parity_max_abs_diff is not None and fixes.parity_max_abs_diff <= 1e-6

    assert convert_main([*argv, "--out", str(tmp_path / "unfixed"), "--no-graph-fixes"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "fp16 on ARM" in line]
    assert len(lines) == 1 and "segate" in lines[0] and "output channel 71" in lines[0], err
    assert any("output channel 71" in w for w in manifest_of(tmp_path / "unfixed" / "segate").warnings)
