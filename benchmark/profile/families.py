"""Kernel families of the cost profile, from configs/kernel_families.yaml: op type to family, convolutions split by
filter shape, and the precision of the kernel (int8, fp16) appended."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from converter.nb.program import NbOp

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "kernel_families.yaml"
PRECISION_SUFFIX = {2: " int8", 5: " fp16"}  # paddle_place.h kInt8, kFP16
RUNTIME = "runtime"


class FamilyTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nested_kernels: list[str]
    conv_ops: list[str]
    families: dict[str, list[str]]

    def family_of_type(self, op_type: str) -> str:
        for family, types in self.families.items():
            if op_type in types:
                return family
        return "other"

    def is_nested(self, kernel_class: str) -> bool:
        """A conv algorithm class (arm::GemmLikeConv<1,1>) rather than an op's own kernel."""
        base = kernel_class.split("<", 1)[0].rsplit("::", maxsplit=1)[-1]
        return base in self.nested_kernels


@lru_cache(maxsize=2)
def family_table(path: Path = CONFIG) -> FamilyTable:
    return FamilyTable.model_validate(yaml.safe_load(path.read_text()))


def conv_family(op: NbOp, dims: dict[str, tuple[int, ...]]) -> str:
    filt = dims.get(op.inputs.get("Filter", ("",))[0], ())
    groups = op.attrs.get("groups", 1)
    if len(filt) != 4:
        return "conv"
    out_c, in_per_group, kh, kw = filt
    if isinstance(groups, int) and groups > 1 and in_per_group == 1 and groups == out_c:
        return "conv depthwise"
    if (kh, kw) == (1, 1):
        return "conv 1x1"
    if (kh, kw) == (3, 3):
        return "conv 3x3"
    return "conv kxk"


def family_of(op: NbOp, dims: dict[str, tuple[int, ...]]) -> str:
    table = family_table()
    base = conv_family(op, dims) if op.type in table.conv_ops else table.family_of_type(op.type)
    return base + PRECISION_SUFFIX.get(op.precision or 1, "")
