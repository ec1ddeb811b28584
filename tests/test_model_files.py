from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from converter.sources.deploy_yaml import read_deploy_yaml
from converter.sources.model_files import find_model_files
from converter.sources.model_format import ModelFormatError
from tests.conftest import PORTRAIT_V2, SUFFIX


def test_deploy_yaml_paddleseg_26_form(models_dir: Path) -> None:
    info = read_deploy_yaml(models_dir / (PORTRAIT_V2 + SUFFIX) / "deploy.yaml")
    assert info.target_size_wh == (256, 144)
    assert info.mean == info.std == (0.5, 0.5, 0.5)
    assert info.input_shape is None and info.output_op is None


def test_deploy_yaml_paddleseg_28_form(tmp_path: Path) -> None:
    p = tmp_path / "deploy.yaml"
    p.write_text(
        "Deploy:\n  input_shape: [null, 3, null, null]\n  model: model.pdmodel\n  output_dtype: int32\n"
        "  output_op: argmax\n  params: model.pdiparams\n  transforms:\n  - target_size: [192, 192]\n"
        "    type: Resize\n  - mean: [0.4, 0.5, 0.6]\n    std: [0.2, 0.2, 0.2]\n    type: Normalize\n"
        "  - type: Padding\n"
    )
    info = read_deploy_yaml(p)
    assert info.input_shape == (-1, 3, -1, -1)
    assert (info.output_op, info.output_dtype) == ("argmax", "int32")
    assert info.mean == (0.4, 0.5, 0.6) and info.std == (0.2, 0.2, 0.2)
    assert info.unsupported_transforms == ("Padding",)


@pytest.mark.parametrize(("model", "params"), [("__model__", "__params__"), ("model", "params")])
def test_old_layouts_are_recognised(models_dir: Path, tmp_path: Path, model: str, params: str) -> None:
    src = models_dir / (PORTRAIT_V2 + SUFFIX)
    shutil.copy(src / "model.pdmodel", tmp_path / model)
    shutil.copy(src / "model.pdiparams", tmp_path / params)
    files = find_model_files(tmp_path)
    assert (files.model_file.name, files.params_file.name) == (model, params)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="is empty"):
        find_model_files(tmp_path)


def test_missing_params_names_the_file(models_dir: Path, tmp_path: Path) -> None:
    shutil.copy(models_dir / (PORTRAIT_V2 + SUFFIX) / "model.pdmodel", tmp_path / "model.pdmodel")
    with pytest.raises(ModelFormatError, match=r"model\.pdiparams is missing"):
        find_model_files(tmp_path)


def test_a_pir_program_is_found_as_pir(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text('{"program": {}}')
    (tmp_path / "model.pdiparams").write_bytes(b"\0" * 16)
    assert find_model_files(tmp_path).layout == "pir"  # read (and refused) by converter.pir.json_format


def test_not_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ModelFormatError, match="not a folder"):
        find_model_files(f)
    with pytest.raises(ModelFormatError, match="does not exist"):
        find_model_files(tmp_path / "nowhere")
