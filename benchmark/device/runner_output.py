"""Parser for Paddle-Lite benchmark_bin's output (lite/api/tools/benchmark/benchmark.cc, 2.11+).

benchmark_bin exits 0 on invalid flags, so success is judged by the presence of a complete `Perf Info` block,
never by the exit code alone. `first` includes warmup; min/max/avg cover only the `repeats` runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from converter.base.errors import ToolkitError

_PERF_KEYS = ("init", "first", "min", "max", "avg")
_TIME_RE = re.compile(r"^(init|first|min|max|avg)\s+= ([0-9.]+)\s*$")
_MEM_RE = re.compile(r"^(init|peak)\s+= (-?[0-9.]+)\s*$")  # -0.001: an invalid reading
_KV_RE = re.compile(r"^([A-Za-z_ ()]+?):\s?(.*)$")
_SHAPE_RE = re.compile(r"^output shape\(NCHW\): ([0-9 ]+)$")
_MEAN_RE = re.compile(r"^output tensor (\d+) mean value: (\S+)$")
_STD_RE = re.compile(r"^output tensor (\d+) standard deviation: (\S+)$")
_VERSION_RE = re.compile(r"^benchmark_bin version ?(.*)$")
# Paddle-Lite's own log lines (stderr, when the runtime was built with logging): its CPU probe and thread binding
_CPU_NAME_RE = re.compile(r"ARM multiprocessors name: (.*)$")
_CORE_RE = re.compile(r"ARM multiprocessors ID: (\d+), .*CPU ARCH: (A-?\d+|\w+)")
_AFFINITY_RE = re.compile(r"Set cpu affinity failed, core id: (\d+)")
# logged at model load only when the library's version differs from the .nb's opt version (model_parser.cc)
_LIBRARY_VERSION_RE = re.compile(r"version of current Paddle-Lite:\s*(\S*)")
_BIND_NOTES = (
    "Some cores are offline, switch to NO BIND MODE",
    "HIGH POWER MODE is not support, switch to little cores",
)


class RunnerOutputError(ToolkitError):
    """The runner's output has no complete performance block."""


@dataclass(frozen=True)
class OutputTensor:
    shape: tuple[int, ...]
    mean: float | None
    std: float | None


@dataclass(frozen=True)
class RunnerReport:
    init_ms: float
    first_ms: float
    min_ms: float
    max_ms: float
    avg_ms: float
    version: str | None
    threads: int | None
    power_mode: int | None
    warmup: int | None
    repeats: int | None
    backend: str | None
    peak_memory_mb: float | None = None
    init_memory_mb: float | None = None
    memory_note: str | None = None  # why the memory block gave no figure
    device_info: dict[str, str] = field(default_factory=dict)
    outputs: tuple[OutputTensor, ...] = ()


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def parse_runner_output(text: str) -> RunnerReport:
    section = ""
    kv: dict[str, str] = {}
    device: dict[str, str] = {}
    times: dict[str, float] = {}
    memory: dict[str, float] = {}
    shapes: list[tuple[int, ...]] = []
    means: dict[int, float] = {}
    stds: dict[int, float] = {}
    in_memory = False
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        stripped = line.strip()
        if stripped.startswith("=======") and stripped.endswith("======="):
            section = stripped.strip("= ").lower()
            in_memory = False
            continue
        if section == "perf info":
            if stripped.startswith("Memory Usage"):
                in_memory = True
                continue
            m = (_MEM_RE if in_memory else _TIME_RE).match(stripped)
            if m:
                (memory if in_memory else times)[m.group(1)] = float(m.group(2))
            continue
        if m := _SHAPE_RE.match(stripped):
            shapes.append(tuple(int(d) for d in m.group(1).split()))
        elif m := _MEAN_RE.match(stripped):
            means[int(m.group(1))] = _float(m.group(2))
        elif m := _STD_RE.match(stripped):
            stds[int(m.group(1))] = _float(m.group(2))
        elif (m := _KV_RE.match(stripped)) and section in ("device info", "runtime info", "backend info"):
            (device if section == "device info" else kv)[m.group(1).strip()] = m.group(2).strip()
    if not section or "perf info" not in text.lower():
        raise RunnerOutputError(
            "the runner printed no '======= Perf Info =======' block (benchmark_bin exits 0 on invalid flags; "
            "see its stderr for the reason)"
        )
    missing = [k for k in _PERF_KEYS if k not in times]
    if missing:
        raise RunnerOutputError(f"the runner's Perf Info block is incomplete: no {', '.join(missing)} line(s)")
    return RunnerReport(
        init_ms=times["init"],
        first_ms=times["first"],
        min_ms=times["min"],
        max_ms=times["max"],
        avg_ms=times["avg"],
        version=kv.get("benchmark_bin version"),
        threads=_int(kv.get("threads")),
        power_mode=_int(kv.get("power_mode")),
        warmup=_int(kv.get("warmup")),
        repeats=_int(kv.get("repeats")),
        backend=kv.get("backend"),
        peak_memory_mb=_valid_mb(memory.get("peak")),
        init_memory_mb=_valid_mb(memory.get("init")),
        memory_note=_memory_note(memory),
        device_info=device,
        outputs=tuple(OutputTensor(s, means.get(i), stds.get(i)) for i, s in enumerate(shapes)),
    )


def _valid_mb(value: float | None) -> float | None:
    return value if value is not None and value >= 0 else None


def _memory_note(memory: dict[str, float]) -> str | None:
    bad = {k: v for k, v in memory.items() if v < 0}
    if bad:  # benchmark_bin prints -0.001 when it could not read the process's memory
        return (
            "benchmark_bin reported an invalid memory reading ("
            + ", ".join(f"{k} {v:g} MB" for k, v in bad.items())
            + "): unknown"
        )
    return None


def parse_version(text: str) -> str | None:
    """`benchmark_bin --version` prints `benchmark_bin version X` (gflags, set to Paddle-Lite's version string). None
    when there is no such line; '' when the version is empty (a runtime built without git metadata)."""
    for line in text.splitlines():
        if m := _VERSION_RE.match(line.strip()):
            return m.group(1).strip()
    return None


@dataclass(frozen=True)
class RuntimeLog:
    """What Paddle-Lite logged of the CPU it detected and of its thread binding (none of it with logging off)."""

    cpu_name: str | None = None
    core_archs: tuple[str, ...] = ()
    affinity_failed_cores: tuple[int, ...] = ()
    binding_notes: tuple[str, ...] = ()
    library_version: str | None = None  # the runtime's own version, when it warned that the .nb's opt differs

    @property
    def logged(self) -> bool:
        return self.cpu_name is not None


def parse_runtime_log(stderr: str) -> RuntimeLog:
    name = None
    archs: dict[int, str] = {}
    failed: list[int] = []
    notes: list[str] = []
    library_version = None
    for line in stderr.splitlines():
        if m := _LIBRARY_VERSION_RE.search(line):
            library_version = m.group(1)
        elif (m := _CPU_NAME_RE.search(line)) and name is None:
            name = " ".join(m.group(1).split())
        elif m := _CORE_RE.search(line):
            archs[int(m.group(1))] = m.group(2)
        elif m := _AFFINITY_RE.search(line):
            if int(m.group(1)) not in failed:
                failed.append(int(m.group(1)))
        else:
            notes += [n for n in _BIND_NOTES if n in line and n not in notes]
    return RuntimeLog(name, tuple(archs[i] for i in sorted(archs)), tuple(failed), tuple(notes), library_version)


def _float(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return float("nan")
