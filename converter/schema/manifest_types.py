"""The manifest (build/models/<model>/manifest.json) as types: what the model-level facts and each `.nb` file's
entry may hold. converter.artifacts.manifest validates every manifest it writes against them, so an unknown or mistyped
key is a bug that fails loudly at the writer; manifests of older versions are still read
(converter.artifacts.manifest.load) and their outputs rebuilt. docs/records.md lists the keys (generated, with the run
file records)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from converter.base.strict import Strict


class InputPreprocess(Strict):
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


class CalibrationPhoto(Strict):
    name: str
    sha256: str = Field(description="of the file's bytes")
    phash: str | None = Field(default=None, description="perceptual hash of the decoded picture")


class CalibrationInfo(Strict):
    """The photos a full-int8 program was calibrated on."""

    folder: str
    images: list[CalibrationPhoto]
    samples: int
    augmentation: str
    sha256: str


class Quantization(Strict):
    """Full int8: how the program was quantized (converter.quant.quantize)."""

    algo: str
    weights: Literal["channel", "tensor"]
    skip: list[str] = Field(description="convolution weights asked to stay fp32")
    calibration: CalibrationInfo
    convolutions: int | None = None
    quantized: int | None = None
    skipped: list[str] = []
    key: str | None = Field(default=None, description="changes whenever the quantized program would")
    program_sha256: str | None = Field(
        default=None, description="the quantized program kept in int8_program/ beside the .nb (layer-diff cuts it)"
    )


class OptSettings(Strict):
    valid_targets: str
    enable_fp16: bool
    quant_model: bool
    quant_type: str | None = None


class FileEntry(Strict):
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
    settings: OptSettings = Field(description="opt's valid_targets, enable_fp16, quant_model, quant_type")
    requires: str | None = Field(description="what a device needs to run it (fp16: ARMv8.2 + an fp16 runtime)")
    weights: str
    int8_kernels: int | None = Field(default=None, description="kernels of precision int8, read from the .nb")
    converted_at: str
    graph_fixes_enabled: bool | None = None
    quantization: Quantization | None = None


class PirTranslationInfo(Strict):
    """A Paddle 3 PIR export's translation into the program opt converts (converter.pir.source), and its check
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


class CandidateInfo(Strict):
    """One variant the recommendation weighed (benchmark.report.recommend.Candidate)."""

    model: str
    precision: str
    device_class: str
    metric: Literal["instructions", "median_ms"]
    value: float = Field(description="ARM instructions per inference, or median ms on a phone")
    gate: bool | None = Field(description="its device parity verdict; None: not judged on this class")
    problems: list[str] = []
    miou: float | None = None
    fp32_desktop_miou: float | None = None
    mean_argmax_agreement: float | None = None
    size_bytes: int | None = None
    nb_sha256: str | None = None
    run: str | None = None
    est_latency_ms: float | None = None
    runtime: Literal["paddle-lite", "ncnn"] = "paddle-lite"
    est_band_pct: float | None = None
    status: str = ""


class Recommended(Strict):
    """The variant to ship on one device class (benchmark.report.recommend)."""

    runtime: Literal["paddle-lite", "ncnn"] | None = Field(
        default=None, description="paddle-lite or ncnn (None: nothing passed; old manifests)"
    )
    precision: str | None
    file: str | None = Field(description="relative to the model folder: the .nb, or ncnn's .param (+ .bin beside)")
    vs_best_paddle_lite: float | None = Field(
        default=None, description="the chosen figure / the best passing Paddle-Lite variant's (another runtime won)"
    )
    nb_sha256: str | None = Field(description="the measured file; a re-converted file voids the recommendation")
    metric: Literal["instructions", "median_ms"]
    value: float | None
    why: str
    candidates: list[CandidateInfo]


class SourceInfo(Strict):
    """Where the model's files were found, and their checksums."""

    kind: str = Field(description="local, cache, download or standin")
    folder: str = Field(description="absolute: the manifest is read from other folders")
    model_file: str
    params_file: str
    layout: str = Field(description="pdmodel, __model__, model+params or pir")
    url: str | None = None
    sha256: dict[str, str]
    checksum_status: str = Field(description="verified, mismatch or unknown")
    warnings: list[str] = []


