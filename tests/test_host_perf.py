"""`python -m benchmark host-profile`: Linux perf around the inference loop of a real x86 .nb, samples grouped into
kernel families; what happens without perf, with an ARM .nb, and how symbols are grouped."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.host.perf import FAMILIES, OTHER, family, group, parse_report, perf_usable
from benchmark.records.run_files import read_run
from tests.conftest import PORTRAIT_V2

GEMM = "gemm (MKL sgemm/sgemv: 1x1 and other convs)"

# Lines as `perf report --stdio --no-children --sort sym -g none` prints them (from a run of this toolkit).
REPORT = """\
# Samples: 2K of event 'cpu-clock'
#
# Overhead  Symbol
# ........  ......
#
    27.05%  [.] LM_LOOPgas_1
    10.92%  [.] paddle::lite::x86::math::conv_depthwise_3x3s1_p01_direct
     5.86%  [.] mkl_blas_def_sgemm_copybn
     0.79%  [.] paddle::lite::kernels::x86::BatchNormCompute<float>::Run
     0.57%  [.] paddle::lite::kernels::x86::Activate<paddle::lite::kernels::x86::ReluFunctor<float> >
     0.41%  [.] paddle::lite::OpLite::InferShape
     0.10%  [k] clear_page_erms
"""


def test_symbols_grouped_into_families() -> None:
    rows = parse_report(REPORT)
    assert len(rows) == 7 and rows[0] == ("LM_LOOPgas_1", 27.05)
    assert family("mkl_blas_def_sgemm_copybn") == GEMM and family("LM_LOOPgas_1") == GEMM
    assert family("paddle::lite::x86::math::conv_depthwise_3x3s1_p01_direct") == "conv depthwise"
    assert family("paddle::lite::kernels::x86::BatchNormCompute<float>::Run") == "batch_norm"
    assert family("paddle::lite::OpLite::InferShape") == OTHER
    shares = group(rows)
    assert shares[GEMM] == pytest.approx(32.91) and list(shares)[0] == GEMM  # largest first
    assert sum(shares.values()) == pytest.approx(45.70)


@pytest.mark.slow
def test_profile_of_a_real_model(bench_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = bench_out / PORTRAIT_V2 / "x86-fp32.nb"
    rc = main(["host-profile", str(nb), "--runs", "40", "--reports", str(tmp_path)])
    cap = capsys.readouterr()
    if not perf_usable():  # perf events not allowed on this machine: the command must say so, not crash
        assert rc == 2 and "perf record failed" in cap.err
        return
    assert rc == 0, cap.err
    (run_file,) = tmp_path.glob("host-profile-*.json")
    (record,) = read_run(run_file).records  # type: ignore[attr-defined]
    shares = record.shares_percent
    assert record.samples > 50 and record.runs == 40 and record.median_ms > 0
    assert 99.0 <= sum(shares.values()) <= 101.0  # the loop's samples, all of them grouped
    # a MobileNetV3 net: convolutions dominate. Every convolution family counts: how the time splits between MKL's
    # sgemm and the rest depends on the CPU (on an AVX-512 host sgemm is ~30 %, depthwise ~20 %, epilogues ~4 %)
    convolutions = [name for name, _ in FAMILIES if name.startswith("conv") or name == GEMM]
    assert len(convolutions) == 4 and sum(shares.get(n, 0.0) for n in convolutions) > 50
    assert f"#1: {nb}" in cap.out and "gemm (MKL" in cap.out


def test_without_perf_and_with_an_arm_nb(
    bench_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    arm = bench_out / PORTRAIT_V2 / "arm-fp32.nb"
    assert main(["host-profile", str(arm), "--reports", str(tmp_path)]) == 2
    assert "holds arm kernels: only an x86 .nb runs on this host" in capsys.readouterr().err
    garbage = tmp_path / "garbage.nb"
    garbage.write_bytes(b"garbage")  # no manifest beside it either: the file itself is what is reported
    assert main(["host-profile", str(garbage), "--reports", str(tmp_path)]) == 2
    assert f"{garbage}: 7 bytes is too short for a Paddle-Lite .nb header" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path))  # no perf on PATH
    nb = bench_out / PORTRAIT_V2 / "x86-fp32.nb"
    assert main(["host-profile", str(nb), "--reports", str(tmp_path)]) == 2
    assert "perf (Linux perf) is not installed: install it (Debian/Ubuntu: apt-get install linux-perf)" in (
        capsys.readouterr().err
    )
    assert not list(tmp_path.glob("host-profile-*.json"))  # nothing written for a failed run
