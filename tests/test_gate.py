"""The regression gate on synthetic history records (no host timing involved): thresholds with the spread, parity
failures, missing models, new models, baselines by run id / 'previous' / exported file, JUnit XML, exit codes."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmark.cli import main
from benchmark.farm.history import History
from benchmark.records.types import LatencyRecord

DEVICE = {"serial": "10.0.0.5:5555", "serialno": "PHONE1", "model": "Mi 9", "soc": "SM8150"}
OTHER = {"serial": "emulator-5554", "serialno": "PHONE2", "model": "Pixel 4", "soc": "SM8150"}


def _rec(
    model: str, median_ms: float, cv: float = 0.01, device: dict[str, str] = DEVICE, **extra: Any
) -> dict[str, Any]:
    return {
        "model": model,
        "precision": "fp32",
        "input_shape": [1, 3, 192, 192],
        "device": device,
        "status": "ok",
        "median_ms": median_ms,
        "cv": cv,
        "runner": {"path": "benchmark_bin", "version": "v2.13"},
        "tool_versions": {"toolkit": "0.1.0"},
        "nb": {"path": "m/arm-fp32.nb", "opt_version": "v2.13-rc", "size_bytes": 1000, "sha256": "ab" * 32},
        **extra,
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """Histories by name on one back end: SQLite files, or databases on the session's PostgreSQL server."""
    made: dict[str, str] = {}

    def location(name: str) -> str:
        if name not in made:
            server = request.getfixturevalue("pg_server") if request.param == "postgresql" else None
            made[name] = server.new_database() if server else str(tmp_path / f"{name}.sqlite")
        return made[name]

    return location


def _history(path: str | Path, runs: dict[str, list[dict[str, Any]]]) -> str | Path:
    with History(path) as h:
        for run_id, recs in runs.items():
            h.start_run(run_id, host="ci", farm_file="farm.yaml", toolkit="0.1.0", payload={})
            for r in recs:
                h.add_record(run_id, LatencyRecord.from_json(r))
            h.finish_run(run_id, "finished")
    return path


BASE = [_rec("steady", 10.0), _rec("slower", 10.0), _rec("noisy", 10.0, cv=0.04), _rec("dropped", 10.0)]


def _gate(tmp_path: Path, capsys: Any, *extra: str, history: str | None = None) -> tuple[int, str, str]:
    argv = ["gate", "--history", history or str(tmp_path / "h.sqlite"), "--junit", str(tmp_path / "junit.xml")]
    argv += ["--reports", str(tmp_path / "reports"), "--farm", str(tmp_path / "no-farm.yaml"), *extra]
    rc = main(argv)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out, cap.err


def _row(out: str, model: str) -> str:
    return next(line for line in out.splitlines() if f" {model} " in line)


