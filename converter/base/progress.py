"""Progress of a long step on stderr: items done, elapsed time and the time left at the rate so far. On a terminal
one line is rewritten in place; elsewhere (CI logs, pipes) a line is logged every `every_s` seconds and at the end,
so a long step is never silent and a log never fills with one line per item.

Child processes report progress with `emit` (a tagged line on their stderr); the parent reads their stderr line by
line (`process.run(..., on_stderr_line=...)`) and hands each line to `Progress.feed`, which applies the tagged ones."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from pydantic import ValidationError

from converter.base.strict import Frozen

log = logging.getLogger(__name__)
TAG = "@progress "


class Tick(Frozen):
    """One progress report of a child process."""

    done: int
    total: int
    what: str = ""


def emit(done: int, total: int, what: str, stream: TextIO | None = None) -> None:
    """Called in a child process: report `done` of `total` items (`what` names the current stage)."""
    out = stream or sys.stderr
    out.write(TAG + Tick(done=done, total=total, what=what).model_dump_json() + "\n")
    out.flush()


def format_s(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class Progress:
    """One long step of `label` (e.g. "human_pp_humansegv1_server_512x512: full int8 quantization")."""

    def __init__(self, label: str, *, unit: str = "samples", every_s: float = 15.0, stream: TextIO | None = None):
        self.label = label
        self.unit = unit
        self.every_s = every_s
        self._stream = stream
        self._start = time.monotonic()
        self._last_line = float("-inf")
        self._shown = False
        self.done = 0
        self.total = 0
        self.what = ""

    @property
    def _out(self) -> TextIO:
        return self._stream or sys.stderr

    def line(self) -> str:
        elapsed_s = time.monotonic() - self._start
        text = f"{self.label}: {self.what + ' ' if self.what else ''}{self.done}/{self.total} {self.unit}"
        text += f", {format_s(elapsed_s)} elapsed"
        if 0 < self.done < self.total:
            text += f", about {format_s(elapsed_s / self.done * (self.total - self.done))} left"
        return text

    def update(self, done: int, total: int, what: str = "") -> None:
        self.done, self.total, self.what = done, total, what
        now = time.monotonic()
        if self._out.isatty():
            self._out.write("\r" + self.line() + "\x1b[K")
            self._out.flush()
            self._shown = True
        elif done >= total or now - self._last_line >= self.every_s:
            log.info("%s", self.line())
            self._last_line = now

    def feed(self, line: str) -> None:
        """A line of a child's stderr: a progress report is applied (also after other output on the same line, such
        as a library's carriage-return progress bar); any other line is ignored."""
        at = line.rfind(TAG)
        if at < 0:
            return
        try:
            tick = Tick.model_validate_json(line[at + len(TAG) :].strip())
        except ValidationError:
            return
        self.update(tick.done, tick.total, tick.what)

    def close(self) -> None:
        if self._shown:
            self._out.write("\r\x1b[K")
            self._out.flush()
            self._shown = False
