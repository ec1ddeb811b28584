"""The records of the measuring run files, as types: what a latency, parity, accuracy or int8-study record may
contain, validated when a field is set (an unknown or mistyped key is a bug that fails loudly) and readable with
`from_json`, also from files written before schema version 2 (their old key names are mapped). The run files
themselves: benchmark.records.runs; docs/records.md: benchmark.records.docs."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from benchmark.records.base import Record, Sub
from benchmark.records.cost_types import CostProfile, LatencyEstimate
from benchmark.records.parts import (
    DeviceSummary,
    InstructionCountFacts,
    LockSpan,
    MemoryTraffic,
    ParitySummary,
    Runtime,
    RuntimeCpu,
    Source,
    Target,
    ThermalWaitFacts,
)

RecordStatus = Literal["ok", "failed", "skipped", "not_run"]


class NbFile(Sub):
    """The .nb a latency record ran: its path, the opt version that wrote it, its size and sha256. For an ncnn
    variant: the .param's path, `pnnx <version>`, the size of both files and the sha256 of the .param bytes followed
    by the .bin bytes."""

    path: str
    opt_version: str
    size_bytes: int
    sha256: str


class RunnerInfo(Sub):
    """The runner and every version it gave of itself (benchmark.device.runner_version)."""

    path: str
    version: str | None = Field(default=None, description="the version all sources agree on, else each one named")
    libraries: list[str] = []
    sources: dict[str, str] = Field(default_factory=dict, description="--version, file X, first round, runtime log")
    unknown_version_allowed: bool = False


class LatencyRecord(Record):
    """One model variant on one device: R rounds of benchmark_bin, or of ncnn_run for an ncnn variant (W warmup + N
    timed runs each)."""

    model: str
    precision: str
    runtime: Runtime = "paddle-lite"
    status: RecordStatus
    input_shape: list[int]
    device: DeviceSummary = Field(description="the device's facts (serial, ro.serialno, model, SoC, ABI, CPUs, ...)")
    emulated: bool = False
    emulated_cpu: str | None = Field(default=None, description="QEMU CPU model of an ARM emulated phone")
    timing_source: str | None = Field(
        default=None, description="device, host (x86 emulated device) or emulation (QEMU)"
    )
    weights: str | None = Field(default=None, description="trained, or random for a latency-only stand-in")
    target: Target | None = None
    nb: NbFile | None = Field(default=None, description="the .nb run: path, opt_version, size_bytes, sha256")
    runner: RunnerInfo | None = Field(default=None, description="path, version (every source of it), libraries pushed")
    threads: int | None = None
    power_mode: int | None = None
    pin: str | None = None
    thread_binding: str | None = Field(default=None, description="what actually bound the benchmark thread")
    runtime_cpu: RuntimeCpu | None = Field(default=None, description="the CPU Paddle-Lite detected (its log)")
    warmup: int | None = None
    repeats: int | None = None
    rounds: int | None = None
    rounds_ms: list[float] | None = Field(default=None, description="each round's average")
    round_started_s: list[float] | None = None
    n: int | None = None
    median_ms: float | None = None
    mean_ms: float | None = None
    std_ms: float | None = None
    p90_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    cv: float | None = Field(default=None, description="coefficient of variation across rounds")
    throttle_ratio: float | None = Field(default=None, description="last third of rounds / first third - 1")
    first_ms: float | None = None
    init_ms: float | None = None
    peak_memory_mb: float | None = Field(default=None, description="from a run of its own with --enable_memory_profile")
    memory_note: str | None = None
    instructions_per_inference: int | None = Field(default=None, description="ARM emulated phones: guest instructions")
    instruction_count: InstructionCountFacts | None = None
    cost_profile: CostProfile | None = Field(default=None, description="ARM emulated phones: where the instructions go")
    memory_traffic: MemoryTraffic | None = Field(
        default=None,
        description="ARM emulated phones (profile-arm --caches, or by itself where the class's cost model counts "
        "memory): simulated cache misses and DRAM lines per inference",
    )
    estimate: LatencyEstimate | None = Field(default=None, description="estimated phone latency: never measured")
    runner_wall_s: float | None = None
    harness_wall_s: float | None = None
    sustained_s: float | None = None
    seed_ms: float | None = Field(default=None, description="the seed's Snapdragon 855 figure, as published")
    temps_before: dict[str, float | None] | None = None
    temps_after: dict[str, float | None] | None = None
    thermal_wait: ThermalWaitFacts | None = None
    tool_versions: dict[str, str] | None = None
    run_id: str | None = Field(default=None, description="the run; its device parity summaries carry the same id")
    started_at: str | None = None
    finished_at: str | None = None
    warnings: list[str] = []
    error: str | None = None
    # farm runs
    parity: ParitySummary | None = Field(default=None, description="farm: device parity of this variant")
    lock: LockSpan | None = None
    device_key: str | None = None
    farm_run_id: str | None = None
    host: str | None = None
    history_id: int | None = None
    reused_from_run: str | None = None
    reused: bool | None = Field(
        default=None, description="farm history: measured in an earlier run, reused in this one"
    )
    # sweeps
    sweep: Literal["shape", "threads"] | None = None
    shape_wh: list[int] | None = None
    pixels: int | None = None
    best: bool | None = None
    power_mode_name: str | None = None


class ParityRecord(Record):
    """One output of one image: a candidate (Paddle-Lite x86 on the host, or benchmark_bin on a device) against
    desktop Paddle Inference fp32. The same shape for both; `source` says which."""

    LEGACY_KEYS: ClassVar[dict[str, str]] = {"gt_iou_desktop": "gt_iou_reference", "gt_iou_device": "gt_iou_candidate"}

    model: str
    image: str
    output: str
    precision: str
    runtime: Runtime = "paddle-lite"
    source: Source
    target: Target
    reference: str = "paddle_inference_fp32"
    reference_runtime: str | None = Field(
        default=None, description="what ran the reference, with its version (Paddle 3 for a PIR export)"
    )
    candidate: str = Field(description="paddle_lite_x86_<precision> (host), device_benchmark_bin or device_ncnn_run")
    device: DeviceSummary | None = None
    emulated: bool = False
    weights: str | None = None
    output_dtype: str | None = None
    max_abs_diff: float | None = Field(description="None when the candidate has non-finite values")
    mean_abs_diff: float | None
    argmax_agreement: float
    iou_vs_reference: float
    reference_fg_fraction: float
    print_rounding_bound: float | None = Field(
        default=None, description="device: 5e-6 x max|output| (6-digit text dump)"
    )
    compared_elements: int | None = None
    note: str | None = None
    gt_iou_reference: float | None = Field(default=None, description="foreground IoU of the reference vs the label")
    gt_iou_candidate: float | None = None
    passed: bool
    problems: list[str]
    artifacts: dict[str, str] | None = None


class AccuracyRecord(Record):
    """One labelled image: foreground IoU of desktop Paddle Inference and of the device against the label."""

    LEGACY_KEYS: ClassVar[dict[str, str]] = ParityRecord.LEGACY_KEYS

    model: str
    image: str
    precision: str | None = None
    runtime: Runtime = "paddle-lite"
    device: DeviceSummary | None = None
    gt_iou_reference: float | None = None
    gt_iou_candidate: float | None = None


class Int8StudyRecord(Record):
    """One way of quantizing a model to full int8, judged on desktop Paddle Inference (the fake-quant program) against
    desktop fp32 on the held-out labelled images, with the zoo's int8 gate."""

    model: str
    option: str = Field(description="what this row changes from the baseline")
    status: Literal["ok", "failed"]
    algo: str
    weights: Literal["channel", "tensor"]
    per_image: int = Field(description="augmented calibration samples per calibration image")
    calibration: str = Field(description="the calibration folder")
    samples: int | None = None
    skip: list[str] = Field(default_factory=list, description="convolution weights left in fp32")
    skipped_group: int | None = Field(
        default=None, description="sensitivity rows: the group of convolutions left in fp32"
    )
    quant_key: str | None = Field(default=None, description="the quantized program's cache key")
    images: int | None = Field(default=None, description="held-out labelled images judged")
    miou: float | None = None
    miou_drop_points: float | None = Field(default=None, description="fp32 desktop mIoU - this mIoU, in points")
    mean_argmax_agreement: float | None = None
    min_argmax_agreement: float | None = None
    mean_mask_iou: float | None = None
    passed: bool = False
    problems: list[str] = Field(default_factory=list)
    quantize_s: float | None = None
    error: str | None = None


def first_line(text: str | None) -> str:
    """A record's error as one line ('' when there is none)."""
    return (text or "").splitlines()[0] if text else ""
