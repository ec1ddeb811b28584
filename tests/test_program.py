from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from converter.program.read import TrainingProgramError, read_program
from converter.sources.model_format import ModelFormatError
from tests.conftest import PORTRAIT_V1, SUFFIX


def test_real_program(models_dir: Path) -> None:
    info = read_program(models_dir / (PORTRAIT_V1 + SUFFIX) / "model.pdmodel")
    assert [(t.name, t.dims, t.dtype) for t in info.inputs] == [("x", (-1, 3, -1, -1), "float32")]
    assert [(t.name, t.dtype) for t in info.outputs] == [("softmax_0.tmp_0", "float32")]
    assert info.op_counts()["softmax"] == 1 and "transpose2" in info.op_counts()


def test_garbage_program_is_rejected_before_native_code(tmp_path: Path) -> None:
    bad = tmp_path / "model.pdmodel"
    bad.write_bytes(os.urandom(5000))
    with pytest.raises(ModelFormatError, match="corrupt"):
        read_program(bad)
    bad.write_bytes(b"")
    with pytest.raises(ModelFormatError, match="empty"):
        read_program(bad)


@pytest.mark.slow
def test_training_program(tiny_models: Callable[[str], Path]) -> None:
    with pytest.raises(TrainingProgramError, match="sgd") as e:
        read_program(tiny_models("train") / "model.pdmodel")
    assert "save_inference_model" in str(e.value)
