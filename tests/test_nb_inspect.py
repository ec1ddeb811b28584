from __future__ import annotations

from pathlib import Path

import pytest

from converter.cli.main import main as converter_main
from converter.nb.inspect import NbFormatError, inspect_nb


def test_third_party_v291_files(models_dir: Path) -> None:
    files = sorted((models_dir / "prebuilt_nb_opt_v2.9.1").glob("*.nb"))
    assert len(files) == 2
    for f in files:
        info = inspect_nb(f)
        assert info.target == "arm"
        assert info.opt_version == "v2.9.1"
        assert info.meta_version == 2
        assert info.op_counts["conv2d"] > 20 and info.op_counts["feed"] == 1


def test_inspect_cli(models_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = models_dir / "prebuilt_nb_opt_v2.9.1" / "pphumanseg_lite_generic_192x192_with_softmax.nb"
    assert converter_main(["inspect", str(f)]) == 0
    out = capsys.readouterr().out
    assert "target arm" in out and "opt version v2.9.1" in out


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x02\x00v2", "too short"),
        (
            b"\x07\x00" + b"v2.13".ljust(16, b"\0") + (100).to_bytes(8, "little") + b"\0" * 100,
            "meta version 7",
        ),
        (b"\x00\x00" + b"".ljust(16, b"\0") + (10).to_bytes(8, "little") + b"\0" * 10, "pre-v2.7"),
        (b"\x02\x00" + b"v2.13".ljust(16, b"\0") + (10**6).to_bytes(8, "little") + b"\0" * 100, "truncated"),
        (
            b"\x02\x00" + b"v2.13".ljust(16, b"\0") + (100).to_bytes(8, "little") + b"\1" * 100,
            "no kernel keys",
        ),
    ],
)
def test_bad_files(tmp_path: Path, data: bytes, expected: str) -> None:
    f = tmp_path / "x.nb"
    f.write_bytes(data)
    with pytest.raises(NbFormatError, match=expected):
        inspect_nb(f)


def test_truncated_real_file_cli(models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = models_dir / "prebuilt_nb_opt_v2.9.1" / "pphumanseg_lite_generic_192x192_with_softmax.nb"
    f = tmp_path / "cut.nb"
    f.write_bytes(src.read_bytes()[:5000])
    assert converter_main(["inspect", str(f)]) == 1
    err = capsys.readouterr().err
    assert "truncated" in err and str(f) in err and "Traceback" not in err
