"""Paddle 3 PIR exports: the op table against Paddle 2.6's own op definitions, the translation of the small PIR
exports in tests/data/pir (written by Paddle 3.3.1, tests/pir_fixtures.py), the folders users have, and bad input:
one line naming the file and the op / attribute, exit 1 for that model, the other models still converted, nothing
half-written. Against Paddle 3 Inference itself: tests/test_pir_exports.py."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from converter.cli.main import main as convert_main
from converter.pir.json_format import KNOWN_VERSIONS, PirFormatError, read_pir
from converter.pir.op_table import AttrOperand, load_pir_table
from converter.pir.params import ParamsMismatch, check_params
from converter.pir.translate import PirTranslationError, translate
from converter.program.read import read_program
from converter.sources.model_files import PIR, find_model_files
from converter.sources.model_format import ModelFormatError
from converter.sources.paddlex_yml import read_inference_yml
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "pir"


def _copy(name: str, dest: Path) -> Path:
    shutil.copytree(DATA / name, dest)
    return dest


def _edit_json(folder: Path, edit: object) -> None:
    path = folder / "model.json"
    data = json.loads(path.read_text())
    edit(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))


def test_every_mapping_names_what_paddle_26_defines() -> None:
    from paddle.base import framework

    protos = framework.OpProtoHolder.instance()
    for pir_name, m in load_pir_table().ops.items():
        proto = protos.get_op_proto(m.type)
        ins, outs = {i.name for i in proto.inputs}, {o.name for o in proto.outputs}
        attrs = {a.name for a in proto.attrs}
        slots = [s for s in m.inputs if isinstance(s, str)]
        assert set(slots) <= ins, (pir_name, set(slots) - ins)
        assert {s for s in m.outputs if s} <= outs, (pir_name, m.outputs)
        folded = {n for s in m.inputs if isinstance(s, AttrOperand) for n in s.names}
        named = folded | set(m.rename.values()) | set(m.set) | set(m.input_dtype)
        assert named <= attrs, (pir_name, named - attrs)
        assert set(m.in_place) <= outs and set(m.in_place.values()) <= set(slots), pir_name


@pytest.mark.parametrize("name", ["mobile", "extra"])
def test_a_pir_export_becomes_a_paddle_26_program(name: str, tmp_path: Path) -> None:
    program = read_pir(DATA / name / "model.json")
    assert program.version in KNOWN_VERSIONS
    check_params(DATA / name / "model.pdiparams", program.parameters())
    result = translate(program)
    (tmp_path / "model.pdmodel").write_bytes(result.program)
    info = read_program(tmp_path / "model.pdmodel")  # the toolkit's own check of a program
    assert [t.name for t in info.inputs] == ["x"]
    assert [t.name for t in info.outputs] == list(result.outputs)
    assert result.outputs[0] == "fetch_name_0"
    pir_types = {op.name for op in program.ops if op.dialect == "pd_op"} - {"data", "fetch", "full", "full_int_array"}
    table = load_pir_table()
    legacy = {table.ops[t].type for t in pir_types if t not in ("shape64", "slice", "stack", "cast")}
    assert legacy <= set(result.op_counts), legacy - set(result.op_counts)
    if name == "mobile":  # the channel shuffle's run-time shape and the resize's size are folded at 1x3x32x48
        assert result.folded > 10 and "shape" not in result.op_counts and "stack" not in result.op_counts


def test_paddlex_and_paddleseg_folders(tmp_path: Path) -> None:
    seg = _copy("mobile", tmp_path / "seg")  # PaddleSeg 2.8's export on Paddle 3: deploy.yaml names model.pdmodel
    (seg / "deploy.yaml").write_text(
        "Deploy:\n  model: model.pdmodel\n  params: model.pdiparams\n  output_op: softmax\n"
        "  transforms:\n  - type: Resize\n    target_size: [48, 32]\n  - type: Normalize\n"
    )
    files = find_model_files(seg)
    assert (files.layout, files.model_file.name) == (PIR, "model.json")
    assert files.deploy is not None and files.deploy.target_size_wh == (48, 32)
    pdx = tmp_path / "paddlex"
    pdx.mkdir()
    shutil.copy(DATA / "mobile" / "model.json", pdx / "inference.json")
    shutil.copy(DATA / "mobile" / "model.pdiparams", pdx / "inference.pdiparams")
    (pdx / "inference.yml").write_text(
        "Global:\n  model_name: PP-LCNet_x1_0\nPreProcess:\n  transform_ops:\n  - ResizeImage:\n"
        "      resize_short: 256\n  - CropImage:\n      size: 224\n  - NormalizeImage:\n      channel_num: 3\n"
        "      mean: [0.485, 0.456, 0.406]\n      order: ''\n      scale: 0.00392156862745098\n"
        "      std: [0.229, 0.224, 0.225]\n  - ToCHWImage: null\n"
    )
    files = find_model_files(pdx)
    assert (files.layout, files.model_file.name, files.params_file.name) == (
        PIR,
        "inference.json",
        "inference.pdiparams",
    )
    dep = read_inference_yml(pdx / "inference.yml")
    assert dep.target_size_wh == (224, 224) and dep.mean == (0.485, 0.456, 0.406)
    assert any("CropImage" in t for t in dep.unsupported_transforms)


def test_a_folder_with_both_formats_is_refused(tmp_path: Path) -> None:
    folder = _copy("mobile", tmp_path / "both")
    (folder / "model.pdmodel").write_bytes(b"\0")
    with pytest.raises(ModelFormatError, match="both formats"):
        find_model_files(folder)


def _newer(data: dict) -> None:  # type: ignore[type-arg]
    data["base_code"]["version"] = max(KNOWN_VERSIONS) + 1


def _unknown_op(data: dict) -> None:  # type: ignore[type-arg]
    ops = data["program"]["regions"][0]["blocks"][0]["ops"]
    next(op for op in ops if op["#"] == "1.hardswish")["#"] = "1.hardswish_v9"


def _unknown_attr(data: dict) -> None:  # type: ignore[type-arg]
    ops = data["program"]["regions"][0]["blocks"][0]["ops"]
    conv = next(op for op in ops if op["#"] == "1.conv2d")
    conv["A"].append({"AT": {"#": "0.a_i32", "D": 1}, "N": "winograd_tiles"})


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("newer_version", "PIR format version 5, newer than this toolkit reads"),
        ("unknown_op", "pd_op.hardswish_v9: no Paddle 2.6 op is known for it"),
        ("unknown_attribute", "attribute 'winograd_tiles' has no counterpart in Paddle 2.6's conv2d"),
        ("other_params", "it holds 9 tensors, the program declares 15 parameters"),
        ("truncated_params", "ends inside tensor"),
        ("truncated_json", "not a PIR program"),
    ],
)
def test_bad_pir_input_is_one_line_and_the_other_models_still_convert(
    setup: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_models: Callable[[str], Path]
) -> None:
    bad = _copy("mobile", tmp_path / "bad")
    if setup == "newer_version":
        _edit_json(bad, _newer)
    elif setup == "unknown_op":
        _edit_json(bad, _unknown_op)
    elif setup == "unknown_attribute":
        _edit_json(bad, _unknown_attr)
    elif setup == "other_params":
        shutil.copy(DATA / "extra" / "model.pdiparams", bad / "model.pdiparams")
    elif setup == "truncated_params":
        data = (bad / "model.pdiparams").read_bytes()
        (bad / "model.pdiparams").write_bytes(data[: len(data) // 2])
    elif setup == "truncated_json":
        text = (bad / "model.json").read_text()
        (bad / "model.json").write_text(text[: len(text) // 2])
    good = shutil.copytree(tiny_models("small"), tmp_path / "good")  # (a PIR one: tests/test_pir_exports.py)
    out = tmp_path / "out"
    rc = convert_main(["model", str(bad), str(good), "--out", str(out), "--targets", "x86", "--no-graph-fixes"])
    cap = capsys.readouterr()
    assert rc == 1
    errors = [line for line in cap.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0] and str(bad) in errors[0], cap.err
    assert "Traceback" not in cap.err
    assert not (out / "bad").exists()  # nothing half-written
    assert (out / "good" / "x86-fp32.nb").is_file()


def test_errors_carry_their_facts(tmp_path: Path) -> None:
    bad = _copy("mobile", tmp_path / "bad")
    _edit_json(bad, _unknown_op)
    with pytest.raises(PirTranslationError) as err:
        translate(read_pir(bad / "model.json"))
    assert (err.value.op, err.value.path) == ("pd_op.hardswish_v9", bad / "model.json")
    with pytest.raises(ParamsMismatch) as mismatch:
        check_params(DATA / "extra" / "model.pdiparams", read_pir(bad / "model.json").parameters())
    assert mismatch.value.params_file == DATA / "extra" / "model.pdiparams"
    _edit_json(bad, _newer)
    with pytest.raises(PirFormatError, match="newer than this toolkit reads"):
        read_pir(bad / "model.json")
