"""The records of the run kinds that measure the toolkit itself or one question (overhead, gate, farm-scaling,
graph-fixes, host-profile, layer-diff): each a type like the latency and parity records, written and read as it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import Field

from benchmark.records.base import Record


class OverheadRecord(Record):
    """The harness's own share of one model's wall time (target <= 10 %)."""

    model: str
    timed_runs: int
    total_wall_s: float
    runner_wall_s: float
    harness_overhead_fraction: float


class GateRecord(Record):
    """One device x model x precision judged against the baseline run."""

    device_key: str
    model: str
    precision: str
    input_shape: str
    verdict: str = Field(description="pass | fail | new | skipped")
    reason: str
    baseline_ms: float | None = None
    current_ms: float | None = None
    change_percent: float | None = None
    limit_percent: float | None = None
    measure: str = Field(default="latency", description="latency (median ms) or instructions (ARM emulated phones)")


class ScalingRecord(Record):
    """The farm's wall time over N emulated devices against one device (target <= 1.3)."""

    devices: int
    models: list[str]
    one_device_wall_s: float
    all_devices_wall_s: float
    fixed_latency_ms: float
    wall_ratio: float
    target_ratio: float

    @property
    def meets_target(self) -> bool:
        return self.wall_ratio <= self.target_ratio


class GraphFixRecord(Record):
    """Fixed vs unfixed .nb of one model in one place (host or a device): interleaved rounds, and ARM instructions."""

    model: str
    where: str
    rounds: int
    unfixed_median_ms: float
    fixed_median_ms: float
    ratio_median: float
    ratios: list[float]
    rewrites: dict[str, int] | None = None
    x86_ops_before: int
    x86_ops_after: int
    lite_max_abs_diff_fixed_vs_unfixed: float | None = None
    target_ratio: float
    old_form_model: str | None = None
    old_form_weights: str | None = None
    old_form_median_ms: float | None = None
    old_form_ratio_median: float | None = None
    old_form_ratios: list[float] | None = None
    kernel_shares_percent: dict[str, dict[str, float]] | None = Field(
        default=None, description="PROFILE=1: host time by kernel family of each variant"
    )
    arm_instructions: dict[str, int] | None = None
    arm_instruction_ratio: float | None = None
    arm_old_form_instruction_ratio: float | None = None
    arm_note: str | None = None


class HostProfileRecord(Record):
    """Where Paddle-Lite x86 spends one .nb's inferences, by kernel family (perf samples)."""

    nb: str
    runs: int
    samples: int
    event: str
    median_ms: float
    shares_percent: dict[str, float]
    top_symbols: list[tuple[str, float]] = []


class LayerDiffRecord(Record):
    """One cut of a program: the variant's tensor on the ARM runtime against desktop fp32."""

    index: int
    op_type: str
    tensor: str
    shape: list[int] = []
    cosine: float | None = None
    max_abs_diff: float | None = None
    relative_diff: float | None = Field(default=None, description="max_abs_diff / max |reference| (floor 1e-6)")
    departs: bool | None = Field(default=None, description="None: not matched")
    not_matched: str | None = None
    int8_kernels: int | None = Field(default=None, description="int8 variants: int8 kernels in the cut's .nb")
    non_finite: int | None = Field(default=None, description="inf/NaN values in the variant's tensor (a failure)")


class SmoothedStability(Record):
    """One temporal method's masks on one sequence (benchmark/parity/video_check.py)."""

    method: Literal["gated_ema", "motion_fusion", "dis_fusion"] = Field(
        description="gated_ema and motion_fusion: the demo's steps (model_spec.json temporal); dis_fusion: OpenCV DIS "
        "optical-flow fusion as PP-HumanSeg's deployment does it, on the host only"
    )
    flicker: float
    temporal_iou: float
    miou: float | None = None
    lag_frames: int | None = Field(
        default=None,
        description="after the sequence's sudden change: frames until the mask's mIoU is back within 0.5 pt of the "
        "unsmoothed mask's (0: at once; the frames left when it never is)",
    )
    ms_per_frame: float | None = Field(default=None, description="the Python step's own time per frame (median)")


