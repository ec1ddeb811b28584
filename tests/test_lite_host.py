"""The isolated Paddle-Lite x86 runner refuses ARM files instead of crashing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.host.lite import LiteHostRunner, LiteRunError
from converter.cli.main import main as convert_main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_out(tiny_models: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny_out")
    assert convert_main(["model", str(tiny_models("small")), "--name", "tiny", "--out", str(out)]) == 0
    return out / "tiny"


def test_arm_nb_is_refused_before_loading(models_dir: Path) -> None:
    arm = models_dir / "prebuilt_nb_opt_v2.9.1" / "pphumanseg_lite_generic_192x192_with_softmax.nb"
    with pytest.raises(LiteRunError, match="holds arm kernels"):
        LiteHostRunner(arm)


def test_arm_nb_via_cli(tiny_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["host-run", str(tiny_out / "arm-fp32.nb")])
    err = capsys.readouterr().err
    assert rc == 2 and "holds arm kernels" in err and "x86-fp32.nb" in err and "Traceback" not in err


def test_x86_nb_runs_and_matches_shapes(tiny_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = LiteHostRunner(tiny_out / "x86-fp32.nb").run_batch([[np.zeros((1, 3, 16, 16), np.float32)]] * 2)
    assert len(res.outputs) == 2 and len(res.run_ms) == 2
    (out,) = res.outputs[0].values()
    assert out.shape == (1, 2, 16, 16)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)  # softmax over the class axis
    assert main(["host-run", str(tiny_out / "x86-fp32.nb")]) == 0
    assert "median run" in capsys.readouterr().out


def test_truncated_x86_nb_is_an_error_not_a_crash(bench_out: Path, tmp_path: Path) -> None:
    data = (bench_out / "human_pp_humansegv1_lite_192x192" / "x86-fp32.nb").read_bytes()
    bad = tmp_path / "bad.nb"
    bad.write_bytes(data[: len(data) // 2])  # header and topology intact, parameters cut: the runtime aborts
    runner = LiteHostRunner(bad)
    with pytest.raises(LiteRunError, match="killed by SIGABRT") as e:
        runner.run_batch([[np.zeros((1, 3, 192, 192), np.float32)]])
    assert str(bad) in str(e.value) and "Failed to read" in str(e.value)
