"""The ncnn target of one conversion: the program opt converts (graph fixes applied), at the model's fixed input
shape, through paddle2onnx and pnnx (converter.ncnn.export), each hop checked on the desktop against Paddle Inference
on the generated images (ONNX with onnxruntime, the ncnn files with the ncnn wheel's x86 kernels, each in a child
process). Files go to <model>/ncnn/ only when every hop passes; the Paddle-Lite files are never touched."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from converter.base import process
from converter.images.generated import generated_images
from converter.images.preprocess import preprocess
from converter.ncnn.export import (
    BIN,
    MIN_RUNTIME,
    PARAM,
    NcnnConversionError,
    check_tools,
    installed,
    to_ncnn,
    to_onnx,
    tool_versions,
)
from converter.program.static_shapes import static_program
from converter.reference.desktop import ReferenceRunner
from converter.schema.manifest_types import InputPreprocess, Manifest, NcnnHop, NcnnInfo
from converter.sources.fetch import ModelSource
from converter.sources.model_files import sha256_file

log = logging.getLogger(__name__)
NCNN_DIR = "ncnn"
TOLERANCE = 1e-4  # fp32 max |diff| against Paddle Inference, each hop (measured: 3e-6 on portrait V2-Lite)
NCNN_FORMAT = 2  # bump when the program sent to paddle2onnx changes (2: split sections, 1x1 upsample nearest)


def ncnn_up_to_date(model_dir: Path, current: Manifest | None, source_key: str) -> bool:
    """The ncnn files of this very source (and graph-fix setting), by these converters, still as written."""
    info = current.ncnn if current is not None else None
    if info is None or info.status != "converted" or info.source_key != source_key or not info.param:
        return False
    if info.tools != _tools():
        return False
    files = [(model_dir / info.param, info.param_sha256), (model_dir / (info.bin or ""), info.bin_sha256)]
    return all(p.is_file() and sha256_file(p) == digest for p, digest in files)


def source_key(source_sha256: dict[str, str], fixes_enabled: bool) -> str:
    key = [source_sha256, fixes_enabled, NCNN_FORMAT]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def ncnn_step(name: str, source: ModelSource, model_dir: Path, pre: InputPreprocess, key: str) -> NcnnInfo:
    """convert_ncnn, its failure recorded instead of raised (the Paddle-Lite files of the model stand)."""
    try:
        info = convert_ncnn(name, source, model_dir, pre)
    except NcnnConversionError as e:
        log.error("error: %s", str(e).splitlines()[0])
        shutil.rmtree(model_dir / NCNN_DIR, ignore_errors=True)
        return NcnnInfo(status="failed", error_kind=e.kind, error=str(e).splitlines()[0], tools=_tools())
    info.source_key = key
    return info


def _tools() -> dict[str, str]:
    return {k: v for k, v in tool_versions().items() if v is not None}


def _worker(args: list[str], inputs: dict[str, NDArray[Any]], tmp: Path, model: str) -> dict[str, NDArray[Any]]:
    src, out = tmp / "in.npz", tmp / "out.npz"
    np.savez(src, **inputs)
    argv = [sys.executable, "-m", "converter.ncnn.worker", *args, "--inputs", str(src), "--outputs", str(out)]
    r = process.run(argv, timeout_s=600)
    if r.returncode != 0 or not out.is_file():
        why = f"crashed ({r.signal_name})" if r.signal_name else f"failed (exit {r.returncode})"
        raise NcnnConversionError(model, "runtime_crash", f"the converted model {why} on the desktop", r.command,
                                  r.tail(4))  # fmt: skip
    with np.load(out) as data:
        return {k: data[k] for k in data.files}


def _hop(runtime: str, ref: dict[str, NDArray[Any]], got: dict[str, NDArray[Any]]) -> NcnnHop:
    diffs, agree = [], []
    for k, want in ref.items():
        have = got[k].reshape(want.shape)
        diffs.append(float(np.max(np.abs(have.astype(np.float64) - want))) if np.isfinite(have).all() else np.inf)
        if want.ndim == 4 and want.shape[1] > 1:
            agree.append(float(np.mean(have.argmax(1) == want.argmax(1))))
    return NcnnHop(
        runtime=runtime, max_abs_diff=max(diffs), argmax_agreement=min(agree) if agree else None, images=len(ref)
    )


def convert_ncnn(name: str, source: ModelSource, model_dir: Path, pre: InputPreprocess) -> NcnnInfo:
    """The ncnn files of `source` (the program opt converts) at the fixed input shape, checked hop by hop;
    NcnnConversionError (classified) when a hop fails, with nothing written."""
    tools = check_tools(name)
    shape = (1, 3, pre.height, pre.width)
    files = source.files
    try:
        program, rewrites = static_program(files.model_file.read_bytes(), shape)
    except ValueError as e:
        raise NcnnConversionError(name, "program_shape", str(e)) from None
    with tempfile.TemporaryDirectory(prefix="pplite-ncnn-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "program").mkdir()
        (tmp / "program" / "model.pdmodel").write_bytes(program)
        shutil.copyfile(files.params_file, tmp / "program" / "model.pdiparams")
        to_onnx(name, tmp / "program", tmp / "model.onnx")
        to_ncnn(name, tmp / "model.onnx", tmp / NCNN_DIR, shape)
        inputs = {f"i{i}": preprocess(bgr, pre) for i, (_, bgr) in enumerate(generated_images())}
        runner = ReferenceRunner(files.model_file, files.params_file)
        ref = {k: next(iter(runner.run([x]).values())) for k, x in inputs.items()}
        onnx = _hop(f"onnxruntime {installed('onnxruntime')}",
                    ref, _worker(["--onnx", str(tmp / "model.onnx")], inputs, tmp, name))  # fmt: skip
        param, weights = tmp / NCNN_DIR / PARAM, tmp / NCNN_DIR / BIN
        x86 = _hop(f"ncnn {tools['ncnn']} (x86)", ref,
                   _worker(["--param", str(param), "--bin", str(weights)], inputs, tmp, name))  # fmt: skip
        for hop in (onnx, x86):
            if not hop.max_abs_diff <= TOLERANCE:
                raise NcnnConversionError(
                    name, "parity", f"{hop.runtime} differs from Paddle Inference by {hop.max_abs_diff:.3g} "
                    f"(> {TOLERANCE:g}) on {hop.images} generated image(s)",
                )  # fmt: skip
        dst = model_dir / NCNN_DIR
        dst.mkdir(parents=True, exist_ok=True)
        for f in (param, weights):
            shutil.copyfile(f, dst / f.name)
    log.info("%s: ncnn: converted; desktop max |diff| onnx %.2g, ncnn x86 %.2g", name, onnx.max_abs_diff,
             x86.max_abs_diff)  # fmt: skip
    return NcnnInfo(
        status="converted",
        param=f"{NCNN_DIR}/{PARAM}",
        bin=f"{NCNN_DIR}/{BIN}",
        param_sha256=sha256_file(dst / PARAM),
        bin_sha256=sha256_file(dst / BIN),
        program_sha256=sha256_file(files.model_file),
        tools=tools,
        min_runtime=MIN_RUNTIME,
        input_shape=list(shape),
        rewrites=rewrites,
        onnx=onnx,
        ncnn_x86=x86,
    )
