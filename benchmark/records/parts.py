"""Typed parts that several records share: the device a record was measured on, the CPU Paddle-Lite detected, an
instruction count, and one model variant's parity verdict (the parity run's summary and the farm record's `parity`
are this one type)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from benchmark.records.base import Sub
from converter.schema.zoo import Tolerance

Verdict = Literal["pass", "fail", "not_run"]  # an accuracy verdict: 'not run' is never a pass
ParityStatus = Literal["pass", "fail", "not_run", "unavailable", "error"]
Target = Literal["arm", "x86"]
Source = Literal["host", "device"]
Runtime = Literal["paddle-lite", "ncnn"]  # what ran a variant on the device: a .nb, or ncnn's .param/.bin


def variant_name(runtime: str, precision: str | None) -> str:
    """What tables call a variant: `fp16` (Paddle-Lite, the toolkit's own target), or `ncnn fp16`."""
    precision = precision or "fp32"
    return precision if runtime == "paddle-lite" else f"{runtime} {precision}"


class CpuFacts(Sub):
    id: int
    min_khz: int | None = None
    max_khz: int | None = None
    governor: str | None = None


class ThermalZoneFacts(Sub):
    id: int
    type: str
    temp_c: float | None = None


class DeviceSummary(Sub):
    """The device's facts as one batched shell call read them (benchmark.device.info)."""

    serial: str = Field(default="", description="the adb connection serial")
    serialno: str = ""
    brand: str = ""
    model: str = ""
    device: str = ""
    soc: str = ""
    soc_manufacturer: str = ""
    board_platform: str = ""
    abi: str = ""
    abis: list[str] = []
    android: str = ""
    sdk: str = ""
    emulated: bool = False
    qemu_cpu: str | None = None
    cpus: list[CpuFacts] = []
    big_cpus: list[int] = []
    prime_cpus: list[int] = []
    thermal_zones: list[ThermalZoneFacts] = []
    battery_level: int | None = None
    battery_temp_c: float | None = None

    @property
    def key(self) -> str:
        """Identity of a phone across hosts and connections: ro.serialno + product model."""
        return f"{self.serialno or self.serial or 'unknown'}/{self.model or 'unknown'}"


class RuntimeCpu(Sub):
    """The CPU Paddle-Lite detected (its own log)."""

    name: str
    core_archs: list[str] = []


class MemoryTraffic(Sub):
    """ARM emulated phones with `cachecount`: one steady inference's data accesses and the misses at each level of
    a simulated cache hierarchy of the class's big core (LRU; with `pf=` in the geometry, a stride prefetcher too;
    never a measurement of a phone)."""

    accesses: int
    l1_misses: int
    l2_misses: int
    l3_misses: int
    geometry: str = Field(description="cachesim's levels: l1=KB:WAYS:LINE,l2=...,l3=...[,pf=STREAMS:DEGREE]")
    dram_lines: int | None = Field(
        default=None,
        description="lines read from memory, demand and prefetched (with pf=: the misses are the demand misses the "
        "simulated stride prefetcher leaves)",
    )

    @property
    def llc_misses(self) -> int:
        """The last simulated level's misses: L3 where the core has one, else L2."""
        return self.l3_misses or self.l2_misses


class InstructionCountFacts(Sub):
    """ARM emulated phones: whole-process guest instruction counts of runs of different lengths."""

    method: str
    repeats: list[int]
    totals: list[int]


class ThermalWaitFacts(Sub):
    """How long a model waited for the phone to cool before its rounds."""

    baseline_c: float | None = None
    start_c: float | None = None
    end_c: float | None = None
    waited_s: float = 0.0
    timed_out: bool = False


class LockSpan(Sub):
    """Farm: how long a worker waited for the device's lock and when it held it."""

    waited_s: float
    held_from_unix_s: float
    held_until_unix_s: float


class GroundTruthFigures(Sub):
    images: int = 0
    mean_fg_iou: float | None = None
    miou: float | None = None


class GroundTruth(Sub):
    """Labelled images: the reference's figures (desktop fp32) and the candidate's (the runtime judged)."""

    reference: GroundTruthFigures = GroundTruthFigures()
    candidate: GroundTruthFigures = GroundTruthFigures()

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """Device summaries before schema version 2 said desktop / device."""
        if isinstance(data, dict) and ("desktop" in data or "device" in data):
            data = {"reference": data.get("desktop", {}), "candidate": data.get("device", {})}
        return data

    @property
    def labelled(self) -> bool:
        return bool(self.reference.images or self.candidate.images)


class ParitySummary(Sub):
    """One model variant's parity verdict: the host's (x86 .nb), a device's, or a farm record's own. Three-way
    (`verdict`); `problems` are the per-image problems, `task_problems` the task-level ones."""

    model: str | None = None
    precision: str | None = None
    runtime: Runtime = "paddle-lite"
    verdict: Verdict | None = None
    status: ParityStatus | None = Field(default=None, description="host: pass, fail, not_run, unavailable, error")
    passed: bool = False
    target: Target | None = None
    weights: str | None = None
    device: str | None = Field(default=None, description="device parity: the device's serial")
    emulated: bool | None = None
    qemu_cpu: str | None = None
    tolerance: Tolerance | None = None
    comparisons: int = 0
    images: int = 0
    max_abs_diff: float | None = Field(default=None, description="None when a candidate output was not finite")
    mean_abs_diff: float | None = None
    min_argmax_agreement: float | None = None
    mean_argmax_agreement: float | None = None
    mean_mask_iou: float | None = None
    worst_image: str | None = None
    problems: list[str] = []
    task_problems: list[str] = []
    ground_truth: GroundTruth = GroundTruth()
    calibration_images_left_out: list[str] = []
    nb_sha256: str | None = Field(
        default=None, description="the .nb the verdict is of (ncnn: sha256 of the .param bytes then the .bin bytes)"
    )
    run_id: str | None = None
    not_run: str | None = Field(default=None, description="why the variant could not run there")
    seed_miou_percent: float | None = None
    error: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """Summaries written before this type: device parity said `image_problems`, host parity `failures`."""
        if isinstance(data, dict) and ("image_problems" in data or "failures" in data):
            data = dict(data)
            data["problems"] = [*data.pop("image_problems", []), *data.pop("failures", [])]
        return data


def verdict_of(summary: ParitySummary | None) -> Verdict | None:
    """A parity verdict, three-way (None: no verdict at all); summaries written before the verdict said 'not_run'
    beside passed=True, which was never a pass."""
    if summary is None:
        return None
    if summary.verdict is not None:
        return summary.verdict
    if summary.not_run:
        return "not_run"
    return "pass" if summary.passed else "fail"
