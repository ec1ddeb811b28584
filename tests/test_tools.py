"""The interpreter finder the Makefile relies on."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import REPO

FINDER = REPO / "tools" / "find-python310"


def test_finds_a_python_310() -> None:
    res = subprocess.run([str(FINDER)], capture_output=True, text=True, timeout=60, check=True)
    exe = res.stdout.strip()
    assert Path(exe).is_file()
    version = subprocess.run(
        [exe, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, timeout=60, check=True
    )
    assert version.stdout.strip() == "(3, 10)"


def test_explains_what_to_install_when_there_is_none(tmp_path: Path) -> None:
    # A PATH with a bash but no python3.10, pyenv or uv.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sort", "tail", "grep", "cat", "env"):
        for d in ("/usr/bin", "/bin"):
            if (Path(d) / tool).exists():
                (bin_dir / tool).symlink_to(Path(d) / tool)
                break
    res = subprocess.run(
        ["/bin/bash", str(FINDER)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
    )
    assert res.returncode == 1 and res.stdout == ""
    assert "no Python 3.10 interpreter found" in res.stderr and "pyenv install 3.10" in res.stderr
