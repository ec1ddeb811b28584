"""model_spec.json beside the .nb files: the few facts an app needs to run a converted model exactly as the
zoo does (input shape, resize, scale/mean/std, channel order, output name, what the output holds and its dtype).
The Android demo reads it, so a model swapped in from the converter just works."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from converter.base import atomic_files
from converter.base.strict import Strict
from converter.images.motion_fusion import FusionParams, MotionFusion
from converter.images.temporal import GatedEma, SmoothingParams, Temporal, TemporalSmoother
from converter.schema.manifest_types import Manifest

SPEC_NAME = "model_spec.json"
SPEC_VERSION = 2  # 2: ncnn files (runtime) and the recommendation per device class


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


class SpecFusion(Strict):
    """Motion-compensated fusion (converter/images/motion_fusion.py; the Java core's MotionFusion)."""

    alpha: float = FusionParams().alpha
    gate: float = FusionParams().gate
    coarse: int = FusionParams().coarse
    search: int = FusionParams().search
    cut: float = FusionParams().cut
    tile: int = FusionParams().tile
    light: float = FusionParams().light
    jump: float = FusionParams().jump
    contradict: float = FusionParams().contradict

    def params(self) -> FusionParams:
        return FusionParams(**self.model_dump())


class SpecTemporal(Strict):
    """Temporal smoothing of a video's probabilities. `smoothing` names the step the demo runs: motion_fusion
    (`fusion`'s parameters) or the older gated_ema (converter/images/temporal.py, the Java core's TemporalSmoother;
    `alpha`, `gate`)."""

    smoothing: Literal["gated_ema", "motion_fusion"] = "motion_fusion"
    alpha: float = SmoothingParams().alpha
    gate: float = SmoothingParams().gate
    fusion: SpecFusion = SpecFusion()

    def params(self) -> SmoothingParams:
        return SmoothingParams(alpha=self.alpha, gate=self.gate)

    def stepper(self) -> Temporal:
        """A fresh stream's step, as the spec names it: step(prob, rgb at model size) -> smoothed prob."""
        if self.smoothing == "motion_fusion":
            return MotionFusion(self.fusion.params())
        return GatedEma(TemporalSmoother(self.params()))


class SpecFile(Strict):
    target: str
    precision: str = Field(description="ncnn: the precision of the stored weights (fp16 is a run-time option)")
    sha256: str
    runtime: Literal["paddle-lite", "ncnn"] = "paddle-lite"


class SpecChoice(Strict):
    """The variant to ship on one device class (the manifest's `recommended`): which runtime runs which file."""

    runtime: Literal["paddle-lite", "ncnn"]
    precision: str
    file: str
    vs_best_paddle_lite: float | None = None


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
    recommended: dict[str, SpecChoice] = Field(default_factory=dict, description="by device class")


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
            **{
                name: SpecFile(target=e.target, precision=e.precision, sha256=e.sha256)
                for name, e in sorted(manifest.files.items())
            },
            **_ncnn_files(manifest),
        },
        recommended={
            cls: SpecChoice(
                runtime=r.runtime or "paddle-lite",
                precision=r.precision,
                file=r.file,
                vs_best_paddle_lite=r.vs_best_paddle_lite,
            )  # fmt: skip
            for cls, r in sorted(manifest.recommended.items())
            if r.precision and r.file
        },
    )


def _ncnn_files(manifest: Manifest) -> dict[str, SpecFile]:
    n = manifest.ncnn
    if n is None or n.status != "converted" or not (n.param and n.bin and n.param_sha256 and n.bin_sha256):
        return {}
    return {
        n.param: SpecFile(target="arm", precision="fp32", sha256=n.param_sha256, runtime="ncnn"),
        n.bin: SpecFile(target="arm", precision="fp32", sha256=n.bin_sha256, runtime="ncnn"),
    }


def read_spec(text: str | bytes) -> AppSpec:
    """model_spec.json as its type (ValueError when it is not one)."""
    return AppSpec.model_validate_json(text)


def write_spec(model_dir: Path, manifest: Manifest) -> Path:
    path = model_dir / SPEC_NAME
    atomic_files.write_json(path, app_spec(manifest).model_dump(mode="json"))
    return path
