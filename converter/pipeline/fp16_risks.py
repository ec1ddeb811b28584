"""What in a program the ARM fp16 kernels are known to turn into inf/NaN (docs/parity.md), found before opt so that
the converter can warn about an fp16 variant, naming the op:

- a convolution matching the gemv tail-read rule (converter/program/gemv_tail.py) that no graph fix rewrote
  (graph fixes off, or rejected by their parity check);
- a float parameter with a value past fp16's range: Paddle-Lite converts fp32 weights and biases to fp16 when it
  loads an fp16 model, so |value| >= 65520 becomes inf, and so does what the op computes with it.

Both are facts of the program and its parameters, independent of the input photo."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from converter.pir.params import StoredTensor, read_tensor_headers
from converter.program.gemv_tail import matching_convs
from converter.program.graph_fixes import parse_program
from converter.program.static_shapes import static_dims
from converter.sources.model_files import ModelFiles
from converter.sources.model_format import ModelFormatError

log = logging.getLogger(__name__)
FP16_OVERFLOW = 65520.0  # the smallest magnitude that rounds to inf in fp16 (its largest finite value is 65504)
_FP32 = "float32"


@dataclass(frozen=True)
class OutOfRangeParam:
    param: str
    largest_abs: float
    read_by: str  # "op_type -> output tensor"


def _stored_by_name(block: Any, params_file: Path) -> dict[str, StoredTensor]:
    """The combined parameter file's tensors by name: Paddle saves the persistable tensors sorted by name."""
    names = sorted(
        v.name
        for v in block.vars
        if v.persistable and v.type.HasField("lod_tensor") and v.name not in ("feed", "fetch")
    )
    stored = read_tensor_headers(params_file)
    if len(stored) != len(names):
        raise ModelFormatError(f"{params_file}: {len(stored)} tensors for {len(names)} persistable variables")
    return dict(zip(names, stored, strict=True))


def out_of_range_params(files: ModelFiles) -> list[OutOfRangeParam]:
    """Float parameters that fp16 cannot hold, with the op that reads each."""
    block = parse_program(files.model_file.read_bytes(), str(files.model_file)).blocks[0]
    stored = _stored_by_name(block, files.params_file)
    largest: dict[str, float] = {}  # each float parameter read and scanned once, however many ops read it
    with files.params_file.open("rb") as f:
        for name, t in stored.items():
            if t.dtype == _FP32 and t.size_bytes > 0:
                f.seek(t.offset)
                largest[name] = float(np.max(np.abs(np.frombuffer(f.read(t.size_bytes), np.float32))))
    found = []
    for op in block.ops:
        out = next((a for s in op.outputs for a in s.arguments), "?")
        for name in (a for s in op.inputs for a in s.arguments):
            if largest.get(name, 0.0) >= FP16_OVERFLOW:
                found.append(OutOfRangeParam(name, largest[name], f"{op.type} -> {out}"))
    return found


def fp16_warnings(files: ModelFiles, input_shape: tuple[int, ...]) -> list[str]:
    """One line per op of the program going to opt that the ARM fp16 kernels are known to break."""
    if files.layout not in ("pdmodel", "__model__", "model+params"):
        return []
    lines = []
    data = files.model_file.read_bytes()
    block = parse_program(data, str(files.model_file)).blocks[0]
    for conv in matching_convs(block, static_dims(data, input_shape)):
        lines.append(
            f"fp16 on ARM: {conv.describe()}; no graph fix rewrote it, so that channel may be NaN "
            "(turn the graph fixes on, or see docs/parity.md)"
        )
    if files.layout in ("pdmodel", "model+params"):  # one combined parameter file
        try:
            risky = out_of_range_params(files)
        except ModelFormatError as e:
            log.debug("fp16 range check skipped: %s", e)
            risky = []
        for p in risky:
            lines.append(
                f"fp16 on ARM: {p.read_by} reads {p.param}, whose largest |value| {p.largest_abs:.4g} is past "
                "fp16's range (65504): the fp16 variant computes inf there; keep this model in fp32 or int8"
            )
    return lines
