"""The farm's parallelism figure is a benchmark command (`make bench-farm-scaling`): it writes its JSON record and
fails (exit 1) when the ratio misses its target. Here: the command's mechanics and its verdict; the figure itself is
host timing, never asserted by a test (measured 1.19 on this 2-core machine, idle)."""

from __future__ import annotations

import pytest

from benchmark.cli import main
from benchmark.records.rows import ScalingRecord
from benchmark.records.run_files import read_run
from tests.conftest import HUMAN_V1


@pytest.mark.slow
def test_farm_scaling_writes_its_record_and_its_verdict(models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["farm-scaling", "--models-dir", str(models_dir), "--out", str(bench_out), "--offline"]
    argv += ["--models", HUMAN_V1, "--rounds", "2", "--repeats", "10", "--reports", str(tmp_path)]
    rc = main(argv)
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("farm scaling: 1 device"))
    print(line)  # the figure, visible with pytest -s
    (path,) = tmp_path.glob("farm-scaling-*.json")
    row = read_run(path).records[0]  # type: ignore[attr-defined]
    assert row.devices == 3 and row.one_device_wall_s > 0 and row.all_devices_wall_s > 0
    assert f"ratio {row.wall_ratio:.2f}" in line and "(target <= 1.3: " in line
    assert rc == (0 if row.meets_target else 1) and line.endswith("met)" if row.meets_target else "MISSED)")


def test_the_verdict_is_the_ratio_against_its_target() -> None:
    def row(ratio: float) -> ScalingRecord:
        return ScalingRecord(
            devices=3, models=["m"], one_device_wall_s=1.0, all_devices_wall_s=ratio, fixed_latency_ms=50,
            wall_ratio=ratio, target_ratio=1.3,
        )  # fmt: skip

    assert row(1.19).meets_target and row(1.3).meets_target and not row(1.31).meets_target
