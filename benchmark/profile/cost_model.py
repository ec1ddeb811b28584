"""The phone-latency cost model: a physical model with few parameters, built op by op. A core retires the
instructions of each kernel group at its own rate (instructions per cycle): dense convolutions and GEMM, and
depthwise convolutions, each with one rate per precision (fp32 FMA, fp16 FMA and int8 dot-product kernels are
different code, mixing loads and arithmetic differently; a depthwise kernel does a few multiply-adds per value it
loads, so it runs nearer the load pipes' limit than the FMA pipes'), and everything else, which is bound by memory;
at the big core's clock, one thread. An op may also cost a fixed time that does not grow with its instructions
(caches refilled between small ops, time the runtime spends outside the guest instructions): fitted only where the
figures pin it (leave-one-out decides), else 0. And the memory system, where the figures pin it: one inference's
simulated demand misses of the last cache level (each a DRAM latency) and lines read from DRAM (each 64 bytes at
the memory's bandwidth), from `profile-arm --caches` (cachesim.c with a stride prefetcher):

    est_us(op) = insns_op / (ipc_group(op) * clock_mhz) + op_us
    est_ms     = (sum over ops of est_us(op) + runtime insns / (ipc_memory * clock_mhz)
                  + llc_misses * ns_llc_miss / 1000 + dram_lines * ns_dram_line / 1000) / 1000

A class with few figures may tie each precision's depthwise rate to its dense rate (form "per precision").

The instruction counts come from the ARM cost profile (benchmark.profile); the rates are fitted to phone figures
(published ones, or a user's own bench-device medians) by least squares on the relative error, with every rate
kept positive. A fitted model is a YAML file per device class (SoC model, e.g. SM8150): configs/cost_models/ ships
the fit to published figures, $COST_MODELS_DIR (default build/cost_models) holds a user's refit and wins."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from benchmark.records.parts import MemoryTraffic
from converter.base.errors import UsageError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "configs" / "cost_models"
ENV = "COST_MODELS_DIR"
PRECISIONS = ("fp32", "fp16", "int8")
GROUPS = (*(f"dense {p}" for p in PRECISIONS), *(f"depthwise {p}" for p in PRECISIONS), "memory")
_DENSE = ("conv 1x1", "conv 3x3", "conv kxk", "conv transpose", "conv", "gemm")
_DEPTHWISE = ("conv depthwise",)


class FitPoint(BaseModel):
    """One phone figure and the instruction profile of the same model and variant."""

    model_config = ConfigDict(extra="forbid")

    model: str
    precision: str
    phone_ms: float
    source: str = Field(description="where the figure comes from (publication, or the user's run file)")
    groups: dict[str, int] = Field(description="instructions per inference by group (cost_model.GROUPS)")
    ops: int = Field(default=0, description="kernels launched per inference (0: not recorded)")
    memory: dict[str, int] = Field(
        default={}, description="simulated per inference (MEMORY_TERMS: last-level demand misses, DRAM lines); {}: none"
    )
    est_ms: float | None = None
    loo_est_ms: float | None = Field(default=None, description="estimate when this point is left out of the fit")


class InstructionFit(BaseModel):
    """The instruction-only form of a fit whose best form counts memory: what a record without misses gets."""

    model_config = ConfigDict(extra="forbid")

    ipc: dict[str, float]
    op_us: float = 0.0
    form: str = "groups"
    fit_rms_pct: float | None = None
    loo_rms_pct: float | None = None
    loo_max_pct: float | None = None


VERSION = 2  # 2: depthwise rates per precision and the optional fixed cost per op (1: one depthwise rate)
FORMS = ("groups", "per precision")  # per precision: each precision's depthwise rate tied to its dense rate
MEMORY_TERMS = ("llc_misses", "dram_lines")  # per inference, from the record's memory_traffic


class CostModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: int = VERSION
    device_class: str = Field(description="SoC model as the phone reports it (ro.soc.model), e.g. SM8150")
    soc: str = Field(description="marketing name, e.g. Snapdragon 855")
    core: str = Field(description="the core the figures were measured on, e.g. Cortex-A76 (Kryo 485 Gold)")
    clock_mhz: float
    ipc: dict[str, float] = Field(description="instructions per cycle by group; empty when uncalibrated")
    op_us: float = Field(default=0.0, description="fixed time per op launched, in microseconds (0: no such term)")
    form: str = Field(default="groups", description="groups: a rate per group; per precision: depthwise tied to dense")
    memory_ns: dict[str, float] = Field(
        default={}, description="ns per last-level demand miss / per DRAM line (MEMORY_TERMS); {}: instructions only"
    )
    memory_geometry: str | None = Field(
        default=None, description="the simulated caches the memory terms were fitted with (cachesim's arguments)"
    )
    without_memory: InstructionFit | None = Field(
        default=None, description="the best instruction-only fit, for records without simulated misses"
    )
    calibrated: bool = True
    fit_rms_pct: float | None = None
    loo_rms_pct: float | None = Field(default=None, description="leave-one-out RMS relative error: the error band")
    loo_max_pct: float | None = None
    points: list[FitPoint] = []
    note: str | None = None

    @model_validator(mode="after")
    def _groups_of_this_version(self) -> CostModel:
        if self.ipc and set(self.ipc) != set(GROUPS):
            raise ValueError(
                f"its rates are for the groups {sorted(self.ipc)}, this toolkit's model has {list(GROUPS)} "
                f"(a fit of an older version)"
            )
        if set(self.memory_ns) - set(MEMORY_TERMS):
            raise ValueError(f"memory_ns: unknown terms {sorted(set(self.memory_ns) - set(MEMORY_TERMS))}")
        if self.memory_ns and self.memory_geometry is None:
            raise ValueError("memory_ns needs the memory_geometry it was fitted with")
        if self.form not in FORMS:
            raise ValueError(f"form: {self.form!r} is not one of {list(FORMS)}")
        return self

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def needs_memory(self) -> bool:
        return any(v > 0 for v in self.memory_ns.values())

    def estimate_ms(self, groups: dict[str, int], ops: int = 0, memory: dict[str, int] | None = None) -> float | None:
        """None when uncalibrated, or when the model has memory terms and no simulated misses are given."""
        if not self.calibrated or not self.ipc or (self.needs_memory and memory is None):
            return None
        khz = self.clock_mhz * 1000.0
        ms = sum(n / (self.ipc[g] * khz) for g, n in groups.items() if n and g in self.ipc) + ops * self.op_us / 1e3
        return ms + sum(ns * (memory or {}).get(t, 0) for t, ns in self.memory_ns.items()) / 1e6

    def instructions_only(self) -> CostModel:
        """This model without its memory terms: the stored instruction-only fit (its own band), for a record that has
        no simulated misses; the model itself when it has no memory terms."""
        if not self.needs_memory or self.without_memory is None:
            return self
        w = self.without_memory
        return self.model_copy(
            update={**w.model_dump(), "memory_ns": {}, "memory_geometry": None, "without_memory": None}
        )

    def op_us_of(self, family: str, insns: int) -> float | None:
        """One op's estimated time: its instructions at its group's rate plus the fixed cost per op."""
        if not self.calibrated or not self.ipc:
            return None
        return insns / (self.ipc[group_of(family)] * self.clock_mhz) + self.op_us


def memory_terms(m: MemoryTraffic | None) -> tuple[dict[str, int], str | None]:
    """The cost model's memory terms of a record's simulated misses (with the prefetcher's DRAM lines), or none."""
    if m is None or m.dram_lines is None:
        return {}, None
    return {"llc_misses": m.llc_misses, "dram_lines": m.dram_lines}, m.geometry


def group_of(family: str) -> str:
    base = family.removesuffix(" int8").removesuffix(" fp16")
    precision = family[len(base) + 1 :] or "fp32"
    if base in _DENSE:
        return f"dense {precision}"
    if base in _DEPTHWISE:
        return f"depthwise {precision}"
    return "memory"


def groups_of(families: dict[str, int]) -> dict[str, int]:
    out = dict.fromkeys(GROUPS, 0)
    for family, n in families.items():
        out[group_of(family)] += n
    return out


class CostModelError(UsageError):
    """A cost model file that cannot be read as one (a refit edited by hand, a truncated copy)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"cost model {path} is not valid ({reason}); delete it, or rewrite it with `make calibrate` from your "
            "bench-device records"
        )
        self.path = path
        self.reason = reason


def user_dir() -> Path:
    return Path(os.environ[ENV]) if os.environ.get(ENV) else REPO / "build" / "cost_models"


def model_path(device_class: str, folder: Path) -> Path:
    return folder / f"{device_class}.yaml"


def read_cost_model(path: Path) -> CostModel:
    """One cost model file; CostModelError (one line: the file, the key, what to do) when it is not one."""
    try:
        return CostModel.model_validate(yaml.safe_load(path.read_text()))
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise CostModelError(path, f"{where + ': ' if where else ''}{first['msg']}") from None
    except (OSError, yaml.YAMLError) as e:
        raise CostModelError(path, str(e).strip().splitlines()[0]) from None


def load_cost_model(device_class: str) -> CostModel | None:
    """The user's refit for this device class if there is one, else the shipped one, else None."""
    for folder in (user_dir(), SHIPPED):
        path = model_path(device_class, folder)
        if path.is_file():
            return read_cost_model(path)
    return None


def save_cost_model(model: CostModel, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = model_path(model.device_class, folder)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(model.model_dump(mode="json"), sort_keys=False))
    tmp.replace(path)
    return path
