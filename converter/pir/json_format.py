"""Reads a Paddle 3 PIR program (`paddle.jit.save`'s `<prefix>.json`) into plain types, without Paddle.

The file is PIR's own serialization (`base_code` + `program.regions[].blocks[].ops[]`): every op names its dialect
and type (`"1.conv2d"`: dialect 1 is pd_op, 0 is builtin; `"p"` is builtin.parameter), its operands as value ids
(`{"%": id}`, 0 for an absent optional operand), its results with their types, and its attributes by name with
typed values (`{"#": "0.a_i32", "D": 1}`). An inference export has one region with one block and no control flow.
What this module cannot decode (another magic, an unknown PIR version, an attribute or type kind it does not know)
is a PirFormatError naming the file and the op.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from converter.sources.model_format import ModelFormatError

# PIR serialization versions (the file's base_code.version) and the Paddle releases that write them, measured with
# paddle.jit.save of each release (3.0.0, 3.1.1, 3.2.2, 3.3.1). A newer one may rename ops or attributes, so it is
# refused, not guessed.
EXPORTED_BY = {1: "Paddle 3.0", 2: "Paddle 3.1", 3: "Paddle 3.2", 4: "Paddle 3.3"}
KNOWN_VERSIONS = tuple(EXPORTED_BY)

_SCALARS = {"0.a_bool", "0.a_i32", "0.a_i64", "0.a_f32", "0.a_f64", "0.a_str", "1.a_dtype"}
_ELEMENT_TYPES = {
    "0.t_f32": "float32",
    "0.t_f64": "float64",
    "0.t_f16": "float16",
    "0.t_bf16": "bfloat16",
    "0.t_i64": "int64",
    "0.t_i32": "int32",
    "0.t_i16": "int16",
    "0.t_i8": "int8",
    "0.t_ui8": "uint8",
    "0.t_bool": "bool",
}
DIALECTS = {"0": "builtin", "1": "pd_op"}


class PirFormatError(ModelFormatError):
    """A PIR program file that this toolkit cannot read (its format, version, or an op's encoding)."""


@dataclass(frozen=True)
class TensorType:
    """A dense tensor's element type and dims (-1: unknown at export)."""

    dtype: str
    dims: tuple[int, ...]

    @property
    def static(self) -> bool:
        return all(d >= 0 for d in self.dims)


@dataclass(frozen=True)
class PirValue:
    """An op result: its id, and its type (a tensor, or a vector of tensors from builtin.combine / split)."""

    id: int
    tensor: TensorType | None
    vector: tuple[TensorType, ...] | None = None


@dataclass(frozen=True)
class PirOp:
    """One op: `name` without its dialect (conv2d, combine, parameter), `dialect` (pd_op, builtin)."""

    index: int
    dialect: str
    name: str
    operands: tuple[int, ...]  # value ids; 0 = absent optional operand
    results: tuple[PirValue, ...]
    attrs: dict[str, Any]

    @property
    def qualified(self) -> str:
        return f"{self.dialect}.{self.name}"


@dataclass(frozen=True)
class PirProgram:
    path: Path
    version: int
    ops: tuple[PirOp, ...]

    def producers(self) -> dict[int, PirOp]:
        return {v.id: op for op in self.ops for v in op.results}

    def value_types(self) -> dict[int, PirValue]:
        return {v.id: v for op in self.ops for v in op.results}

    def parameters(self) -> list[tuple[str, TensorType]]:
        """Every builtin.parameter: its name and type, in the order the program declares them."""
        out = []
        for op in self.ops:
            if op.qualified == "builtin.parameter":
                tensor = op.results[0].tensor
                assert tensor is not None  # _parse_op checked it
                out.append((str(op.attrs["parameter_name"]), tensor))
        return out


def _attr_value(raw: Any, where: str) -> Any:
    if not isinstance(raw, dict) or "#" not in raw:
        raise PirFormatError(f"{where}: an attribute is not a typed value ({raw!r:.80})")
    kind, data = raw["#"], raw.get("D")
    if kind in _SCALARS:
        return data
    if not isinstance(data, list):
        raise PirFormatError(f"{where}: a {kind} attribute without a list value")
    if kind == "0.a_array":
        return [_attr_value(x, where) for x in data]
    if kind == "1.a_intarray":
        return [int(x) for x in data]
    if kind == "1.a_place":
        return None  # where a tensor lives at export (CPU/GPU): meaningless on a phone
    raise PirFormatError(f"{where}: attribute kind {kind!r} is not known to this toolkit's PIR reader")


def _tensor_type(raw: Any, where: str) -> TensorType:
    if not isinstance(raw, dict) or raw.get("#") != "0.t_dtensor":
        raise PirFormatError(f"{where}: result type {raw.get('#') if isinstance(raw, dict) else raw!r} is not known")
    element, dims = raw["D"][0], raw["D"][1]
    dtype = _ELEMENT_TYPES.get(str(element.get("#"))) if isinstance(element, dict) else None
    if dtype is None:
        raise PirFormatError(f"{where}: element type {element!r} is not known to this toolkit's PIR reader")
    return TensorType(dtype, tuple(int(d) for d in dims))


def _value(raw: Any, where: str) -> PirValue:
    if raw is None or not isinstance(raw, dict) or "%" not in raw:
        raise PirFormatError(f"{where}: a result has no value id")
    kind = raw.get("TT", {}).get("#") if isinstance(raw.get("TT"), dict) else None
    if kind == "0.t_vec":
        return PirValue(int(raw["%"]), None, tuple(_tensor_type(t, where) for t in raw["TT"]["D"]))
    if kind is None:  # a result with no type: only ops that produce nothing usable (none in inference exports)
        return PirValue(int(raw["%"]), None)
    return PirValue(int(raw["%"]), _tensor_type(raw["TT"], where))


def _parse_op(index: int, raw: dict[str, Any], path: Path) -> PirOp:
    tag = str(raw.get("#", ""))
    if tag == "p":  # builtin.parameter: A = [?, ?, ?, name], one typed result
        where = f"{path}: op #{index} (builtin.parameter)"
        attrs = raw.get("A", [])
        if not isinstance(attrs, list) or len(attrs) < 4 or not isinstance(attrs[-1], str):
            raise PirFormatError(f"{where}: no parameter name")
        value = _value(raw.get("O"), where)
        if value.tensor is None:
            raise PirFormatError(f"{where}: the parameter is not a dense tensor")
        return PirOp(index, "builtin", "parameter", (), (value,), {"parameter_name": attrs[-1]})
    dialect_id, _, name = tag.partition(".")
    dialect = DIALECTS.get(dialect_id)
    if dialect is None or not name:
        raise PirFormatError(f"{path}: op #{index} ({tag!r}) is of a dialect this toolkit does not know")
    where = f"{path}: op #{index} ({dialect}.{name})"
    attrs = {a["N"]: _attr_value(a["AT"], f"{where}, attribute {a.get('N')!r}") for a in raw.get("A", [])}
    results = raw.get("O", [])
    results = results if isinstance(results, list) else [results]
    operands = tuple(int(x["%"]) for x in raw.get("I", []))
    return PirOp(index, dialect, name, operands, tuple(_value(r, where) for r in results), attrs)


def read_pir(path: Path) -> PirProgram:
    """Parse a PIR program file; PirFormatError names the file and what is wrong."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PirFormatError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise PirFormatError(f"{path}: not a PIR program (it does not parse as JSON: {e})") from None
    base = raw.get("base_code") if isinstance(raw, dict) else None
    if not isinstance(base, dict) or base.get("magic") != "pir":
        raise PirFormatError(f"{path}: not a PIR program (no base_code with magic 'pir')")
    version = base.get("version")
    if version not in KNOWN_VERSIONS:
        raise PirFormatError(
            f"{path}: PIR format version {version!r}, newer than this toolkit reads (versions "
            f"{min(KNOWN_VERSIONS)}-{max(KNOWN_VERSIONS)}: {EXPORTED_BY[min(KNOWN_VERSIONS)]} to "
            f"{EXPORTED_BY[max(KNOWN_VERSIONS)]}); export with {EXPORTED_BY[max(KNOWN_VERSIONS)]} or update the toolkit"
        )
    try:
        regions = raw["program"]["regions"]
        blocks = regions[0]["blocks"]
        ops = blocks[0]["ops"]
    except (KeyError, IndexError, TypeError):
        raise PirFormatError(f"{path}: no program.regions[0].blocks[0].ops (a truncated or foreign file)") from None
    if len(regions) != 1 or len(blocks) != 1:
        raise PirFormatError(f"{path}: {len(regions)} region(s) / {len(blocks)} block(s); an inference export has one")
    try:
        parsed = tuple(_parse_op(i, op, path) for i, op in enumerate(ops))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise PirFormatError(f"{path}: an op is not in PIR's JSON form ({type(e).__name__}: {e})") from None
    if not parsed:
        raise PirFormatError(f"{path}: the program has no operators")
    return PirProgram(path, int(version), parsed)
