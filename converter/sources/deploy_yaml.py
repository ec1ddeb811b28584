"""PaddleSeg's deploy.yaml, the preprocessing file beside an exported program, read as DeployInfo: the 2.6 form
(transforms only) and the 2.7/2.8 form (`input_shape`, `output_op`, `output_dtype`). A PaddleX segmentation model's
inference.yml holds the same `Deploy` mapping (converter.sources.paddlex_yml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from converter.sources.model_format import ModelFormatError


@dataclass(frozen=True)
class DeployInfo:
    """The parts of PaddleSeg's deploy.yaml the toolkit uses."""

    path: Path
    target_size_wh: tuple[int, int] | None
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None
    input_shape: tuple[int, ...] | None
    output_op: str | None
    output_dtype: str | None
    unsupported_transforms: tuple[str, ...] = ()


def _triple(v: Any, what: str, path: Path) -> tuple[float, float, float]:
    if isinstance(v, (int, float)):
        f = float(v)
        return (f, f, f)
    if isinstance(v, list) and len(v) == 3:
        try:
            return (float(v[0]), float(v[1]), float(v[2]))
        except (TypeError, ValueError):
            pass
    raise ModelFormatError(f"{path}: Normalize {what} must be a number or a list of 3 numbers, got {v!r}")


def read_deploy_yaml(path: Path) -> DeployInfo:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ModelFormatError(f"{path}: cannot be read as YAML: {e}") from e
    if not isinstance(raw, dict) or not isinstance(raw.get("Deploy"), dict):
        raise ModelFormatError(f"{path}: expected a top-level 'Deploy' mapping (PaddleSeg export format)")
    return deploy_info(raw["Deploy"], path)


def deploy_info(dep: dict[str, Any], path: Path) -> DeployInfo:
    """PaddleSeg's `Deploy` mapping (deploy.yaml, or a PaddleX segmentation model's inference.yml)."""
    size: tuple[int, int] | None = None
    mean = std = None
    unsupported: list[str] = []
    transforms = dep.get("transforms") or []
    if not isinstance(transforms, list):
        raise ModelFormatError(f"{path}: Deploy.transforms must be a list")
    for t in transforms:
        kind = t.get("type") if isinstance(t, dict) else None
        if kind == "Resize":
            ts = t.get("target_size", [512, 512])
            if not (isinstance(ts, list) and len(ts) == 2 and all(isinstance(x, int) and x > 0 for x in ts)):
                raise ModelFormatError(f"{path}: Resize.target_size must be [width, height], got {ts!r}")
            size = (ts[0], ts[1])
        elif kind == "Normalize":
            mean = _triple(t.get("mean", 0.5), "mean", path)
            std = _triple(t.get("std", 0.5), "std", path)
        else:
            unsupported.append(str(kind))
    if mean is None and any(isinstance(t, dict) and t.get("type") == "Normalize" for t in transforms):
        mean = std = (0.5, 0.5, 0.5)
    shape = dep.get("input_shape")
    input_shape = None
    if shape is not None:
        if not (isinstance(shape, list) and all(isinstance(x, int) or x is None for x in shape)):
            raise ModelFormatError(f"{path}: Deploy.input_shape must be a list of ints, got {shape!r}")
        input_shape = tuple(-1 if x is None else int(x) for x in shape)
    out_op = dep.get("output_op")
    out_dtype = dep.get("output_dtype")
    return DeployInfo(
        path=path,
        target_size_wh=size,
        mean=mean,
        std=std,
        input_shape=input_shape,
        output_op=str(out_op) if out_op is not None else None,
        output_dtype=str(out_dtype) if out_dtype is not None else None,
        unsupported_transforms=tuple(unsupported),
    )
