"""Progress of long device work on stderr (model, precision, round i/N, image i/N), one line rewritten in place;
silent when stderr is not a terminal (CI logs and pipes get the per-model log lines only)."""

from __future__ import annotations

import sys


def show(label: str, what: str, i: int, n: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{label}: {what} {i}/{n}\x1b[K")
        sys.stderr.flush()


def clear() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
