"""Every command's contract, written once (converter, benchmark, android_demo):

- what a command needs (files, folders, names, numbers, environment variables, a server, a device, a runner, the ARM
  runtime, QEMU) is checked by its `check` before the first conversion, download or device round;
- exit 0 when the work asked for was done and passed; 1 when some of it failed or judged a failure (finished work and
  its run file are kept); 2 when the command could not start (a need not met, nothing to run); 130 on Ctrl-C;
- a command that judged nothing never exits 0; no traceback reaches a user for anything a user can get wrong: one
  `error:` line naming the input and the fix (`-v` adds the detail), passwords never shown.

The generic checks are in converter.base.needs; benchmark.workflow.preflight has the device-side ones."""

from __future__ import annotations

import argparse
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from converter.base.errors import ExitCode, ToolkitError, UsageError

EXIT_CODES_HELP = (
    "exit codes: 0 the work asked for was done and passed; 1 some of it failed or judged a failure (finished work "
    "and run files are kept); 2 it could not start (bad input, a missing tool, nothing to run); 130 interrupted"
)
Checked = TypeVar("Checked")
_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)", re.IGNORECASE)


@dataclass(frozen=True)
class Command(Generic[Checked]):
    """A command as its CLI runs it: `check` checks every input and returns what `run` needs (a typed request, or
    the arguments themselves), raising UsageError naming the first input that is not met; nothing is converted,
    downloaded or measured before it returns. `run` does the work and returns the exit code."""

    check: Callable[[argparse.Namespace], Checked]
    run: Callable[[Checked], int]


def hide_password(text: str) -> str:
    """`postgresql://user:secret@host/db` -> `postgresql://user:***@host/db`, wherever it appears in a message."""
    return _PASSWORD.sub(r"\1***\3", text)


def error_line(e: BaseException) -> str:
    return "error: " + hide_password(str(e)).strip().replace("\n", " | ")


def run_command(command: Command[Any], args: argparse.Namespace) -> int:
    """The contract: check, then run; an input not met or a UsageError is 2, a ToolkitError once the work started is 1
    (what was finished is already written), Ctrl-C is 130. Only a bug keeps its traceback."""
    verbose = bool(getattr(args, "verbose", False))
    try:
        checked = command.check(args)
    except ToolkitError as e:
        _report(e, verbose)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("interrupted before any work", file=sys.stderr)
        return ExitCode.INTERRUPTED
    try:
        return int(command.run(checked))
    except UsageError as e:
        _report(e, verbose)
        return ExitCode.USAGE
    except ToolkitError as e:  # the work had started: what finished is kept, the rest failed
        _report(e, verbose)
        return ExitCode.FAILED
    except KeyboardInterrupt:
        print("interrupted; completed outputs and records are kept", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _report(e: ToolkitError, verbose: bool) -> None:
    print(error_line(e), file=sys.stderr)
    if verbose and (e.__cause__ or e.__context__):
        detail = "".join(traceback.format_exception(e)).rstrip()
        print(hide_password(detail), file=sys.stderr)
