"""Longest test files first, so that `make test`'s workers (pytest-xdist, one test file per worker at a time) end
together instead of one waiting on the other's long file at the end.

The seconds each file took are data: tests/file_seconds.json, written by a run with `--store-file-seconds PATH`
(`make test-seconds`). A file the data does not know yet gets the median of those it knows. The order only
changes which worker runs what when; every test still runs."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from statistics import median
from typing import Any

import pytest

SECONDS_FILE = Path(__file__).with_name("file_seconds.json")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-file-seconds", type=Path, default=None, help="write the seconds each test file took to this JSON file"
    )


def known_seconds(path: Path = SECONDS_FILE) -> dict[str, float]:
    """Seconds per test file (its path from the repository's root), {} when there is no data."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {str(k): float(v) for k, v in data.items()}


def _file_of(item: Any) -> str:
    return item.nodeid.split("::", 1)[0]


def longest_files_first(items: list[Any], seconds: dict[str, float]) -> None:
    """Sorts test items (anything with a nodeid) in place by their file's seconds, longest first; a file the data
    does not know counts as the median. The sort is stable: each file's tests stay together, in their order."""
    if not seconds:
        return
    default = median(seconds.values())
    items.sort(key=lambda it: -seconds.get(_file_of(it), default))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    longest_files_first(items, known_seconds())


class _Timer:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.seconds: dict[str, float] = defaultdict(float)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid.split("::", 1)[0]] += report.duration  # setup, call and teardown

    @pytest.hookimpl
    def pytest_sessionfinish(self) -> None:
        if self.seconds:
            ordered = dict(sorted(((k, round(v, 1)) for k, v in self.seconds.items()), key=lambda kv: -kv[1]))
            self.out.write_text(json.dumps(ordered, indent=1) + "\n")


def pytest_configure(config: pytest.Config) -> None:
    out = config.getoption("--store-file-seconds")
    if out is not None and not hasattr(config, "workerinput"):  # the controller sees every worker's reports
        config.pluginmanager.register(_Timer(out), "file-seconds-timer")
