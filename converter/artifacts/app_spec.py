"""model_spec.json beside the .nb files: the few facts an app needs to run a converted model exactly as the
zoo does (input shape, resize, scale/mean/std, channel order, output name, what the output holds and its dtype).
The Android demo reads it, so a model swapped in from the converter just works."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from converter.base import atomic_files
from converter.base.strict import Strict
from converter.images.temporal import SmoothingParams
from converter.schema.manifest_types import Manifest

SPEC_NAME = "model_spec.json"
SPEC_VERSION = 1


def output_kind(dtype: str, op: str) -> str:
    """argmax: an integer label map; softmax: per-class probabilities; logits: per-class scores (apply softmax)."""
    if dtype.startswith("int"):
        return "argmax"
    return "softmax" if op == "softmax" else "logits"


class SpecPreprocess(Strict):
    width: int
    height: int
    resize: Literal["bilinear"] = "bilinear"
    channel_order: Literal["rgb", "bgr"]
    scale: float
    mean: list[float]
    std: list[float]


class SpecOutput(Strict):
    name: str
    dtype: str
    kind: Literal["argmax", "softmax", "logits"]
    foreground_class: int = 1


class SpecTemporal(Strict):
    """Temporal smoothing of a video's probabilities (converter/images/temporal.py; the Java core's
    TemporalSmoother): a gated exponential moving average."""

    smoothing: Literal["gated_ema"] = "gated_ema"
    alpha: float = SmoothingParams().alpha
    gate: float = SmoothingParams().gate

    def params(self) -> SmoothingParams:
        return SmoothingParams(alpha=self.alpha, gate=self.gate)


class SpecFile(Strict):
    target: str
    precision: str
    sha256: str


class AppSpec(Strict):
    """model_spec.json: what the app needs to run the model (the Java core reads the same keys)."""

    schema_version: int = SPEC_VERSION
    model: str
    title: str
    weights: Literal["trained", "random"]
    input_name: str
    input_shape: list[int]
    preprocess: SpecPreprocess
    output: SpecOutput
    temporal: SpecTemporal = SpecTemporal()
    files: dict[str, SpecFile]


def app_spec(manifest: Manifest) -> AppSpec:
    pre = manifest.preprocess
    return AppSpec(
        model=manifest.model,
        title=manifest.title or manifest.model,
        weights=manifest.weights,
        input_name=manifest.input_name,
        input_shape=list(manifest.input_shape),
        preprocess=SpecPreprocess(
            width=pre.width,
            height=pre.height,
            channel_order=pre.channel_order,
            scale=pre.scale,
            mean=list(pre.mean),
            std=list(pre.std),
        ),
        output=SpecOutput(
            name=manifest.output_name,
            dtype=manifest.output_dtype,
            kind=output_kind(manifest.output_dtype, manifest.output_op),  # type: ignore[arg-type]  # one of three
        ),
        files={
            name: SpecFile(target=e.target, precision=e.precision, sha256=e.sha256)
            for name, e in sorted(manifest.files.items())
        },
    )


def read_spec(text: str | bytes) -> AppSpec:
    """model_spec.json as its type (ValueError when it is not one)."""
    return AppSpec.model_validate_json(text)


def write_spec(model_dir: Path, manifest: Manifest) -> Path:
    path = model_dir / SPEC_NAME
    atomic_files.write_json(path, app_spec(manifest).model_dump(mode="json"))
    return path