class OutputInfo(Strict):
    name: str
    dtype: str
    dims: list[int]


class ModelStats(Strict):
    """Parameters and conv FLOPs at the best input shape (converter.program.stats)."""

    parameters: int
    conv_flops: int = Field(description="2 x multiply-accumulates of the convolutions")
    conv_layers: int
    input_shape: list[int]
    input_name: str


class FilledAttribute(Strict):
    op: str
    attribute: str
    value: Any
    ops: int = Field(description="how many ops of that type got it")


class GraphFixesInfo(Strict):
    """What the graph fixes did (converter.pipeline.graph_fix_check)."""

    status: Literal["applied", "not_needed", "rejected", "disabled"]
    rewrites: int = 0
    rewrites_by_kind: dict[str, int] = {}
    program_ops_before: int = 0
    program_ops_after: int = 0
    parity_max_abs_diff: float | None = None
    parity_images: int = 0
    parity_images_folder: str | None = Field(
        default=None, description="photos checked besides the generated images (--fix-images, default $IMAGES)"
    )
    parity_images_key: str | None = Field(default=None, description="hash of those photos' names and bytes")
    warning: str | None = None
    attribute_defaults: list[FilledAttribute] = []
    ops_before: dict[str, dict[str, int]] = Field(default_factory=dict, description="target -> .nb ops without")
    ops_after: dict[str, dict[str, int]] = Field(default_factory=dict, description="target -> .nb ops with them")
    unfixed_errors: dict[str, str] = Field(default_factory=dict, description="target -> why opt failed without them")


class NcnnHop(Strict):
    """One hop of the ncnn conversion checked on the desktop against Paddle Inference (the program opt converts)."""

    runtime: str = Field(description="what ran the hop's output: onnxruntime X, ncnn X (x86)")
    max_abs_diff: float
    argmax_agreement: float | None = Field(default=None, description="share of pixels with the same class")
    images: int


class NcnnInfo(Strict):
    """The ncnn target (converter/pipeline/ncnn_target.py): files, the converters' versions, the parity per hop."""

    status: Literal["converted", "failed"]
    param: str | None = None  # relative to the model folder
    bin: str | None = None
    param_sha256: str | None = None
    bin_sha256: str | None = None
    program_sha256: str | None = Field(default=None, description="the Paddle program the files were converted from")
    source_key: str | None = Field(default=None, description="the model's inputs and graph-fix setting (staleness)")
    tools: dict[str, str] = Field(default_factory=dict, description="paddle2onnx, pnnx, ncnn (desktop wheel)")
    min_runtime: str | None = Field(default=None, description="the oldest ncnn runtime that loads these files")
    input_shape: list[int] = []
    rewrites: dict[str, int] = Field(
        default_factory=dict, description="program rewrites for ncnn: split_sections, upsample_1x1_nearest (how many)"
    )
    onnx: NcnnHop | None = None
    ncnn_x86: NcnnHop | None = None
    error_kind: str | None = None
    error: str | None = None


class Manifest(Strict):
    """One converted model: its source, input/output, preprocessing, and every `.nb` file."""

    schema_version: int
    model: str
    title: str | None = None
    toolkit_version: str
    source: SourceInfo
    input_name: str
    input_shape: list[int]
    output_name: str
    output_dtype: str
    output_op: str
    outputs: list[OutputInfo]
    preprocess: InputPreprocess
    weights: Literal["trained", "random"]
    warnings: list[str]
    files: dict[str, FileEntry]
    not_built: dict[str, str] = Field(default_factory=dict, description="file name -> why it is not built")
    model_stats: ModelStats | None = None
    graph_fixes: GraphFixesInfo | None = None
    ncnn: NcnnInfo | None = Field(default=None, description="the ncnn target, when asked for (--runtimes ncnn)")
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
        folder = Path(self.source.folder)
        return folder / self.source.model_file, folder / self.source.params_file
