"""PaddleX 3's `inference.yml`, the preprocessing file of a PaddleX model folder (`inference.json` +
`inference.pdiparams` + `inference.yml`), read as converter.sources.deploy_yaml.DeployInfo.

Two forms (PaddleX's readers and the PaddleSeg / PaddleClas writers it calls): a segmentation model's has PaddleSeg's
`Deploy` mapping (`transforms`: Resize, Normalize; `input_shape`, `output_op`); a classification model's has
`PreProcess.transform_ops`, a list of one-key mappings: ResizeImage (`resize_short` or `size`), CropImage (`size`),
NormalizeImage (`mean`, `std`, `scale`, `order`), ToCHWImage. `Global.model_name` names the model. The toolkit's
preprocessing is one resize to the input shape then normalization, so a resize-short-then-crop pipeline is taken as a
resize to the crop size and said in the warnings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from converter.sources.deploy_yaml import DeployInfo, deploy_info
from converter.sources.model_format import ModelFormatError


def _triple(v: Any, what: str, path: Path) -> tuple[float, float, float]:
    if isinstance(v, list) and len(v) == 3 and all(isinstance(x, (int, float)) for x in v):
        return (float(v[0]), float(v[1]), float(v[2]))
    raise ModelFormatError(f"{path}: NormalizeImage {what} must be a list of 3 numbers, got {v!r}")


def _size(v: Any, what: str, path: Path) -> tuple[int, int]:
    if isinstance(v, int) and v > 0:
        return (v, v)
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and x > 0 for x in v):
        return (v[0], v[1])
    raise ModelFormatError(f"{path}: {what} must be a positive int or [width, height], got {v!r}")


def _classification(ops: Any, path: Path) -> DeployInfo:
    if not isinstance(ops, list) or not all(isinstance(t, dict) and len(t) == 1 for t in ops):
        raise ModelFormatError(f"{path}: PreProcess.transform_ops must be a list of one-key mappings")
    size: tuple[int, int] | None = None
    mean = std = None
    unsupported: list[str] = []
    for t in ops:
        ((kind, args),) = t.items()
        args = args or {}
        if kind == "ResizeImage":
            if "size" in args:
                size = _size(args["size"], "ResizeImage.size", path)
            else:
                unsupported.append(f"ResizeImage(resize_short={args.get('resize_short')}) taken as a plain resize")
        elif kind == "CropImage":
            size = _size(args.get("size", 224), "CropImage.size", path)
            unsupported.append("CropImage: the whole image is resized to the crop size instead")
        elif kind == "NormalizeImage":
            mean = _triple(args.get("mean", [0.485, 0.456, 0.406]), "mean", path)
            std = _triple(args.get("std", [0.229, 0.224, 0.225]), "std", path)
            scale = args.get("scale", 1 / 255)
            if isinstance(scale, str):  # PaddleClas writes '1.0/255.0'
                parts = scale.split("/")
                scale = float(parts[0]) / float(parts[1]) if len(parts) == 2 else float(scale)
            if abs(float(scale) - 1 / 255) > 1e-6:
                raise ModelFormatError(f"{path}: NormalizeImage scale {scale} (the toolkit scales pixels by 1/255)")
            if args.get("order", "") not in ("", "chw", "hwc"):
                raise ModelFormatError(f"{path}: NormalizeImage order {args.get('order')!r} is not known")
        elif kind not in ("ToCHWImage", "DecodeImage"):
            unsupported.append(str(kind))
    return DeployInfo(
        path=path,
        target_size_wh=size,
        mean=mean,
        std=std,
        input_shape=None,
        output_op=None,
        output_dtype=None,
        unsupported_transforms=tuple(unsupported),
    )


def read_inference_yml(path: Path) -> DeployInfo:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ModelFormatError(f"{path}: cannot be read as YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ModelFormatError(f"{path}: the top level must be a mapping (PaddleX inference.yml)")
    if isinstance(raw.get("Deploy"), dict):
        return deploy_info(raw["Deploy"], path)
    pre = raw.get("PreProcess")
    if isinstance(pre, dict):
        return _classification(pre.get("transform_ops"), path)
    raise ModelFormatError(
        f"{path}: neither a 'Deploy' mapping (segmentation) nor 'PreProcess.transform_ops' (classification): "
        "not a PaddleX inference.yml this toolkit reads"
    )
