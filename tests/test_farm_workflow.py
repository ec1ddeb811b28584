"""The GitHub Actions workflow for the farm: every step is a make target, and those targets, run in the workflow's
order against emulated devices, convert, benchmark, gate and report."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import HUMAN_V1
from tests.farm_support import write_farm

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "device-farm.yml"


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.M))


def _run_steps() -> list[list[str]]:
    data = yaml.safe_load(WORKFLOW.read_text())
    steps = data["jobs"]["farm"]["steps"]
    return [shlex.split(s["run"]) for s in steps if "run" in s]


def test_workflow_steps_are_make_targets() -> None:
    data = yaml.safe_load(WORKFLOW.read_text())
    job = data["jobs"]["farm"]
    assert "self-hosted" in job["runs-on"]
    commands = _run_steps()
    assert [c[1] for c in commands] == ["convert", "bench-farm", "gate", "report"]
    assert all(c[0] == "make" and len(c) == 2 and c[1] in _make_targets() for c in commands)
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert any("build/reports/" in s["with"]["path"] for s in uploads)
    assert {"FARM", "HISTORY", "BASELINE", "RUNNER", "FORCE"} <= set(job["env"])
    assert "run_attempt" in job["env"]["FORCE"]  # a fresh measurement per workflow run; a re-run attempt resumes


@pytest.mark.slow
def test_workflow_targets_run_against_emulated_devices(lab, emulated, models_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for n in (1, 2):
        emulated(props={"ro.serialno": f"FLOW{n}"}, runner={"fixed_latency_ms": 20})
    farm = write_farm(
        tmp_path,
        [str(lab.server)],
        select={"serial": ["FLOW*"]},
        thresholds={"regression_percent": 50},
        parity={"enabled": True, "max_images": 1},
    )
    env = {
        **os.environ,
        "MODELS_DIR": str(models_dir),
        "MODELS": HUMAN_V1,
        "OUT": str(tmp_path / "models"),
        "REPORTS": str(tmp_path / "reports"),
        "HISTORY": str(tmp_path / "history.sqlite"),
        "FARM": str(farm),
        "BASELINE": "previous",
        "RUNNER": "",
    }

    def make(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*argv, "--no-print-directory"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
        )

    first = make(["make", "convert"])
    assert first.returncode == 0, first.stdout + first.stderr
    warm = make(["make", "bench-farm"])  # an earlier run: the gate's 'previous'
    assert warm.returncode == 0, warm.stdout + warm.stderr
    for argv in _run_steps():
        r = make(argv)
        assert r.returncode == 0, f"{argv}: {r.stdout}{r.stderr}"
    assert (tmp_path / "reports" / "gate-junit.xml").is_file()
    md = (tmp_path / "reports" / "report.md").read_text()
    assert "## Device farm" in md and "Gate PASSED" in md
    assert "FLOW1/MI 9 (emulated)" in md and "FLOW2/MI 9 (emulated)" in md
