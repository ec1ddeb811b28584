"""One variant file: which (target, precision) pairs opt can build, running opt into place, and the file's
manifest entry."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from converter import manifest
from converter.fetch import ModelSource
from converter.model_files import sha256_file
from converter.nb_inspect import NbFormatError, NbInfo, inspect_nb
from converter.opt import ConversionError, run_opt
from converter.program import TensorInfo

if TYPE_CHECKING:
    from converter.spec import ModelSpec

FP16_REQUIRES = (
    "an ARMv8.2-A CPU with fp16 arithmetic (Cortex-A55/A75/A76 and newer; not A53) and a Paddle-Lite runtime "
    "built with --with_arm82_fp16=ON; there is no automatic fallback to fp32"
)
UNBUILDABLE = {
    ("x86", "fp16"): "opt has no fp16 kernels for x86 (the file would equal x86-fp32.nb); fp16 is built for ARM only"
}


def opt_settings(target: str, precision: str) -> dict[str, Any]:
    return {
        "valid_targets": target,
        "enable_fp16": precision == "fp16",
        "quant_model": precision in ("int8", "int16"),
        "quant_type": {"int8": "QUANT_INT8", "int16": "QUANT_INT16"}.get(precision),
    }


def convert_one(
    model: str, source: ModelSource, target: str, precision: str, model_dir: Path
) -> tuple[Path, NbInfo, float]:
    """opt into a temporary name, check the kernels' target, rename into place; no partial file survives."""
    t0 = time.monotonic()
    tmp_stem = model_dir / f".{target}-{precision}.{os.getpid()}.tmp"
    try:
        produced = run_opt(model, source.files, target, precision, out_stem=tmp_stem)
        try:
            info = inspect_nb(produced)
        except NbFormatError as e:
            raise ConversionError(model, "bad_output", f"opt wrote an unreadable file: {e}") from None
        if info.target != target:
            raise ConversionError(model, "bad_output", f"opt was asked for {target}; the .nb holds {info.target}")
        final = model_dir / manifest.nb_name(target, precision)
        os.replace(produced, final)
        return final, info, time.monotonic() - t0
    finally:
        for leftover in model_dir.glob(tmp_stem.name + "*"):
            leftover.unlink(missing_ok=True)


def file_entry(
    final: Path,
    info: NbInfo,
    *,
    target: str,
    precision: str,
    source: ModelSource,
    spec: ModelSpec,
    out: TensorInfo,
    elapsed: float,
    opt_ver: str,
) -> dict[str, Any]:
    return {
        "target": target,
        "precision": precision,
        "sha256": sha256_file(final),
        "size_bytes": final.stat().st_size,
        "opt_version": opt_ver,
        "nb_opt_version": info.opt_version,
        "conversion_format": manifest.CONVERSION_FORMAT,
        "source_kind": source.kind,
        "inputs_sha256": source.sha256,
        "input_shape": list(spec.input_shape),
        "output_name": out.name,
        "output_dtype": out.dtype,
        "op_counts": info.op_counts,
        "conversion_time_s": round(elapsed, 3),
        "settings": opt_settings(target, precision),
        "requires": FP16_REQUIRES if precision == "fp16" else None,
        "weights": "random"
        if source.kind == "standin"
        else ("weight-only quantized" if precision in ("int8", "int16") else precision),
        "converted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
