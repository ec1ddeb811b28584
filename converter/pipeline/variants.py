"""One variant file: which (target, precision) pairs opt can build, running opt into place, and the file's
manifest entry."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from converter.artifacts import manifest
from converter.base.errors import ToolkitError
from converter.nb.inspect import NbFormatError, NbInfo, inspect_nb
from converter.opt.run import ConversionError, run_opt
from converter.program.read import TensorInfo
from converter.quant.quantize import Int8Plan, Quantized, keep_program, quantize
from converter.schema.manifest_types import FileEntry, InputPreprocess, Manifest, OptSettings, Quantization
from converter.sources.fetch import ModelSource
from converter.sources.model_files import sha256_file

if TYPE_CHECKING:
    from converter.sources.spec import ModelSpec

log = logging.getLogger(__name__)
FP16_REQUIRES = (
    "an ARMv8.2-A CPU with fp16 arithmetic (Cortex-A55/A75/A76 and newer; not A53) and a Paddle-Lite runtime "
    "built with --with_arm82_fp16=ON; there is no automatic fallback to fp32"
)
UNBUILDABLE = {
    ("x86", "fp16"): "opt has no fp16 kernels for x86 (the file would equal x86-fp32.nb); fp16 is built for ARM only",
    ("x86", "int8"): (
        "Paddle-Lite 2.13's x86 int8 kernels disagree with the quantized program (measured on portrait V2-Lite: "
        "argmax agreement 40-79 % vs fp32 where the same program agrees 99 %+ on Paddle Inference and on the ARM "
        "kernels); full int8 is built for ARM only"
    ),
}


WEIGHT_ONLY = {"int8w": "QUANT_INT8", "int16w": "QUANT_INT16"}


def builds_int8(precisions: tuple[str, ...] | list[str], targets: tuple[str, ...] | list[str]) -> bool:
    """Whether a full-int8 file will be built (and so calibration images are needed)."""
    return "int8" in precisions and any((t, "int8") not in UNBUILDABLE for t in targets)


def opt_settings(target: str, precision: str) -> dict[str, Any]:
    return {
        "valid_targets": target,
        "enable_fp16": precision == "fp16",
        "quant_model": precision in WEIGHT_ONLY,  # full int8 takes a quantized program: opt runs as for fp32
        "quant_type": WEIGHT_ONLY.get(precision),
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
) -> FileEntry:
    return FileEntry(
        target=target,  # type: ignore[arg-type]  # "arm" | "x86", validated
        precision=precision,
        sha256=sha256_file(final),
        size_bytes=final.stat().st_size,
        opt_version=opt_ver,
        nb_opt_version=info.opt_version,
        conversion_format=manifest.CONVERSION_FORMAT,
        source_kind=source.kind,
        inputs_sha256=source.sha256,
        input_shape=list(spec.input_shape),
        output_name=out.name,
        output_dtype=out.dtype,
        op_counts=info.op_counts,
        conversion_time_s=round(elapsed, 3),
        settings=OptSettings(**opt_settings(target, precision)),
        requires=FP16_REQUIRES if precision == "fp16" else None,
        weights="random"
        if source.kind == "standin"
        else ("weight-only quantized" if precision in WEIGHT_ONLY else precision),
        int8_kernels=info.int8_kernels,
        converted_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


@dataclass(frozen=True)
class VariantInputs:
    """What every variant of one model is converted from."""

    source: ModelSource  # the model as found (its checksums go into the manifest)
    program: ModelSource  # what opt converts: the graph-fixed program (or the original)
    out: TensorInfo
    pre: InputPreprocess
    opt_ver: str
    fixes_enabled: bool
    int8: Int8Plan | None = None  # full int8: how to quantize `program` first
    int8_key: str | None = None


def convert_variants(
    spec: ModelSpec, todo: list[tuple[str, str]], model_dir: Path, data: Manifest, inputs: VariantInputs
) -> None:
    """opt for each (target, precision) of `todo`; full int8 from the program quantized once (cached); the manifest
    is rewritten after each file, so a later failure keeps what was converted."""
    quantized: Quantized | None = None
    program_sha256 = ""
    for target, precision in todo:
        program = inputs.program
        if precision == "int8":
            if inputs.int8 is None:
                raise ToolkitError(f"{spec.name}: int8 needs calibration images")
            plan = inputs.int8
            if quantized is None:
                quantized = quantize(
                    spec.name,
                    program,
                    calib=plan.calib,
                    pre=inputs.pre,
                    settings=plan.settings,
                    cache_dir=plan.cache_dir,
                )
                program_sha256 = keep_program(quantized, model_dir)
            program = quantized.source
        final, info, elapsed = convert_one(spec.name, program, target, precision, model_dir)
        entry = file_entry(
            final,
            info,
            source=inputs.source,
            spec=spec,
            out=inputs.out,
            elapsed=elapsed,
            opt_ver=inputs.opt_ver,
            target=target,
            precision=precision,
        )
        entry.graph_fixes_enabled = inputs.fixes_enabled
        if quantized is not None and precision == "int8":
            entry.quantization = Quantization(**quantized.to_json(), key=inputs.int8_key, program_sha256=program_sha256)
        data.files[final.name] = entry
        manifest.write(model_dir, data)
        log.info("%s: wrote %s (%d bytes, %.2f s)", spec.name, final, final.stat().st_size, elapsed)