class VideoRecord(Record):
    """Temporal stability of one model x variant on one frame sequence (benchmark/parity/video.py), with and without
    the temporal smoothing of model_spec.json."""

    model: str
    variant: str = Field(description="reference (desktop Paddle Inference fp32), or fp32 / fp16 / int8 on ARM")
    runtime: str
    sequence: str = Field(description="the photo the sequence was made from, or the clip's file name")
    source: str = Field(
        description="labelled photo under known motion, labelled photo measured as a clip (--clip-height), or clip"
    )
    frames: int
    flicker: float = Field(description="fraction of boundary pixels changing against the motion-compensated mask")
    flicker_smoothed: float
    temporal_iou: float
    temporal_iou_smoothed: float
    miou: float | None = Field(default=None, description="mean (person, background) IoU over labelled frames")
    miou_smoothed: float | None = None
    smoothing_ms_per_frame: float | None = Field(
        default=None, description="the Python smoothing step's own time per frame on this host (median)"
    )
    smoothing_arm_insns_per_frame: int | None = Field(
        default=None, description="the step's guest instructions per frame at the model's input size on the ARM phone"
    )
    worst_frame: int | None = Field(default=None, description="the frame whose mask changed most (unsmoothed)")
    worst_frame_changed: float | None = Field(default=None, description="the share of its boundary band that changed")
    artifacts: dict[str, str] | None = Field(
        default=None, description="PNG files of that frame: input, previous (compensated) and current mask"
    )
    kind: str = Field(default="camera motion", description="the sequence's kind (benchmark/parity/sequences.py)")
    smoothing: str = Field(default="gated_ema", description="the spec's method, which the *_smoothed fields are")
    methods: list[SmoothedStability] = Field(default_factory=list, description="every method on the same masks")
    flicker_labels: float | None = Field(
        default=None,
        description="the labels' own flicker, measured the same way: what a perfect mask scores (labelled only)",
    )


def by_variant(records: Iterable[VideoRecord]) -> dict[tuple[str, str], list[VideoRecord]]:
    """Video records grouped by (model, variant), one entry per sequence, in their order."""
    groups: dict[tuple[str, str], list[VideoRecord]] = {}
    for r in records:
        groups.setdefault((r.model, r.variant), []).append(r)
    return groups


class RuntimeRecord(Record):
    """One model x runtime x precision on one emulated ARM core (benchmark/parity/runtimes.py): ARM instructions
    per inference and the first inference of a fresh process against desktop Paddle Inference fp32."""

    model: str
    runtime: str = Field(description="paddle-lite or ncnn")
    runtime_version: str
    precision: str
    phone: str = Field(description="the emulated ARM phone (its QEMU CPU model)")
    cpu: str
    status: Literal["ok", "skipped", "failed"]
    reason: str | None = Field(default=None, description="why skipped or failed")
    file: str | None = Field(default=None, description="the model file run (.nb, or the ncnn .param)")
    insns_per_inference: int | None = None
    images: int = 0
    max_abs_diff: float | None = Field(default=None, description="worst image, first inference of a process")
    argmax_agreement: float | None = Field(default=None, description="worst image: share of pixels of the same class")
    non_finite: int = Field(default=0, description="inf/NaN values in any first-inference output (a failure)")
    labelled_images: int = Field(default=0, description="photos with a ground-truth mask among them")
    miou: float | None = Field(default=None, description="(person, background) mIoU of the first inferences")
    desktop_miou: float | None = Field(default=None, description="desktop Paddle Inference fp32 on the same photos")
    passed: bool | None = Field(
        default=None, description="the zoo's tolerance of the precision met; None when nothing was measured"
    )
    gate_failure: str | None = Field(default=None, description="why the gate failed")

    @property
    def miou_drop_points(self) -> float | None:
        """Desktop fp32's mIoU minus this one's, in points (labelled photos only)."""
        if self.miou is None or self.desktop_miou is None:
            return None
        return 100 * (self.desktop_miou - self.miou)
