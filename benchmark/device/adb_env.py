"""$ANDROID_ADB_SERVER_PORT as adbutils reads it at import: adbutils builds a client from it when it is imported and
crashes with a traceback on a value that is not a number. The device seam imports adbutils without such a value,
so that the commands' own check (benchmark.workflow.preflight.adb_server) names the variable in one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

PORT_ENV = "ANDROID_ADB_SERVER_PORT"


@contextmanager
def without_unusable_port() -> Iterator[None]:
    port = os.environ.get(PORT_ENV)
    if port is None or port.isdigit():
        yield
        return
    del os.environ[PORT_ENV]
    try:
        yield
    finally:
        os.environ[PORT_ENV] = port
