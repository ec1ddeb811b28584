"""For fault tests: act (unplug a device, stop a server) as soon as a run file holds a matching record."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def on_first_record(
    reports: Path, match: Callable[[dict[str, Any]], bool], action: Callable[[], None], timeout_s: float = 300
) -> threading.Thread:
    """A started daemon thread that calls `action` once a latency run file in `reports` has a record `match`es."""

    def watch() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for f in reports.glob("latency-*.json"):
                try:
                    recs = json.loads(f.read_text())["records"]
                except (OSError, ValueError):
                    continue
                if any(match(r) for r in recs):
                    action()
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread
