"""configs/pir_ops.yaml as types: which Paddle 2.6 op each PIR op becomes, operand by operand (see the file's
header for the keys). Unknown keys are rejected with the file and key named."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from converter.base.errors import ToolkitError
from converter.base.locations import CONFIGS
from converter.base.strict import Frozen
from converter.base.yaml_files import problems, read_mapping

PIR_OPS = CONFIGS / "pir_ops.yaml"


class PirTableError(ToolkitError):
    """configs/pir_ops.yaml is missing or malformed."""


class AttrOperand(Frozen):
    """A PIR operand that Paddle 2.6 takes as an attribute (a list: spread over several)."""

    attr: str | list[str]

    @property
    def names(self) -> list[str]:
        return [self.attr] if isinstance(self.attr, str) else list(self.attr)


Operand = str | AttrOperand | None


class OpMapping(Frozen):
    type: str
    inputs: list[Operand]
    outputs: list[str | None]
    rename: dict[str, str] = Field(default_factory=dict)
    drop: list[str] = Field(default_factory=list)
    set: dict[str, Any] = Field(default_factory=dict)
    in_place: dict[str, str] = Field(default_factory=dict)
    input_dtype: dict[str, int] = Field(default_factory=dict)

    def legacy_attr(self, pir_name: str) -> str:
        return self.rename.get(pir_name, pir_name)


class PirOpTable(Frozen):
    ignored_attributes: list[str]
    ops: dict[str, OpMapping]


@cache
def load_pir_table(path: Path = PIR_OPS) -> PirOpTable:
    raw = read_mapping(path, PirTableError, missing="it ships with the toolkit", top="ignored_attributes, ops")
    try:
        return PirOpTable.model_validate(raw)
    except ValidationError as e:
        raise PirTableError(f"{path}: {problems(e, limit=5)}") from None
