"""One exit-code table for every command (converter.base.errors.ExitCode). Every subcommand against every class of bad
input: tests/test_command_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from android_demo import goldens
from converter.base.errors import ExitCode
from converter.cli.main import main as convert_main


def test_converter_and_android_demo_use_the_same_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert convert_main(["zoo", "--models", "no_such_model", "--offline"]) == ExitCode.USAGE
    assert "unknown model(s) no_such_model" in capsys.readouterr().err
    assert goldens.main(["--model-dir", str(tmp_path), "--images", str(tmp_path / "none")]) == ExitCode.USAGE
    assert "images folder" in capsys.readouterr().err
    assert (ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.INTERRUPTED) == (0, 1, 2, 130)
