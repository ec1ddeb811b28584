"""The gate end to end on emulated devices: a phone whose runner became 2x slower (same ro.serialno, a new
connection) trips the gate; the unchanged one passes. Fixed-latency runners keep host load out of the figures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from benchmark.cli import main
from tests.conftest import HUMAN_V1
from tests.farm_support import farm_argv, run_farm, write_farm

pytestmark = pytest.mark.slow


def test_slower_phone_trips_the_gate(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    steady = {"ro.serialno": "GATE1"}
    emulated(props=steady, runner={"fixed_latency_ms": 30})
    before = emulated(props={"ro.serialno": "GATE2"}, runner={"fixed_latency_ms": 30})
    farm = write_farm(tmp_path, [str(lab.server)], select={"serial": ["GATE*"]}, thresholds={"regression_percent": 25})
    argv = farm_argv(farm, models_dir, bench_out, tmp_path / "reports", models=HUMAN_V1)
    rc, _, err = run_farm(capsys, [*argv, "--run-name", "baseline"])
    assert rc == 0, err
    lab.remove_device(before)  # the same phone comes back through a new connection, now twice as slow
    after = emulated(props={"ro.serialno": "GATE2"}, runner={"fixed_latency_ms": 30, "slowdown": 2.0})
    assert after.serial != before.serial
    rc, _, err = run_farm(capsys, [*argv, "--force", "--run-name", "candidate"])
    assert rc == 0, err

    junit = tmp_path / "junit.xml"
    rc = main(
        [
            "gate",
            "--farm",
            str(farm),
            "--baseline",
            "previous",
            "--junit",
            str(junit),
            "--reports",
            str(tmp_path / "reports"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 1, out
    assert "run candidate against baseline baseline" in out
    rows = {line.split("/")[0]: line for line in out.splitlines() if line.startswith("GATE") and ": latency" in line}
    assert "PASS: latency" in rows["GATE1"]
    assert "FAIL: latency +" in rows["GATE2"]
    others = [line for line in out.splitlines() if line.startswith("GATE") and ": latency" not in line]
    assert others and all("not gated until 3 past runs" in line for line in others)  # first, init, memory: no history
    change = float(rows["GATE2"].split("FAIL: latency +")[1].split(" %")[0])
    assert 60 < change < 140  # about +100 %
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"

    rc = main(["report", "--reports", str(tmp_path / "reports"), "--history", str(tmp_path / "history.sqlite")])
    assert rc == 0
    md = (tmp_path / "reports" / "report.md").read_text()
    farm = md.split("## Device farm", 1)[1].split("\n## ", 1)[0]
    assert "Latest farm run candidate" in farm and "| GATE1/MI 9 (emulated) |" in farm
    assert (
        f"Gate FAILED: run candidate against baseline baseline; 1 failure(s) in {2 + len(others)} comparison(s)" in farm
    )
    assert "GATE2/MI 9 (emulated) | human_pp_humansegv1_lite_192x192 | fp32 | latency +" in farm
    assert (tmp_path / "reports" / "report_assets" / "farm_trends.png").stat().st_size > 10_000
