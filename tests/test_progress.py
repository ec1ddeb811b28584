"""Progress of long child steps: a real child process reports with `emit`, the parent streams its stderr through
`process.run(on_stderr_line=...)` into a `Progress`, which logs (not a terminal) and keeps the child's other output."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from converter.base import process
from converter.base.progress import Progress, format_s

CHILD = """
import sys, time
from converter.base.progress import emit
print("library noise", file=sys.stderr)
for i in range(1, 4):
    sys.stderr.write("\\r 33%|###   | bar ")  # a carriage-return bar before the tag on the same line
    emit(i, 3, "calibration")
    time.sleep(0.05)
print("answer")
"""


def test_a_child_reports_progress_through_its_stderr(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress("model_x: full int8 quantization", unit="batches", every_s=3600)
    seen: list[str] = []

    def on_line(line: str) -> None:
        seen.append(line)
        progress.feed(line)

    with caplog.at_level(logging.INFO, logger="converter.base.progress"):
        result = process.run([sys.executable, "-c", CHILD], timeout_s=60, on_stderr_line=on_line)
    progress.close()
    assert result.returncode == 0 and result.stdout.strip() == "answer"
    assert "library noise" in result.stderr  # the child's other output is kept for error reports
    assert (progress.done, progress.total, progress.what) == (3, 3, "calibration")
    lines = [r.getMessage() for r in caplog.records if r.name == "converter.base.progress"]
    # every_s is an hour: the first report (the clock starts at -inf) and the last one are logged, nothing between
    assert len(lines) == 2, lines
    assert lines[-1].startswith("model_x: full int8 quantization: calibration 3/3 batches")
    assert len(seen) >= 4


def test_time_left_and_junk_lines() -> None:
    progress = Progress("step", stream=io.StringIO())
    progress.feed("@progress {not json")
    progress.feed('@progress {"done": 1}')  # missing total: ignored, not a crash
    assert progress.total == 0
    progress.update(1, 4)
    assert "1/4 samples" in progress.line() and "left" in progress.line()
    progress.update(4, 4)
    assert "left" not in progress.line()
    assert format_s(5.4) == "5 s" and format_s(125) == "2:05"
