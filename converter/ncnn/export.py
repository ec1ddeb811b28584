"""The ncnn converters' seam: paddle2onnx and pnnx, each run in a child process with a deadline, their versions
read from the installed packages (never imported here: pnnx's Python package imports torch; the executable it ships
does not need it) and their failures classified into NcnnConversionError.

Versions are paired: the model files that pnnx `PNNX_VERSION` writes load in ncnn from runtime
`MIN_RUNTIME` on (the Reshape layers it writes carry batch axes, which older ncnn refuses); the desktop wheel and the
ARM runtime are checked against it like opt's version against Paddle-Lite's."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from converter.base import process
from converter.base.errors import ToolkitError

PADDLE2ONNX_VERSION = "1.3.1"  # the last paddle2onnx that reads Paddle 2.6 programs (2.x needs Paddle >= 3)
PNNX_VERSION = "20261020"
NCNN_WHEEL_VERSION = "1.0.20261020"  # the desktop (x86) runtime of the hop-by-hop parity
MIN_RUNTIME = "1.0.20260722"  # the oldest ncnn that loads what PNNX_VERSION writes (batch-axis Reshape)
OPSET = 13  # paddle2onnx raises it where an op needs more (hard_swish: 14)
PARAM, BIN = "model.ncnn.param", "model.ncnn.bin"


@dataclass
class NcnnConversionError(ToolkitError):
    """A step of the ncnn conversion failed. kind: tools_missing | program_shape | to_onnx | to_ncnn | timeout |
    parity (the converted model computes something else) | runtime_crash."""

    model: str
    kind: str
    detail: str
    command: str = ""
    output_tail: str = ""
    ops: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        msg = f"{self.model}: ncnn: {self.detail}"
        if self.output_tail:
            msg += "\n  last output:\n    " + self.output_tail.replace("\n", "\n    ")
        return msg


def installed(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def tool_versions() -> dict[str, str | None]:
    return {"paddle2onnx": installed("paddle2onnx"), "pnnx": installed("pnnx"), "ncnn": installed("ncnn")}


def check_tools(model: str) -> dict[str, str]:
    """The pinned converter versions, installed; NcnnConversionError naming what is missing or different."""
    want = {"paddle2onnx": PADDLE2ONNX_VERSION, "pnnx": PNNX_VERSION, "ncnn": NCNN_WHEEL_VERSION}
    have = tool_versions()
    wrong = [f"{k} {have[k] or 'not installed'} (want {v})" for k, v in want.items() if have[k] != v]
    if wrong:
        raise NcnnConversionError(
            model, "tools_missing", f"the ncnn converters are not as pinned: {', '.join(wrong)}; run `make setup`"
        )
    return {k: str(v) for k, v in have.items()}


def pnnx_executable() -> Path:
    spec = importlib.util.find_spec("pnnx")  # finds the package without running its __init__ (which needs torch)
    folder = Path(next(iter(spec.submodule_search_locations or []))) if spec else None
    exe = folder / "pnnx" if folder else None
    if exe is None or not exe.is_file():
        raise NcnnConversionError("", "tools_missing", "pnnx's executable is not installed: run `make setup`")
    return exe


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


def to_onnx(model: str, program_dir: Path, onnx: Path, *, timeout_s: float = 600) -> None:
    """paddle2onnx on a folder holding model.pdmodel + model.pdiparams (at a static input shape)."""
    argv = [sys.executable, "-m", "paddle2onnx.command", "--model_dir", str(program_dir)]
    argv += ["--model_filename", "model.pdmodel", "--params_filename", "model.pdiparams"]
    argv += ["--save_file", str(onnx), "--opset_version", str(OPSET), "--enable_onnx_checker", "True"]
    r = process.run(argv, timeout_s=timeout_s)
    if r.timed_out:
        raise NcnnConversionError(model, "timeout", f"paddle2onnx did not finish in {timeout_s:.0f} s", r.command)
    errors = [line for line in (r.stdout + r.stderr).splitlines() if "[ERROR]" in line or "Oops" in line]
    if r.returncode != 0 or not onnx.is_file() or errors:
        ops = sorted(set(re.findall(r"\[([a-z0-9_]+):", "\n".join(errors))))
        what = f"paddle2onnx cannot convert {', '.join(ops)}" if ops else "paddle2onnx failed"
        raise NcnnConversionError(model, "to_onnx", what, r.command, r.tail(6), ops)


def to_ncnn(model: str, onnx: Path, out_dir: Path, input_shape: tuple[int, ...], *, timeout_s: float = 600) -> None:
    """pnnx on the ONNX file, fp32 weights kept (fp16=0: pnnx stores fp16 weights otherwise); writes PARAM and BIN
    into out_dir. pnnx writes its intermediate files beside its input: it runs in a temporary folder."""
    exe = pnnx_executable()
    with tempfile.TemporaryDirectory(prefix="pplite-pnnx-") as tmp:
        src = Path(tmp) / "model.onnx"
        src.write_bytes(onnx.read_bytes())
        shape = ",".join(map(str, input_shape))
        r = process.run([str(exe), str(src), "fp16=0", f"inputshape=[{shape}]"], timeout_s=timeout_s, cwd=tmp)
        if r.timed_out:
            raise NcnnConversionError(model, "timeout", f"pnnx did not finish in {timeout_s:.0f} s", r.command)
        param, weights = Path(tmp) / "model.ncnn.param", Path(tmp) / "model.ncnn.bin"
        if r.returncode != 0 or not param.is_file() or not weights.is_file():
            ignored = sorted(set(re.findall(r"ignore (\S+) ", r.stdout + r.stderr)))
            detail = f"pnnx cannot convert {', '.join(ignored)}" if ignored else "pnnx failed"
            raise NcnnConversionError(model, "to_ncnn", detail, r.command, r.tail(6), ignored)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / PARAM).write_bytes(param.read_bytes())
        (out_dir / BIN).write_bytes(weights.read_bytes())
