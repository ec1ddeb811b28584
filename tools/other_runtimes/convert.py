"""Host side: the ONNX file converted for the other runtimes, each converter run from its own throwaway venv under
build/other-runtimes (never the toolkit's): MNN's converter (the x86 MNN wheel), onnx2tf for LiteRT, and
onnxconverter-common for a float16 ONNX file (ONNX Runtime's fp16 path). A conversion that fails is recorded with
its reason; the runtime's rows are then `failed`, the others go on."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from converter.base import process

HERE = Path(__file__).resolve().parent
DONE = "conversions.json"


@dataclass(frozen=True)
class Converters:
    """The converter entry points (each in its own venv) and their pinned versions; a missing one is `why`."""

    mnn_python: Path | None
    onnx2tf: Path | None
    fp16_python: Path | None
    versions: dict[str, str]
    missing: dict[str, str]


@dataclass(frozen=True)
class Conversion:
    files: tuple[str, ...]  # what it writes beside model.onnx
    tool: str  # key in Converters.versions
    error: str | None = None
    missing: bool = False  # the converter itself is not there: its rows are not_measured, not failed


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _failure(what: str, r: process.ProcessResult) -> str:
    if r.timed_out:
        return f"{what} did not finish in time"
    lines = [ln.strip() for ln in (r.stderr + r.stdout).splitlines() if ln.strip() and "Warning" not in ln]
    how = f"crashed ({r.signal_name})" if r.signal_name else f"failed (exit {r.returncode})"
    return f"{what} {how}: {lines[-1][:200] if lines else 'no output'}"


def _mnn(onnx: Path, tools: Converters, tmp: Path) -> str | None:
    assert tools.mnn_python is not None
    argv = [str(tools.mnn_python), str(HERE / "convert_mnn.py"), str(onnx), str(tmp / "model.mnn")]
    r = process.run(argv, timeout_s=600)
    ok = r.returncode == 0 and (tmp / "model.mnn").is_file() and "Converted Success" in r.stdout + r.stderr
    return None if ok else _failure("MNN's converter", r)


def _litert(onnx: Path, tools: Converters, tmp: Path) -> str | None:
    assert tools.onnx2tf is not None
    # tf_converter: the default flatbuffer_direct backend of onnx2tf 2.6.9 writes a model of PP-HumanSeg that
    # LiteRT refuses (an SE block's Mul left in NCHW: "not broadcastable"); TensorFlow's converter writes a right one
    argv = [str(tools.onnx2tf), "-i", str(onnx), "-o", str(tmp / "tf"), "-tb", "tf_converter", "-n"]
    path = f"{tools.onnx2tf.parent}{os.pathsep}{os.environ.get('PATH', '')}"  # onnx2tf runs onnxsim from PATH
    r = process.run(argv, timeout_s=1200, env={"PATH": path, "CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "2"})
    for name in ("model_float32.tflite", "model_float16.tflite"):
        if r.returncode != 0 or not (tmp / "tf" / name).is_file():
            return _failure("onnx2tf", r)
        shutil.copyfile(tmp / "tf" / name, tmp / name)
    return None


def _fp16_onnx(onnx: Path, tools: Converters, tmp: Path) -> str | None:
    assert tools.fp16_python is not None
    argv = [str(tools.fp16_python), str(HERE / "convert_fp16_onnx.py"), str(onnx), str(tmp / "model_fp16.onnx")]
    r = process.run(argv, timeout_s=600)
    return None if r.returncode == 0 and (tmp / "model_fp16.onnx").is_file() else _failure("onnxconverter-common", r)


STEPS = {
    "mnn": (("model.mnn",), "MNN", _mnn, "mnn_python"),
    "litert": (("model_float32.tflite", "model_float16.tflite"), "onnx2tf", _litert, "onnx2tf"),
    "ort-fp16": (("model_fp16.onnx",), "onnxconverter-common", _fp16_onnx, "fp16_python"),
}


def convert_all(model_dir: Path, tools: Converters) -> dict[str, Conversion]:
    """Every conversion of model_dir/model.onnx, made again only when the ONNX file or a converter changed (or
    it failed last time)."""
    onnx = model_dir / "model.onnx"
    done_file = model_dir / DONE
    done = json.loads(done_file.read_text()) if done_file.is_file() else {}
    key = _sha256(onnx)
    out: dict[str, Conversion] = {}
    for name, (files, tool, step, attr) in STEPS.items():
        version = tools.versions.get(tool, "")
        if done.get(name) == [key, version] and all((model_dir / f).is_file() for f in files):
            out[name] = Conversion(files, tool)
            continue
        if getattr(tools, attr) is None:
            out[name] = Conversion(files, tool, tools.missing.get(tool, f"{tool} is not installed"), missing=True)
            continue
        print(f"{model_dir.name}: converting for {name} with {tool} {version}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="other-runtimes-") as tmp_name:
            error = step(onnx, tools, Path(tmp_name))
            for f in files if error is None else ():
                shutil.copyfile(Path(tmp_name) / f, model_dir / f)
        out[name] = Conversion(files, tool, error)
        if error is None:  # a failed conversion is tried again next time
            done[name] = [key, version]
            done_file.write_text(json.dumps(done, indent=2) + "\n")
    return out