def test_gate_verdicts_and_junit(tmp_path, capsys, db) -> None:  # type: ignore[no-untyped-def]
    current = [
        _rec("steady", 10.3),  # +3 %: within 5 %
        _rec("slower", 11.0),  # +10 % with CV 1 %: regression
        _rec("noisy", 11.0, cv=0.04),  # +10 % but 3 x pooled CV 4 % = 12 %: within the spread
        _rec("broken", 9.0, parity={"passed": False, "problems": ["max abs diff 0.2 > tolerance 0.001"]}),
        _rec("brand_new", 5.0),
    ]
    _history(db("h"), {"base": BASE, "now": current})
    rc, out, _ = _gate(tmp_path, capsys, "--baseline", "base", history=db("h"))
    assert rc == 1
    assert "PASS: latency +3.0 % within 5.0 %" in _row(out, "steady")
    assert "FAIL: latency +10.0 % > limit 5.0 %" in _row(out, "slower")
    assert "PASS: latency +10.0 % within 12.0 %" in _row(out, "noisy")
    assert "FAIL: missing: not in this run" in _row(out, "dropped")
    assert "FAIL: parity failed: max abs diff 0.2 > tolerance 0.001" in _row(out, "broken")
    assert "NEW" in _row(out, "brand_new")
    assert "gate FAILED: 3 failure(s) in 6 comparison(s)" in out
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "6" and suite.get("failures") == "3"
    failed = {c.get("name", "").split()[0] for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failed == {"slower", "dropped", "broken"}
    assert all(c.get("classname") == "PHONE1/Mi 9" for c in suite.iter("testcase"))
    assert list((tmp_path / "reports").glob("gate-*.json"))


def test_gate_passes_and_threshold_override(tmp_path, capsys, db) -> None:  # type: ignore[no-untyped-def]
    current = [_rec("steady", 10.2), _rec("slower", 10.4), _rec("noisy", 9.0, cv=0.04), _rec("dropped", 10.1)]
    _history(db("h"), {"base": BASE, "now": current})
    rc, out, _ = _gate(tmp_path, capsys, "--baseline", "previous", history=db("h"))
    assert rc == 0 and "gate PASSED: 0 failure(s) in 4 comparison(s)" in out
    rc, out, _ = _gate(
        tmp_path, capsys, "--baseline", "base", "--threshold-percent", "3", "--cv-factor", "0", history=db("h")
    )
    assert rc == 1 and "FAIL: latency +4.0 % > limit 3.0 %" in _row(out, "slower")


def test_identity_is_the_phone_not_the_connection(tmp_path, capsys, db) -> None:  # type: ignore[no-untyped-def]
    moved = copy.deepcopy(DEVICE) | {"serial": "192.168.1.9:41000"}  # same phone, now over another host's server
    current = [_rec(r["model"], r["median_ms"], r["cv"], device=moved) for r in BASE]
    current.append(_rec("steady", 30.0, device=OTHER))  # another phone's record is not compared with PHONE1's
    _history(db("h"), {"base": BASE, "now": current})
    rc, out, _ = _gate(tmp_path, capsys, "--baseline", "base", history=db("h"))
    assert rc == 0, out
    assert "NEW" in next(line for line in out.splitlines() if line.startswith("PHONE2/Pixel 4"))


def test_failed_and_not_run_records_fail(tmp_path, capsys, db) -> None:  # type: ignore[no-untyped-def]
    current = [
        _rec("steady", 10.0),
        _rec("slower", 10.0, status="failed", error="127.0.0.1:5555: the runner exited with 1"),
        _rec("noisy", 10.0, status="not_run", error="PHONE1: the device disconnected; its remaining jobs..."),
        _rec("dropped", 10.0),
    ]
    _history(db("h"), {"base": BASE, "now": current})
    rc, out, _ = _gate(tmp_path, capsys, "--baseline", "base", history=db("h"))
    assert rc == 1
    assert "FAIL: failed: 127.0.0.1:5555: the runner exited with 1" in _row(out, "slower")
    assert "FAIL: missing: PHONE1: the device disconnected" in _row(out, "noisy")


def test_exported_baseline_file(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    _history(tmp_path / "h.sqlite", {"base": BASE, "now": [_rec(r["model"], 20.0) for r in BASE]})
    baseline = tmp_path / "baseline.json"
    assert main(["history", "export", "base", "-o", str(baseline), "--history", str(tmp_path / "h.sqlite")]) == 0
    assert "baseline" in capsys.readouterr().out
    (tmp_path / "h.sqlite").unlink()  # the file stands alone: a fresh history with only the new run
    _history(tmp_path / "h.sqlite", {"now": [_rec(r["model"], 20.0) for r in BASE]})
    rc, out, _ = _gate(tmp_path, capsys, "--baseline", str(baseline))
    assert rc == 1 and out.count("FAIL: latency +100.0 %") == 4
    assert f"against baseline {baseline} (run base)" in out


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("none", ["--baseline", "base"], "does not exist: run `make bench-farm`"),
        ("one", ["--baseline", "nosuch"], "run 'nosuch' is not in the history"),
        ("one", ["--baseline", "previous"], "holds no finished farm run before base"),
        ("one", ["--baseline", "missing.json"], "--baseline missing.json does not exist"),
    ],
)
def test_gate_bad_input(tmp_path, capsys, monkeypatch, setup, args, message) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    if setup == "one":
        _history(tmp_path / "h.sqlite", {"base": BASE})
    rc, _, err = _gate(tmp_path, capsys, *args)
    assert rc == 2 and message in err
    assert not (tmp_path / "junit.xml").exists()


