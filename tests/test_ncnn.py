"""ncnn beside Paddle-Lite: the conversion (paddle2onnx + pnnx, each hop checked on the desktop against Paddle
Inference), its record in the manifest, a failure that leaves the .nb files alone, and both runtimes' real ARM
kernels side by side under QEMU (instructions per inference, first-inference parity)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmark.records.runs import RuntimesRun
from converter.cli.main import main as convert_main
from tests.conftest import HUMAN_V1, PORTRAIT_V2, SUFFIX, built_once, labelled_subset
from tests.runs import latest, manifest_of

bench_cli = importlib.import_module("benchmark.cli.main")


def _convert(small: Path, out: Path, *extra: str) -> int:
    argv = ["model", str(small), "--name", "small", "--out", str(out), "--precision", "fp32,fp16"]
    return convert_main([*argv, "--runtimes", "paddle-lite,ncnn", *extra])


@pytest.fixture(scope="module")
def small_ncnn(tiny_models: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_once(tmp_path_factory, "ncnn-small", lambda out: _check(_convert(tiny_models("small"), out)))


def _check(rc: int) -> None:
    assert rc == 0


def test_a_model_converts_to_ncnn_checked_hop_by_hop(small_ncnn: Path, tiny_models: Callable[[str], Path]) -> None:
    m = manifest_of(small_ncnn / "small")
    info = m.ncnn
    assert info is not None and info.status == "converted", info
    assert info.tools == {"paddle2onnx": "1.3.1", "pnnx": "20261020", "ncnn": "1.0.20261020"}
    assert info.onnx is not None and info.ncnn_x86 is not None
    assert info.onnx.max_abs_diff <= 1e-4 and info.ncnn_x86.max_abs_diff <= 1e-4 and info.ncnn_x86.images == 4
    assert (small_ncnn / "small" / "ncnn" / "model.ncnn.param").is_file()
    assert sorted(m.files) == ["arm-fp16.nb", "arm-fp32.nb", "x86-fp32.nb"]  # the Paddle-Lite files as always
    param = small_ncnn / "small" / "ncnn" / "model.ncnn.param"
    before = param.stat().st_mtime_ns
    assert _convert(tiny_models("small"), small_ncnn) == 0  # up to date: nothing converted again
    assert param.stat().st_mtime_ns == before


def test_an_ncnn_failure_is_classified_and_the_nb_files_stand(
    tiny_models: Callable[[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("converter.pipeline.ncnn_target.TOLERANCE", 0.0)  # every hop now "differs"
    assert _convert(tiny_models("small"), tmp_path) == 1
    out = capsys.readouterr()
    info = manifest_of(tmp_path / "small").ncnn
    assert info is not None and info.status == "failed" and info.error_kind == "parity"
    assert "differs from Paddle Inference" in (info.error or "") and "ncnn:" in out.err + out.out
    assert (tmp_path / "small" / "arm-fp32.nb").is_file() and not (tmp_path / "small" / "ncnn").exists()


def test_split_into_equal_parts_gets_its_sections(models_dir: Path) -> None:
    """paddle2onnx writes an equal split as an ONNX Split without sizes, which ncnn turns into a crashing Slice."""
    from paddle.base import core

    from converter.program.static_shapes import static_program

    data = (models_dir / (HUMAN_V1 + SUFFIX) / "model.pdmodel").read_bytes()
    program, rewrites = static_program(data, (1, 3, 192, 192))
    desc = core.ProgramDesc(program)
    block = desc.block(0)
    splits = [block.op(i) for i in range(block.op_size()) if block.op(i).type() == "split"]
    assert splits and all(op.attr("num") == 0 and len(op.attr("sections")) == 2 for op in splits)
    assert rewrites["split_sections"] == len(splits) == 10


def test_an_upsample_of_a_1x1_source_becomes_nearest(models_dir: Path) -> None:
    """ncnn's fp16 bilinear kernel reads before a 1-pixel source; nearest of a 1x1 source is the same broadcast."""
    from paddle.base import core

    from converter.program.static_shapes import static_program

    data = (models_dir / (PORTRAIT_V2 + SUFFIX) / "model.pdmodel").read_bytes()
    program, rewrites = static_program(data, (1, 3, 144, 256))
    desc = core.ProgramDesc(program)  # kept: a block does not keep its desc alive
    block = desc.block(0)
    types = [block.op(i).type() for i in range(block.op_size())]
    assert rewrites.get("upsample_1x1_nearest") == types.count("nearest_interp_v2") == 1


