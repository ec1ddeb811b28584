"""The farm's parallelism figure: wall time over 3 emulated devices (two adb servers, fixed-latency runners) divided
by the wall time over one. Printed and written as JSON; not asserted (host timing)."""

from __future__ import annotations

import pytest

from benchmark.cli import main
from benchmark.records.run_files import read_run
from tests.conftest import HUMAN_V1

pytestmark = pytest.mark.slow


def test_farm_scaling_prints_and_writes_the_ratio(models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["farm-scaling", "--models-dir", str(models_dir), "--out", str(bench_out), "--offline"]
    argv += ["--models", HUMAN_V1, "--rounds", "2", "--repeats", "10", "--reports", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("farm scaling: 1 device"))
    print(line)  # the figure, visible with pytest -s
    (path,) = tmp_path.glob("farm-scaling-*.json")
    row = read_run(path).records  # type: ignore[attr-defined][0]
    assert row.devices == 3 and row.one_device_wall_s > 0 and row.all_devices_wall_s > 0
    assert f"ratio {row.wall_ratio:.2f}" in line and "(target <= 1.3)" in line
