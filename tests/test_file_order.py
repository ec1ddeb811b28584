"""The order `make test` starts test files in (tests/file_order.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.file_order import SECONDS_FILE, known_seconds, longest_files_first


@dataclass
class Item:
    nodeid: str


def test_longest_files_go_first_and_each_file_stays_whole() -> None:
    items = [Item(n) for n in ("a.py::x", "a.py::y", "b.py::x", "c.py::x", "c.py::y[1]", "d.py::x")]
    longest_files_first(items, {"a.py": 1.0, "b.py": 9.0, "c.py": 5.0})  # d.py unknown: the median, 5.0
    assert [i.nodeid for i in items] == ["b.py::x", "c.py::x", "c.py::y[1]", "d.py::x", "a.py::x", "a.py::y"]
    unchanged = [Item("a.py::x"), Item("b.py::x")]
    longest_files_first(unchanged, {})
    assert [i.nodeid for i in unchanged] == ["a.py::x", "b.py::x"]


def test_the_committed_seconds_name_test_files_that_exist(tmp_path: Path) -> None:
    seconds = known_seconds()
    assert seconds and all((SECONDS_FILE.parent.parent / f).is_file() for f in seconds), sorted(seconds)
    assert known_seconds(tmp_path / "none.json") == {}
    (tmp_path / "s.json").write_text(json.dumps({"tests/test_x.py": 3}))
    assert known_seconds(tmp_path / "s.json") == {"tests/test_x.py": 3.0}
