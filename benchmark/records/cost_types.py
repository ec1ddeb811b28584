"""The typed parts of a latency record that the ARM cost profile and the latency estimate add."""

from __future__ import annotations

from pydantic import Field

from benchmark.records.base import Sub


class OpCost(Sub):
    """One op of the .nb's program and the guest instructions of one steady inference spent in it."""

    index: int = Field(description="position in the .nb program (the runtime's order)")
    type: str
    name: str = Field(description="the op's first output tensor in the .nb (opt renames reused buffers)")
    family: str
    kernel: str = Field(description="the kernel class that ran, e.g. arm::ConvCompute<1,1>")
    algorithm: str | None = Field(default=None, description="the class a conv delegated to, e.g. arm::GemmLikeConv")
    insns: int
    est_us: float | None = Field(
        default=None, description="estimated phone time of the op (cost model: its instructions at its group's rate "
        "plus the fixed cost per op); none without a calibrated cost model"
    )  # fmt: skip


class CostProfile(Sub):
    """Where one inference's instructions go, by op and kernel family (benchmark.profile)."""

    method: str
    library_sha256: str
    per_inference_insns: int = Field(description="the instruction count's own figure (difference of two runs)")
    profiled_insns: int = Field(description="ops plus runtime, counted between markers in one steady inference")
    sum_error: float = Field(description="|profiled - per_inference| / per_inference")
    runtime_insns: int = Field(description="the runtime between ops (RuntimeProgram::Run, public API)")
    families: dict[str, int]
    ops: list[OpCost] = []
    ops_matched: bool = Field(description="the kernels that ran paired one to one with the program's ops")
    kernels_run: int = Field(default=0, description="kernels launched in the steady inference (0: not recorded)")
    note: str | None = None
    count_wall_s: float | None = Field(default=None, description="wall time of the plain count run (1 inference)")
    profile_wall_s: float | None = Field(default=None, description="wall time of the profiled run (3 inferences)")
    plain_count_wall_s: float | None = Field(
        default=None, description="--compare-plain-count: wall time of the plain count (runs of 1 and 2 inferences)"
    )
    plain_count_insns: int | None = Field(default=None, description="--compare-plain-count: its per-inference count")

    @property
    def timed(self) -> bool:
        """Every op has an estimated phone time (the device class has a calibrated cost model)."""
        return bool(self.ops) and all(o.est_us is not None for o in self.ops)

    def costliest(self, n: int) -> list[OpCost]:
        """The n costliest ops: by estimated phone time when every op has one, else by instructions."""
        timed = self.timed
        return sorted(self.ops, key=lambda o: -(o.est_us or 0.0) if timed else -o.insns)[:n]


class LatencyEstimate(Sub):
    """An estimated phone latency from the cost profile: never a measurement."""

    est_latency_ms: float
    device_class: str
    cost_model: str = Field(description="name and version of the cost model file")
    error_band_pct: float | None = Field(default=None, description="the model's leave-one-out error (RMS %)")
    error_max_pct: float | None = Field(default=None, description="its worst leave-one-out error (%)")
    calibrated: bool = True
