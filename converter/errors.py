"""The root of the toolkit's error family. Each module defines its own subclasses carrying the facts a person
needs to act; only the CLI `main()` functions turn them into `error: ...` and an exit code."""

from __future__ import annotations


class ToolkitError(Exception):
    """An expected failure with a message that says what failed, where, and what to do."""