def test_instruction_counts_are_gated_instead_of_noisy_emulation_time(tmp_path, capsys, db) -> None:  # type: ignore[no-untyped-def]
    qemu = copy.deepcopy(DEVICE) | {"serialno": "EMUARM855001", "model": "MI 9 (emulated ARM)", "qemu_cpu": "max"}

    def arm(model: str, median_ms: float, insns: int) -> dict[str, Any]:
        return _rec(model, median_ms, cv=0.3, device=qemu, emulated=True, instructions_per_inference=insns)

    base = [arm("same", 1300.0, 78_000_000), arm("more", 1300.0, 78_000_000), arm("fewer", 1300.0, 78_000_000)]
    current = [
        arm("same", 2600.0, 78_000_040),  # emulation time doubled (a busy host), the work did not: pass
        arm("more", 1250.0, 79_000_000),  # +1.28 % instructions though faster on the clock: a real regression
        arm("fewer", 1400.0, 51_000_000),  # fp16-like drop: pass
    ]
    _history(db("h"), {"base": base, "now": current})
    rc, out, _ = _gate(tmp_path, capsys, "--baseline", "base", history=db("h"))
    assert rc == 1
    assert "PASS: instructions 78.00 M -> 78.00 M (+0.00 % within 1.0 %)" in _row(out, "same")
    assert "FAIL: instructions 78.00 M -> 79.00 M (+1.28 % > limit 1.0 %)" in _row(out, "more")
    assert "PASS: instructions 78.00 M -> 51.00 M (-34.62 % within 1.0 %)" in _row(out, "fewer")
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"


def test_each_figure_is_gated_against_the_devices_own_noise(tmp_path, capsys, db) -> None:  # type: ignore[no-untyped-def]
    """Model load, first inference, steady-state median and peak memory each get a row, limited by cv_factor x the
    spread of that figure on that device over the history (never below regression_percent)."""
    inits, firsts, peaks = [100.0, 130.0, 80.0, 120.0], [20.0, 20.2, 19.8, 20.0], [50.0, 50.0, 50.0, 50.5]
    runs = {
        f"r{i}": [_rec("m", 10.0 + 0.01 * i, init_ms=init, first_ms=first, peak_memory_mb=peak)]
        for i, (init, first, peak) in enumerate(zip(inits, firsts, peaks, strict=True))
    }
    runs["now"] = [_rec("m", 10.8, init_ms=140.0, first_ms=20.9, peak_memory_mb=60.0)]
    _history(db("h"), runs)
    rc, out, _ = _gate(tmp_path, capsys, "--baseline", "previous", history=db("h"))
    rows = [line for line in out.splitlines() if " m " in line]
    assert rc == 1 and len(rows) == 4
    text = "\n".join(rows)
    # init moves ~20 % run to run on this device: +16.7 % passes under 3 x that
    assert "PASS: model load (init) +16.7 % within 60.6 % (noise 20.2 % over 4 runs)" in text
    assert "FAIL: latency +7.7 % > limit 5.0 %" in text  # a steady median: the floor applies
    assert "PASS: first inference +4.5 % within 5.0 %" in text
    assert "FAIL: peak memory +18.8 % > limit 5.0 %" in text
    # without history, each figure gets the fixed limit and the row says so
    _history(db("h2"), {"base": runs["r3"], "now": runs["now"]})
    argv = ["--history", db("h2"), "--baseline", "base"]
    rc, out, _ = _gate(tmp_path, capsys, *argv, history=db("h"))
    assert "SKIPPED: model load (init) +16.7 %: not gated until 3 past runs give this device's noise" in out
    assert "FAIL: latency +7.7 % > limit 5.0 % (no history noise yet: fixed limit)" in out  # as before the history


def test_runs_started_in_the_same_second_keep_their_order(tmp_path, db) -> None:  # type: ignore[no-untyped-def]
    """The history orders runs by start time, then by insertion (run names sort any way): the gate's 'previous' and
    the noise of the runs before depend on it."""
    _history(db("h"), {"zz-first": [_rec("m", 10.0)], "aa-second": [_rec("m", 10.1)]})
    with History(db("h")) as h:
        assert [r.run_id for r in h.runs()] == ["zz-first", "aa-second"]
