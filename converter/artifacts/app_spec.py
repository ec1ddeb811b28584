"""model_spec.json beside the .nb files: the few facts an app needs to run a converted model exactly as the
zoo does (input shape, resize, scale/mean/std, channel order, output name, what the output holds and its dtype).
The Android demo reads it, so a model swapped in from the converter just works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from converter.base import atomic_files
from converter.schema.manifest_types import Manifest

SPEC_NAME = "model_spec.json"
SPEC_VERSION = 1


def output_kind(dtype: str, op: str) -> str:
    """argmax: an integer label map; softmax: per-class probabilities; logits: per-class scores (apply softmax)."""
    if dtype.startswith("int"):
        return "argmax"
    return "softmax" if op == "softmax" else "logits"


def app_spec(manifest: Manifest) -> dict[str, Any]:
    pre = manifest.preprocess
    return {
        "schema_version": SPEC_VERSION,
        "model": manifest.model,
        "title": manifest.title or manifest.model,
        "weights": manifest.weights,
        "input_name": manifest.input_name,
        "input_shape": list(manifest.input_shape),
        "preprocess": {
            "width": pre.width,
            "height": pre.height,
            "resize": "bilinear",
            "channel_order": pre.channel_order,
            "scale": pre.scale,
            "mean": list(pre.mean),
            "std": list(pre.std),
        },
        "output": {
            "name": manifest.output_name,
            "dtype": manifest.output_dtype,
            "kind": output_kind(manifest.output_dtype, manifest.output_op),
            "foreground_class": 1,
        },
        "files": {
            name: {"target": e.target, "precision": e.precision, "sha256": e.sha256}
            for name, e in sorted(manifest.files.items())
        },
    }


def write_spec(model_dir: Path, manifest: Manifest) -> Path:
    path = model_dir / SPEC_NAME
    atomic_files.write_json(path, app_spec(manifest))
    return path
