"""One exit-code table for every command (converter.base.errors.ExitCode): 2 when the command cannot start (bad input,
nothing to run), with an `error: ...` line and no traceback; 1 when some of its work failed; 0 when all succeeded."""

from __future__ import annotations

from pathlib import Path

import pytest

from android_demo import goldens
from benchmark.cli import main as bench_main
from converter.base.errors import ExitCode
from converter.cli.main import main as convert_main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "--reports", "/nonexistent/reports"], "does not exist: run a benchmark or parity first"),
        (["host-run", "/nonexistent/x86-fp32.nb"], "no such file"),
        (["host-profile", "/nonexistent/x86-fp32.nb"], "no such file"),
        (["host-profile", "/nonexistent/x86-fp32.nb", "--runs", "0"], "--runs must be >= 1"),
        (["parity", "--models", "no_such_model", "--offline"], "unknown model(s) no_such_model"),
        (["sweep", "--model", "portrait_pp_humansegv2_lite_256x144"], "give --shapes WxH,... or --range"),
        (["bench-emulated", "--devices", "0"], "--devices must be >= 1"),
        (["farm-scaling", "--devices", "1", "--offline"], "--devices must be >= 2"),
        (["graph-fixes", "--rounds", "0"], "--rounds and --repeats must be >= 1"),
        (["latency", "--adb", "127.0.0.1:1", "--offline", "--no-parity"], "no adb server at 127.0.0.1:1"),
        (["int8-study", "--models", "no_such_model", "--dataset", "/nonexistent"], "unknown model(s) no_such_model"),
        (["int8-study", "--dataset", "/nonexistent/set"], "must contain Images/ and Annotations/"),
        (["int8-study", "--dataset", "/nonexistent/set", "--groups", "-1"], "--groups must be >= 0"),
    ],
)
def test_benchmark_commands_that_cannot_start_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = bench_main(argv)
    err = capsys.readouterr().err
    assert rc == ExitCode.USAGE == 2 and "error: " in err and message in err and "Traceback" not in err


def test_converter_and_android_demo_use_the_same_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert convert_main(["zoo", "--models", "no_such_model", "--offline"]) == ExitCode.USAGE
    assert "unknown model(s) no_such_model" in capsys.readouterr().err
    assert goldens.main(["--model-dir", str(tmp_path), "--images", str(tmp_path / "none")]) == ExitCode.USAGE
    assert "images folder" in capsys.readouterr().err
    assert (ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.INTERRUPTED) == (0, 1, 2, 130)
