"""The generic input checks of the commands' contract (converter.cli.contract): each raises UsageError naming the
input (the flag, and the environment variable it defaults from) and the fix. benchmark.workflow.preflight adds the
device-side ones."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from converter.base.errors import UsageError


def _from(flag: str, env: str | None) -> str:
    return f"{flag} (or ${env})" if env else flag


def existing_file(path: Path | None, flag: str, *, fix: str, env: str | None = None) -> Path:
    """A file the command reads; a folder or a missing path is refused naming the flag (and its variable)."""
    if path is None:
        raise UsageError(f"{_from(flag, env)} is required: {fix}")
    if path.is_dir():
        raise UsageError(f"{_from(flag, env)} {path} is a folder, not a file: {fix}")
    if not path.is_file():
        raise UsageError(f"{_from(flag, env)} {path} does not exist: {fix}")
    return path


def existing_dir(path: Path | None, flag: str, *, fix: str, env: str | None = None) -> Path:
    if path is None:
        raise UsageError(f"{_from(flag, env)} is required: {fix}")
    if path.is_file():
        raise UsageError(f"{_from(flag, env)} {path} is a file, not a folder: {fix}")
    if not path.is_dir():
        raise UsageError(f"{_from(flag, env)} {path} does not exist: {fix}")
    return path


def output_dir(path: Path, flag: str) -> Path:
    """A folder the command writes into: it may not exist yet, but must not be a file, nor sit under a file."""
    for p in (path, *path.parents):
        if p.is_file():
            raise UsageError(f"{flag} {path}: {p} is a file, not a folder; give a folder to write into")
        if p.is_dir():
            if not os.access(p, os.W_OK):
                raise UsageError(f"{flag} {path}: {p} is not writable; give a folder you can write into")
            break
    return path


def at_least(value: float | None, minimum: float, flag: str) -> None:
    if value is not None and value < minimum:
        shown = int(minimum) if float(minimum).is_integer() else minimum
        raise UsageError(f"{flag} must be >= {shown} (got {value:g})")


def greater_than(value: float | None, minimum: float, flag: str) -> None:
    if value is not None and not value > minimum:
        raise UsageError(f"{flag} must be > {minimum:g} (got {value:g})")


def int_list(kind: str) -> Callable[[str], list[int]]:
    """An argparse type for comma-separated whole numbers (its error names the option's meaning, not a lambda)."""

    def parse(text: str) -> list[int]:
        try:
            values = [int(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {kind} must be comma-separated whole numbers") from None
        if not values:
            raise argparse.ArgumentTypeError(f"{text!r}: give at least one of the {kind}")
        return values

    parse.__name__ = kind  # argparse names the type in its message
    return parse
