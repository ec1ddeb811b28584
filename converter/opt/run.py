"""Runs Paddle-Lite's opt in a child process (converter/opt/worker.py) and classifies what went wrong from its log,
not from its exit alone: a missing attribute (op and attribute named), unsupported ops (listed), an unsupported
data type, model files that are truncated or corrupt, any other crash (its last fatal line quoted), timeout."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from converter.base import process
from converter.base.errors import ToolkitError
from converter.sources.model_files import ModelFiles

TARGETS = ("arm", "x86")
_UNSUPPORTED_RE = re.compile(r"These unsupported ops are: '([^']*)'")
_MISSING_ATTR_RE = re.compile(r"No attributes called (\S+) found for (\S+)")
_DTYPE_RE = re.compile(
    r"(Unknown var data type|unknown precision type[^\n]*|Unsupported data type[^\n]*|Unsupported dtype[^\n]*)"
)
# what opt logs when a model file ends early or is not a program (measured with truncated copies)
_BAD_FILE_MARKERS = ("Failed to read", "Can't parse message", "Error parsing", "ParseFromString", "Unknown var type")
_FATAL_RE = re.compile(r"^\[F [^\]]*\] (.*)$", re.MULTILINE)


@dataclass
class ConversionError(ToolkitError):
    model: str
    kind: str  # missing_attribute | unsupported_ops | unsupported_dtype | bad_model_files | opt_crash | timeout
    detail: str
    command: str = ""
    returncode: int | None = None
    output_tail: str = ""
    unsupported_ops: list[str] = field(default_factory=list)
    missing_attribute: tuple[str, str] | None = None  # (op type, attribute)

    def __str__(self) -> str:
        msg = f"{self.model}: {self.detail}"
        if self.command:
            msg += f"\n  command: {self.command}"
        if self.returncode is not None:
            msg += f"\n  exit code: {self.returncode}"
        if self.output_tail:
            msg += "\n  last output:\n    " + self.output_tail.replace("\n", "\n    ")
        return msg


def opt_version() -> str:
    """The paddlelite package version that provides opt (read without importing paddlelite)."""
    return metadata.version("paddlelite")


def _argv(files: ModelFiles, target: str, precision: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "converter.opt.worker",
        "--model-file",
        str(files.model_file),
        "--param-file",
        str(files.params_file),
        "--target",
        target,
        "--precision",
        precision,
    ]


def classify_failure(
    model: str, files: ModelFiles, res: process.ProcessResult, action: str, timeout_s: float
) -> ConversionError:
    text = res.stdout + "\n" + res.stderr

    def error(kind: str, detail: str, ops: list[str] | None = None) -> ConversionError:
        return ConversionError(model, kind, detail, res.command, res.returncode, res.tail(), ops or [])

    if res.timed_out:
        return error("timeout", f"opt {action} did not finish within {timeout_s:.0f} s")
    if m := _MISSING_ATTR_RE.search(text):
        attr, op = m.group(1), m.group(2)
        e = error(
            "missing_attribute",
            f"opt cannot convert this model: its {op} op has no attribute {attr!r}, which Paddle-Lite "
            f"{opt_version()} reads, and Paddle documents no default for it, so the graph fixes cannot add it "
            "(docs/converting.md lists what they fill in). Re-export the model so that the op carries the attribute, "
            "or with Paddle 2.4, whose exports write it",
        )
        e.missing_attribute = (op, attr)
        return e
    m = _UNSUPPORTED_RE.search(text)
    if m:
        ops = [o.strip() for o in m.group(1).split(",") if o.strip()]
        return error(
            "unsupported_ops",
            f"opt cannot convert this model: {len(ops)} op(s) are not supported by Paddle-Lite {opt_version()}: "
            f"{', '.join(ops)}. Replace them in the model, or use a Paddle-Lite build that has them",
            ops,
        )
    if m := _DTYPE_RE.search(text):
        return error(
            "unsupported_dtype",
            f"opt cannot convert this model: Paddle-Lite {opt_version()} does not handle one of its data types "
            f"({m.group(1).strip()}). Export the model in float32 (and int64/int32 indices), or quantize it with the "
            "toolkit's int8 variant instead of a quantized export",
        )
    if any(marker in text for marker in _BAD_FILE_MARKERS):
        return error(
            "bad_model_files",
            f"opt could not read the model files {files.model_file.name} / {files.params_file.name} in "
            f"{files.folder}: they look truncated or corrupt. Re-download or re-export the model",
        )
    how = f"was killed by {res.signal_name}" if res.signal_name else f"exited with code {res.returncode}"
    fatal = _FATAL_RE.findall(text)
    return error("opt_crash", f"opt {action} {how}" + (f": {fatal[-1].strip()}" if fatal else ""))


def preflight(model: str, files: ModelFiles, target: str, timeout_s: float = 300) -> list[str]:
    """Check op support on `target`; return the model's op types. opt's exit code is meaningless here
    (it exits 1 after a successful check), so the text decides."""
    res = process.run([*_argv(files, target, "fp32"), "--preflight"], timeout_s=timeout_s)
    if "Paddle-Lite supports this model!" in res.stdout:
        ops = []
        in_table = False
        for line in res.stdout.splitlines():
            if line.startswith("OPs in the input model include:"):
                in_table = True
                continue
            if in_table:
                parts = line.split()
                if not parts or parts[0] == "OP_name":
                    continue
                if line.startswith("Paddle-Lite supports"):
                    break
                ops.append(parts[0])
        return ops
    raise classify_failure(model, files, res, "op preflight", timeout_s)


def run_opt(
    model: str, files: ModelFiles, target: str, precision: str, *, out_stem: Path, timeout_s: float = 900
) -> Path:
    """Convert to `<out_stem>.nb` and return that path. `out_stem` must not end in `.nb`."""
    if out_stem.name.endswith(".nb"):
        raise ValueError(f"out_stem {out_stem} must not end in .nb: opt appends it")
    res = process.run([*_argv(files, target, precision), "--out", str(out_stem)], timeout_s=timeout_s)
    produced = out_stem.with_name(out_stem.name + ".nb")
    if res.returncode == 0 and not res.timed_out and produced.is_file() and produced.stat().st_size > 0:
        return produced
    produced.unlink(missing_ok=True)
    raise classify_failure(model, files, res, f"conversion to {target}/{precision}", timeout_s)
