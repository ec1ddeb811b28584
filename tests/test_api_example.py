"""The Python API example of docs/api.md runs as written (with this machine's model folder)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_the_documented_example_runs(models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (REPO / "docs" / "api.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    code = code.replace('Path("../shared/models")', f"Path({str(models_dir)!r})")
    os.chdir(tmp_path)  # build/ of the example goes here
    try:
        exec(compile(code, "docs/api.md", "exec"), {})  # noqa: S102 - the documentation's own example
    finally:
        os.chdir(REPO)
    out = capsys.readouterr().out
    assert re.search(r"^human_pp_humansegv1_lite_192x192 fp32 ok \d+\.\d+", out, re.M), out
    assert re.search(r"^human_pp_humansegv1_lite_192x192 fp32 pass \d", out, re.M), out  # device parity's verdict
    assert "exit code: 0" in out and list((tmp_path / "build" / "reports").glob("latency-*.json"))