@pytest.mark.slow
def test_both_runtimes_side_by_side_on_the_arm_core(
    small_ncnn: Path, arm_runtime: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every variant of both runtimes counted and judged on the same emulated core: first-inference parity against
    desktop fp32, and mIoU on labelled photos beside desktop fp32's (the ncnn-to-Paddle-Lite ratio on portrait
    V2-Lite is asserted by the bench in tests/test_ncnn_device.py, which measures the same four variants)."""
    dataset = labelled_subset(data_dir, tmp_path / "ds", 2)
    argv = ["runtimes", "--converted", "small", "--out", str(small_ncnn), "--reports", str(tmp_path / "r")]
    assert bench_cli.main([*argv, "--dataset", str(dataset), "--max-images", "2"]) == 0, capsys.readouterr()
    run = latest(tmp_path / "r", RuntimesRun)
    got = {(r.runtime, r.precision): r for r in run.records}
    assert set(got) == {("paddle-lite", "fp32"), ("paddle-lite", "fp16"), ("ncnn", "fp32"), ("ncnn", "fp16")}
    for r in got.values():
        assert r.status == "ok" and r.insns_per_inference and r.insns_per_inference > 0 and r.images == 2
        assert r.non_finite == 0 and r.max_abs_diff is not None and r.max_abs_diff < 5e-2 and r.passed is True
        assert r.labelled_images == 2 and r.miou is not None and r.desktop_miou is not None
    assert got["ncnn", "fp32"].max_abs_diff < 1e-4 and got["ncnn", "fp32"].runtime_version.startswith("1.0.")


def test_the_report_shows_the_runtimes_side_by_side(tmp_path: Path) -> None:
    from benchmark.records.rows import RuntimeRecord
    from benchmark.records.run_files import new_run_path, write_run
    from benchmark.report.build import build_report

    def rec(runtime: str, precision: str, insns: int) -> RuntimeRecord:
        return RuntimeRecord(model="m", runtime=runtime, runtime_version="v", precision=precision, phone="sd855-arm",
                             cpu="max", status="ok", insns_per_inference=insns, images=1, max_abs_diff=1e-6,
                             argmax_agreement=1.0)  # fmt: skip

    records = [
        rec("paddle-lite", "fp32", 80_000_000),
        rec("paddle-lite", "fp16", 50_000_000),
        rec("ncnn", "fp16", 30_000_000),
    ]
    write_run(new_run_path("runtimes", tmp_path), RuntimesRun(tolerance={"fp16": 5e-2}, records=records))
    _, md, _ = build_report(tmp_path, tmp_path / "models")
    text = md.read_text()
    assert "## Runtimes: Paddle-Lite and ncnn on one ARM core" in text
    assert "| m | sd855-arm | ncnn | fp16 | 30.00 | 0.60x | 0.38x |" in text


def test_a_first_inference_with_nan_fails_whatever_its_diff() -> None:
    from benchmark.parity.runtimes import judge
    from benchmark.records.rows import RuntimeRecord
    from converter.schema.zoo import Tolerance

    base = RuntimeRecord(model="m", runtime="ncnn", runtime_version="v", precision="fp16", phone="p", cpu="max",
                         status="ok", images=1, max_abs_diff=1e-3, argmax_agreement=1.0)  # fmt: skip
    t = Tolerance(max_abs_diff=5e-2, min_argmax_agreement=0.99)
    assert judge(base, t).passed is True
    nan = judge(base.model_copy(update={"non_finite": 7}), t)
    assert nan.passed is False and "7 inf/NaN" in (nan.gate_failure or "")
    far = judge(base.model_copy(update={"max_abs_diff": 0.2}), t)
    assert far.passed is False and "0.2 > 0.05" in (far.gate_failure or "")
    skipped = judge(base.model_copy(update={"status": "skipped"}), t)
    assert skipped.passed is None  # nothing measured: no verdict
