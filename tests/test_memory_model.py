"""The memory side of the cost model: the cache-simulating QEMU plugin on an ARM emulated phone (`profile-arm
--caches`: misses per inference at each level of the class's big core) and the study that fits each form of the
model with and without miss terms (`calibrate --memory-study`)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from benchmark.profile.cost_model import GROUPS
from benchmark.profile.memory_study import StudyPoint, study
from benchmark.records.runs import LatencyRun
from tests.conftest import HUMAN_V1
from tests.runs import latest

bench_cli = importlib.import_module("benchmark.cli.main")


def test_a_miss_term_is_found_where_misses_explain_the_time() -> None:
    """Synthetic phone figures made of instructions at fixed rates plus 80 ns per L2 miss: the form with the L2 term
    recovers the penalty and leaves every point out within a fraction of a percent; instructions alone cannot."""
    dense, mem = GROUPS[0], GROUPS[-1]
    pts = []
    for i, (insns, misses) in enumerate([(300e6, 1.0e6), (160e6, 2.5e6), (120e6, 0.4e6), (40e6, 1.6e6), (900e6, 3e6)]):
        row = {dense: insns * 0.8, mem: insns * 0.2, "L2 misses": misses, "L1D misses": misses * 7}
        ms = (insns * 0.8 / 2.0 + insns * 0.2 / 1.0) / 1.8e6 + misses * 80e-6
        pts.append(StudyPoint(f"m{i}", "fp32", ms, row))
    got = {f.form: f for f in study(pts)}
    with_l2 = got["groups + L2 misses"]
    assert with_l2.penalty_ns["L2 misses"] == pytest.approx(80, rel=1e-3) and with_l2.loo_max_pct < 0.5
    assert got["groups (the shipped form)"].loo_rms_pct > 10 * with_l2.loo_rms_pct


@pytest.mark.slow
def test_profile_arm_records_the_simulated_misses(  # type: ignore[no-untyped-def]
    arm_runtime, models_dir: Path, bench_out: Path, tmp_path: Path, capsys
) -> None:
    argv = ["profile-arm", "--phone", "sd625-arm", "--models", HUMAN_V1, "--models-dir", str(models_dir), "--caches"]
    argv += ["--out", str(bench_out), "--offline"]
    assert bench_cli.main([*argv, "--precision", "fp32", "--reports", str(tmp_path)]) == 0, capsys.readouterr().err
    (rec,) = latest(tmp_path, LatencyRun).records
    m = rec.memory_traffic
    assert m is not None and m.geometry == "l1=32:4:64,l2=1024:16:64" and m.l3_misses == 0  # the A53 has no L3
    assert 0 < m.l2_misses <= m.l1_misses < m.accesses < (rec.instructions_per_inference or 0)
    assert "simulated caches" in capsys.readouterr().out
    # the x86 emulated phone runs no ARM code to simulate: refused before any work, exit 2
    assert bench_cli.main([*argv[:2], "sd855", *argv[3:], "--reports", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
