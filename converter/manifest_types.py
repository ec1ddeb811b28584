"""The manifest (build/models/<model>/manifest.json) as types: what the model-level facts and each `.nb` file's
entry may hold. converter.manifest validates every manifest it writes against them, so an unknown or mistyped key is
a bug that fails loudly at the writer; manifests of older versions are still read (converter.manifest.load) and
their outputs rebuilt. docs/records.md lists the keys (generated, with the run file records)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputPreprocess(_Strict):
    """What the app and the parity checks do to an image: resize to width x height, x * scale, (x - mean) / std per
    channel in channel_order (from deploy.yaml when it has it, else the zoo entry)."""

    width: int
    height: int
    mean: list[float]
    std: list[float]
    channel_order: Literal["rgb", "bgr"] = "rgb"
    scale: float = 1 / 255

    @classmethod
    def standard(cls, width: int, height: int) -> InputPreprocess:
        """PP-HumanSeg's normalization ((x / 255 - 0.5) / 0.5, RGB) for a bare input shape with no manifest."""
        return cls(width=width, height=height, mean=[0.5] * 3, std=[0.5] * 3)


class Quantization(_Strict):
    """Full int8: how the program was quantized (converter.quantize)."""

    algo: str
    weights: Literal["channel", "tensor"]
    skip: list[str] = Field(description="convolution weights asked to stay fp32")
    calibration: dict[str, Any] = Field(description="folder, images (name, sha256), samples, augmentation, sha256")
    convolutions: int | None = None
    quantized: int | None = None
    skipped: list[str] = []
    key: str | None = Field(default=None, description="changes whenever the quantized program would")
    program_sha256: str | None = Field(
        default=None, description="the quantized program kept in int8_program/ beside the .nb (layer-diff cuts it)"
    )


class FileEntry(_Strict):
    """One converted `.nb`: what it was made from and how."""

    target: Literal["arm", "x86"]
    precision: str
    sha256: str
    size_bytes: int
    opt_version: str = Field(description="the paddlelite wheel that ran opt")
    nb_opt_version: str | None = Field(description="the version string inside the .nb (what runtimes compare)")
    conversion_format: int
    source_kind: str
    inputs_sha256: dict[str, str]
    input_shape: list[int]
    output_name: str
    output_dtype: str
    op_counts: dict[str, int]
    conversion_time_s: float
    settings: dict[str, Any] = Field(description="opt's valid_targets, enable_fp16, quant_model, quant_type")
    requires: str | None = Field(description="what a device needs to run it (fp16: ARMv8.2 + an fp16 runtime)")
    weights: str
    int8_kernels: int | None = Field(default=None, description="kernels of precision int8, read from the .nb")
    converted_at: str
    graph_fixes_enabled: bool | None = None
    quantization: Quantization | None = None


class PirTranslationInfo(_Strict):
    """A Paddle 3 PIR export's translation into the program opt converts (converter.pir_source), and its check
    against Paddle 3 Inference on the export itself."""

    pir_format_version: int = Field(description="the export's PIR serialization version (base_code.version)")
    exported_by: str = Field(description="the Paddle releases that write that version")
    program_folder: str = Field(description="the translated program (model.pdmodel + the export's .pdiparams)")
    pir_ops: int
    program_ops: int = Field(description="ops of the translated program, feed/fetch included")
    folded_ops: int = Field(description="PIR ops evaluated at the fixed input shape into attributes")
    key: str = Field(description="the export's sha256, input shape and translator format")
    reference_runtime: str = Field(description="what ran the export for the check, with its version")
    check_max_abs_diff: float = Field(
        description="translated program (Paddle 2.6) vs the export (Paddle 3), both without fusion passes"
    )
    check_images: int
    check_tolerance: float = Field(description="1e-6 of the outputs' largest magnitude (at least 1e-6)")


class Recommended(_Strict):
    """The variant to ship on one device class (benchmark.report.recommend)."""

    precision: str | None
    file: str | None
    nb_sha256: str | None = Field(description="the measured file; a re-converted file voids the recommendation")
    metric: Literal["instructions", "median_ms"]
    value: float | None
    why: str
    candidates: list[dict[str, Any]]


class Manifest(_Strict):
    """One converted model: its source, input/output, preprocessing, and every `.nb` file."""

    schema_version: int
    model: str
    title: str | None = None
    toolkit_version: str
    source: dict[str, Any] = Field(description="kind, folder, model/params files, url, sha256, checksum_status")
    input_name: str
    input_shape: list[int]
    output_name: str
    output_dtype: str
    output_op: str
    outputs: list[dict[str, Any]]
    preprocess: InputPreprocess
    weights: Literal["trained", "random"]
    warnings: list[str]
    files: dict[str, FileEntry]
    not_built: dict[str, str] = Field(default_factory=dict, description="file name -> why it is not built")
    model_stats: dict[str, Any] | None = None
    graph_fixes: dict[str, Any] | None = None
    recommended: dict[str, Recommended] = Field(default_factory=dict, description="by device class")
    source_format: Literal["program", "pir"] = Field(
        default="program", description="program: a .pdmodel ProgramDesc; pir: a Paddle 3 PIR export, translated"
    )
    translation: PirTranslationInfo | None = None

    def program_files(self) -> tuple[Path, Path]:
        """The program the converter converts (a PIR export's translation): what layer-diff cuts and reads."""
        if self.translation is not None:
            folder = Path(self.translation.program_folder)
            return folder / "model.pdmodel", folder / "model.pdiparams"
        return self.reference_files()

    def reference_files(self) -> tuple[Path, Path]:
        """The model as exported: what desktop Paddle Inference (Paddle 3 for a PIR export) runs as the reference."""
        folder = Path(self.source["folder"])
        return folder / self.source["model_file"], folder / self.source["params_file"]
