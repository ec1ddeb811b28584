"""Shared pieces of the farm and gate tests: a farm file, the farm command in-process or as a child process,
reading back its run files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from benchmark.cli import main
from benchmark.records.runs import LatencyRun
from benchmark.records.types import LatencyRecord
from tests.conftest import HUMAN_V1, PORTRAIT_V2
from tests.runs import latest

FAST = {"rounds": 2, "repeats": 3, "warmup": 1, "round_timeout_s": 120}
TWO_MODELS = f"{PORTRAIT_V2},{HUMAN_V1}"


def write_farm(folder: Path, servers: list[str], **overrides: Any) -> Path:
    cfg: dict[str, Any] = {
        "servers": servers,
        "measurement": FAST,
        "parity": {"enabled": False},
        "history": str(folder / "history.sqlite"),
        "lock": {"poll_s": 0.2, "wait_s": 300},
    }
    cfg.update(overrides)
    path = folder / "farm.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def farm_argv(
    farm: Path, models_dir: Path, out: Path, reports: Path, *extra: str, models: str = TWO_MODELS
) -> list[str]:
    return [
        "farm",
        "--farm",
        str(farm),
        "--models-dir",
        str(models_dir),
        "--out",
        str(out),
        "--offline",
        "--models",
        models,
        "--reports",
        str(reports),
        *extra,
    ]


def run_farm(capsys: Any, argv: list[str]) -> tuple[int, str, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out, cap.err


def spawn_farm(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as f:
        return subprocess.Popen([sys.executable, "-m", "benchmark", *argv], stdout=f, stderr=subprocess.STDOUT)


def records(reports: Path) -> list[LatencyRecord]:
    return list(latest(reports, LatencyRun).records)


def by_key(recs: list[LatencyRecord]) -> dict[str, list[LatencyRecord]]:
    out: dict[str, list[LatencyRecord]] = {}
    for r in recs:
        out.setdefault(r.device_key.split("/")[0], []).append(r)
    return out
