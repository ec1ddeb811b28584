"""The root of the toolkit's error family. Each module defines its own subclasses carrying the facts a person
needs to act; only the CLI `main()` functions turn them into `error: ...` and an exit code."""

from __future__ import annotations

from enum import IntEnum


class ToolkitError(Exception):
    """An expected failure with a message that says what failed, where, and what to do."""


class UsageError(ToolkitError):
    """The command cannot start: a bad argument, an unknown name, nothing to run. Exit code 2."""


class ExitCode(IntEnum):
    """Every command's exit codes (converter, benchmark, android_demo)."""

    OK = 0
    FAILED = 1  # the command ran, and some of its work failed (a model, a device, a gate)
    USAGE = 2  # the command could not start: bad arguments or input, nothing to run
    INTERRUPTED = 130  # Ctrl-C; completed records are kept
