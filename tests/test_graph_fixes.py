"""Graph fixes before opt: a Paddle 2.6 export of a small conv+bias+bn+relu network (built here with paddle) is
rewritten, its .nb loses the unfused ops and computes the same; the shared (older) exports pass through
byte-identical; a malformed program is reported; a fix that changes results is rejected; the flag turns it off."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.host.lite import LiteHostRunner
from converter.cli.main import main as convert_main
from converter.program.graph_fixes import fix_program
from converter.sources.model_format import ModelFormatError
from tests.conftest import HUMAN_V1, PORTRAIT_V1, PORTRAIT_V2
from tests.runs import manifest_of

pytestmark = pytest.mark.slow
SHAPE = "1,3,64,64"


@pytest.fixture(scope="module")
def paddle26_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """conv(bias) + batch_norm + relu, dropout, conv(bias), an upsample sized from the input, softmax."""
    import paddle

    class Net(paddle.nn.Layer):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.c1 = paddle.nn.Conv2D(3, 8, 3, padding=1, stride=2)
            self.bn = paddle.nn.BatchNorm2D(8)
            self.drop = paddle.nn.Dropout(0.2)
            self.c2 = paddle.nn.Conv2D(8, 2, 1)

        def forward(self, x):  # type: ignore[no-untyped-def]
            y = paddle.nn.functional.relu(self.bn(self.c1(x)))
            y = self.c2(self.drop(y))
            y = paddle.nn.functional.interpolate(y, size=paddle.shape(x)[2:], mode="bilinear")
            return paddle.nn.functional.softmax(y, axis=1)

    paddle.disable_static()
    paddle.seed(3)
    net = Net()
    net.eval()
    spec = [paddle.static.InputSpec([1, 3, 64, 64], "float32", "x")]
    folder = tmp_path_factory.mktemp("paddle26") / "smallnet"
    paddle.jit.save(paddle.jit.to_static(net, input_spec=spec, full_graph=True), str(folder / "model"))
    return folder


def _convert(folder: Path, out: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    rc = convert_main(["model", str(folder), "--input-shape", SHAPE, "--targets", "x86", "--out", str(out), *extra])
    assert rc == 0
    return manifest_of(out / folder.name)


def test_paddle26_export_is_rewritten(paddle26_export: Path, tmp_path: Path) -> None:
    data = _convert(paddle26_export, tmp_path)
    gf = data.graph_fixes
    assert gf.status == "applied"
    assert gf.rewrites == 4
    assert gf.rewrites_by_kind == {"conv_bias_reshape": 2, "inference_dropout": 1, "static_interp_size": 1}
    assert gf.parity_max_abs_diff <= 1e-5 and gf.parity_images == 4
    before, after = gf.ops_before["x86"], gf.ops_after["x86"]
    assert sum(after.values()) < sum(before.values())
    assert {"reshape2", "batch_norm", "relu", "dropout", "shape"} <= set(before)
    assert not {"reshape2", "batch_norm", "relu", "dropout", "shape", "slice"} & set(after)
    model_dir = tmp_path / paddle26_export.name
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 64, 64)).astype(np.float32)
    fixed = LiteHostRunner(model_dir / "x86-fp32.nb").run_batch([[x]]).outputs[0]
    unfixed = LiteHostRunner(model_dir / "unfixed" / "x86-fp32.nb").run_batch([[x]]).outputs[0]
    (name,) = fixed
    assert float(np.abs(fixed[name] - unfixed[name]).max()) <= 1e-5
    assert (model_dir / "fixed_model" / "model.pdmodel").is_file()


def test_fix_rejected_when_results_change(paddle26_export: Path, tmp_path: Path) -> None:
    from converter.pipeline.convert import convert_folder
    from converter.sources.spec import GraphFixSettings

    outcome = convert_folder(
        paddle26_export,
        input_shape=(1, 3, 64, 64),
        targets=("x86",),
        out_root=tmp_path,
        fixes=GraphFixSettings(tolerance=1e-12),  # float reassociation alone exceeds this
    )
    assert outcome.ok
    assert any("graph fixes rejected" in w and "converting the original" in w for w in outcome.warnings)
    data = manifest_of(tmp_path / paddle26_export.name)
    assert data.graph_fixes.status == "rejected"
    assert "reshape2" in data.files["x86-fp32.nb"].op_counts
    assert not (tmp_path / paddle26_export.name / "fixed_model").exists()


def test_flag_turns_the_pass_off(paddle26_export: Path, tmp_path: Path) -> None:
    _convert(paddle26_export, tmp_path)
    data = _convert(paddle26_export, tmp_path, "--no-graph-fixes")  # the setting changed: rebuilt
    assert data.graph_fixes.status == "disabled"
    assert "reshape2" in data.files["x86-fp32.nb"].op_counts
    assert not (tmp_path / paddle26_export.name / "unfixed").exists()


@pytest.mark.parametrize("model", [PORTRAIT_V1, PORTRAIT_V2, HUMAN_V1])
def test_older_exports_pass_through_unchanged(models_dir: Path, model: str) -> None:
    program = (models_dir / f"{model}_inference_model_with_softmax" / "model.pdmodel").read_bytes()
    result = fix_program(program)
    assert result.total == 0 and result.program == program  # byte-identical


def test_zoo_model_needing_only_the_fp16_rewrite(  # type: ignore[no-untyped-def]
    bench_out: Path, tiny_models, tmp_path: Path
) -> None:
    """The official portrait V2-Lite export has nothing of the Paddle 2.5+ forms; its five squeeze-excitation gates
    match the ARM fp16 gemv rule and are rewritten, with the same desktop outputs. A model with nothing to rewrite
    goes to opt as it is."""
    data = manifest_of(bench_out / PORTRAIT_V2)
    fixes = data.graph_fixes
    assert fixes.status == "applied" and fixes.rewrites_by_kind == {"fp16_gemv_tail": 5}
    assert fixes.program_ops_after == fixes.program_ops_before + 10 and fixes.parity_max_abs_diff == 0.0
    assert Path(data.source.folder).name.startswith(PORTRAIT_V2)
    assert (bench_out / PORTRAIT_V2 / "fixed_model").is_dir()
    folder = tmp_path / "small"
    shutil.copytree(tiny_models("small"), folder)
    assert convert_main(["model", str(folder), "--out", str(tmp_path / "out"), "--targets", "x86"]) == 0
    small = manifest_of(tmp_path / "out" / "small")
    assert small.graph_fixes.status == "not_needed" and small.graph_fixes.rewrites == 0
    assert not (tmp_path / "out" / "small" / "fixed_model").exists()


def test_channel_shuffles_get_static_shapes_and_fuse(models_dir: Path, copy_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """V1-Lite's channel shuffles reshape to shapes computed at run time (fill_constant, slice(shape(t))); at its
    fixed input shape they become attributes, and opt fuses reshape2 + transpose2 + reshape2 into shuffle_channel."""
    program = (models_dir / f"{PORTRAIT_V1}_inference_model_with_softmax" / "model.pdmodel").read_bytes()
    result = fix_program(program, "v1", (1, 3, 224, 398))
    assert result.rewrites == {"static_reshape_shape": 24} and result.ops_after < result.ops_before - 80
    assert fix_program(program, "v1").total == 0  # no fixed input shape: left alone
    folder = copy_model(PORTRAIT_V1)
    out = tmp_path / "out"
    assert convert_main(["model", str(folder), "--name", "v1", "--targets", "arm", "--out", str(out)]) == 0
    data = manifest_of(out / "v1")
    fixes = data.graph_fixes
    assert fixes.status == "applied" and fixes.parity_max_abs_diff <= 1e-4  # within the fp32 tolerance
    ops = data.files["arm-fp32.nb"].op_counts
    assert ops.get("shuffle_channel") == 12 and "transpose2" not in ops and "fill_constant" not in ops


def test_malformed_program_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ModelFormatError, match="not a Paddle program"):
        fix_program(b"\x08\x96\x01 this is not a program", "bad.pdmodel")
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "model.pdmodel").write_bytes(b"\xff\xfe garbage \x00" * 10)
    (folder / "model.pdiparams").write_bytes(b"\x00" * 64)
    rc = convert_main(["model", str(folder), "--input-shape", SHAPE, "--out", str(tmp_path / "out")])
    err = capsys.readouterr()
    assert rc != 0 and "Traceback" not in err.out + err.err
    assert "not a Paddle program" in err.out + err.err
    assert not (tmp_path / "out" / "broken").exists()
