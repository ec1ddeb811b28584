"""The memory side of the cost model: the cache-simulating QEMU plugin on an ARM emulated phone (`profile-arm
--caches`: misses per inference at each level of the class's big core) and the study that fits each form of the
model with and without miss terms (`calibrate --memory-study`)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from benchmark.profile.cost_model import GROUPS, CostModel, FitPoint, save_cost_model
from benchmark.profile.estimate import estimate_latency
from benchmark.profile.fit import fit
from benchmark.profile.memory_study import StudyPoint, study
from benchmark.records.runs import LatencyRun
from benchmark.records.types import LatencyRecord
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


GEOMETRY = "l1=32:4:64,l2=1024:16:64,pf=8:4"
SHAPES = [(300e6, 0.4e6, 1.4e6), (160e6, 0.45e6, 1.25e6), (120e6, 0.1e6, 0.4e6), (40e6, 0.12e6, 0.36e6),
          (900e6, 0.5e6, 5e6), (110e6, 0.08e6, 0.25e6), (85e6, 0.2e6, 1.1e6)]  # fmt: skip


def _points(ns_miss: float, ns_line: float) -> list[FitPoint]:
    """Phone figures made of dense fp32 at 2 IPC and the rest at 1 (1.8 GHz), plus the given penalties."""
    out = []
    for i, (insns, misses, lines) in enumerate(SHAPES):
        groups = {"dense fp32": int(insns * 0.8), "memory": int(insns * 0.2)}
        ms = (insns * 0.8 / 2 + insns * 0.2) / 1.8e6 + (misses * ns_miss + lines * ns_line) / 1e6
        memory = {"llc_misses": int(misses), "dram_lines": int(lines)}
        out.append(FitPoint(model=f"m{i}", precision="fp32", phone_ms=ms, source="s", groups=groups, memory=memory))
    return out


def _record(memory: dict[str, int] | None) -> LatencyRecord:
    profile = {
        "method": "m", "library_sha256": "s", "per_inference_insns": 10**8, "profiled_insns": 10**8,
        "sum_error": 0.0, "runtime_insns": 0, "families": {"conv 1x1": 8 * 10**7, "pool": 2 * 10**7},
        "ops_matched": False,
    }  # fmt: skip
    traffic = None
    if memory is not None:
        traffic = {"accesses": 10**7, "l1_misses": 10**6, "l2_misses": memory["llc_misses"], "l3_misses": 0,
                   "geometry": GEOMETRY, "dram_lines": memory["dram_lines"]}  # fmt: skip
    return LatencyRecord.model_validate(
        {"model": "m", "precision": "fp32", "status": "ok", "input_shape": [1, 3, 224, 224], "emulated": True,
         "device": {"serial": "EMU", "soc": "XMEM"}, "cost_profile": profile, "memory_traffic": traffic}
    )  # fmt: skip


def test_a_memory_aware_fit_is_kept_with_its_instruction_form_beside_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Figures with 90 ns per last-level demand miss and 25 ns per DRAM line (2.6 GB/s): the fit finds both, keeps
    them, and stores the best instruction-only form for records without simulated misses; such a record gets that
    form's estimate and band, one with misses the memory form's."""
    template = CostModel(name="t", device_class="XMEM", soc="s", core="c", clock_mhz=1800.0, ipc={})
    model = fit(template, _points(90.0, 25.0), memory_geometry=GEOMETRY)
    assert model.memory_ns == pytest.approx({"llc_misses": 90.0, "dram_lines": 25.0}, rel=1e-3)
    assert model.memory_geometry == GEOMETRY and model.loo_rms_pct is not None and model.loo_rms_pct < 0.1
    assert model.without_memory is not None and (model.without_memory.loo_rms_pct or 0) > 1
    plain = fit(template, _points(90.0, 25.0))  # no geometry: misses are not used
    assert not plain.memory_ns and plain.without_memory is None
    monkeypatch.setenv("COST_MODELS_DIR", str(tmp_path))
    save_cost_model(model, tmp_path)
    with_misses, without = _record({"llc_misses": 300_000, "dram_lines": 900_000}), _record(None)
    estimate_latency(with_misses)
    estimate_latency(without)
    assert with_misses.estimate is not None and with_misses.estimate.cost_model.endswith("+ memory")
    assert with_misses.estimate.est_latency_ms == pytest.approx((8e7 / 2 + 2e7) / 1.8e6 + 27 + 22.5, rel=1e-3)
    assert without.estimate is not None and "memory" not in without.estimate.cost_model
    assert without.estimate.error_band_pct == model.without_memory.loo_rms_pct


def test_a_memory_penalty_no_memory_system_has_is_not_kept() -> None:
    """1 ns per DRAM miss is a few cycles, not a memory access: the form is refused and instructions alone are kept,
    even though the misses explain the figures."""
    template = CostModel(name="t", device_class="XMEM", soc="s", core="c", clock_mhz=1800.0, ipc={})
    model = fit(template, _points(1.0, 0.0), memory_geometry=GEOMETRY)
    assert not model.memory_ns and not model.needs_memory


@pytest.mark.slow
def test_profile_arm_records_the_simulated_misses(  # type: ignore[no-untyped-def]
    arm_runtime, models_dir: Path, bench_out: Path, tmp_path: Path, capsys
) -> None:
    argv = ["profile-arm", "--phone", "sd625-arm", "--models", HUMAN_V1, "--models-dir", str(models_dir), "--caches"]
    argv += ["--out", str(bench_out), "--offline"]
    assert bench_cli.main([*argv, "--precision", "fp32", "--reports", str(tmp_path)]) == 0, capsys.readouterr().err
    (rec,) = latest(tmp_path, LatencyRun).records
    m = rec.memory_traffic
    assert m is not None and m.geometry == "l1=32:4:64,l2=1024:16:64,pf=8:4" and m.l3_misses == 0  # A53: no L3
    assert 0 < m.l2_misses <= m.l1_misses < m.accesses < (rec.instructions_per_inference or 0)
    # memory is read for every demand miss of the last level and for every line the prefetcher brought in
    assert m.dram_lines is not None and m.l2_misses < m.dram_lines < m.l1_misses + m.dram_lines
    assert "simulated caches" in capsys.readouterr().out
    # the x86 emulated phone runs no ARM code to simulate: refused before any work, exit 2
    assert bench_cli.main([*argv[:2], "sd855", *argv[3:], "--reports", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
