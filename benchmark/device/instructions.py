"""Guest instructions per inference on an ARM emulated phone: the device's `insncount` runs benchmark_bin under
QEMU's instruction-count plugin twice, with 1 and with 2 timed runs and no warmup; the difference is one inference
(model loading, setup and exit cancel). Deterministic to about 1e-6 for the same runner, .nb and CPU model, whatever
else the host is doing: a cost figure for comparing variants and runs, not a latency (no caches, pipelines or clock).
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass
from typing import Any

from benchmark.device.adb import DeviceError
from benchmark.device.bundle import RUNNER_NAME
from benchmark.device.protocol import Device
from benchmark.device.runner import RunnerError, WorkDir

COUNTER = "insncount"
CACHE_COUNTER = "cachecount"  # the count with a data-cache simulation of the phone's big core (cachesim.c)
PROFILER = "insnprofile"  # the cost profile's counter (benchmark/profile), on ARM emulated phones
REPEATS = (1, 2)
PROFILED_REPEATS = (1, 3)  # with a profile, the second run has 3 inferences and the middle one is profiled
_INSNS_RE = re.compile(r"^insns: (\d+)\s*$", re.MULTILINE)
NO_COUNTER = (
    "this ARM emulated phone offers no `insncount`, so its main figure, instructions per inference, cannot be "
    "measured: start it with QEMU's plugin libinsncount.so in $ARM_RUNTIME_DIR (default ../shared/paddle-lite-armv8)"
)


class NoInstructionCounter(DeviceError):
    """A device setup error: an ARM emulated phone that cannot count instructions is not benchmarked at all."""

    def __init__(self, serial: str) -> None:
        super().__init__(f"{serial}: {NO_COUNTER}")
        self.serial = serial


@dataclass(frozen=True)
class InstructionCount:
    totals: tuple[int, ...]  # whole-process guest instructions for each entry of REPEATS
    repeats: tuple[int, ...] = REPEATS
    walls_s: tuple[float, ...] = ()  # wall time of each run
    profile_text: str | None = None  # the profiler's output of the last run, when profiled

    @property
    def per_inference(self) -> int:
        return (self.totals[-1] - self.totals[0]) // (self.repeats[-1] - self.repeats[0])

    def to_json(self) -> dict[str, Any]:
        return {
            "method": "difference of whole-process counts",
            "repeats": list(self.repeats),
            "totals": list(self.totals),
        }


def has_counter(device: Device, counter: str = COUNTER) -> bool:
    return device.shell(f"command -v {counter}", timeout_s=30).returncode == 0


def count_instructions(
    device: Device,
    work: WorkDir,
    base_args: list[str],
    *,
    timeout_s: float,
    markers: str | None = None,
    runner_name: str = RUNNER_NAME,
) -> InstructionCount:
    """base_args: the runner's model, shape, threads, power mode and backend flags (no warmup/repeats); the runner is
    benchmark_bin, or another in the work dir that takes --warmup=/--repeats= (ncnn_run).
    markers: the profile's marker offsets (text); the second run is then the profiler's, with 3 inferences."""
    totals, walls = [], []
    profile_text = None
    if markers is not None:
        marker_file = work.file("profile-markers.txt")
        device.push(markers.encode(), marker_file)
    for repeats in PROFILED_REPEATS if markers is not None else REPEATS:
        out = work.file(f"insns-{repeats}.txt")
        counter = [COUNTER, out] if markers is None or repeats == 1 else [PROFILER, out, marker_file]
        argv = [*counter, f"./{runner_name}", *base_args, "--warmup=0", f"--repeats={repeats}"]
        t0 = time.monotonic()
        r = device.shell(
            f"cd {shlex.quote(work.path)} && rm -f {shlex.quote(out)} && {shlex.join(argv)} >/dev/null 2>&1; "
            f"rc=$?; cat {shlex.quote(out)} 2>/dev/null; exit $rc",
            timeout_s=timeout_s,
        )
        walls.append(round(time.monotonic() - t0, 3))
        m = _INSNS_RE.search(r.stdout)
        if r.returncode != 0 or m is None:
            raise RunnerError(
                f"{device.serial}: counting instructions ({repeats} run(s)) failed with exit code {r.returncode}: "
                f"{(r.stdout + r.stderr).strip()[-300:] or 'no insns line'}",
                returncode=r.returncode,
            )
        totals.append(int(m.group(1)))
        if counter[0] == PROFILER:
            profile_text = r.stdout
    if totals[-1] <= totals[0]:
        raise RunnerError(f"{device.serial}: instruction counts do not grow with the runs: {totals}")
    repeats_used = PROFILED_REPEATS if markers is not None else REPEATS
    return InstructionCount(tuple(totals), repeats_used, tuple(walls), profile_text)


_MEM_RE = re.compile(r"^(accesses|l1_misses|l2_misses|l3_misses|dram_lines): (\d+)\s*$", re.MULTILINE)
_MEM_KEYS = ("accesses", "l1_misses", "l2_misses", "l3_misses")


@dataclass(frozen=True)
class MemoryCount:
    """Per steady inference ((2 runs - 1 run), as for instructions): data accesses and the misses at each simulated
    cache level of the phone's big core (the demand misses a simulated stride prefetcher leaves, where the geometry
    has `pf=`), and the lines read from memory (demand and prefetched; None from a counter without a prefetcher)."""

    accesses: int
    misses: tuple[int, int, int]  # L1D, L2, L3 (0 where the core has no such level)
    geometry: str  # cachesim's levels, as the phone's cachecount says
    dram_lines: int | None = None


def cache_geometry(device: Device) -> str:
    """The simulated caches the phone's `cachecount` runs with (cachesim's arguments)."""
    return device.shell(f"{CACHE_COUNTER} --geometry", timeout_s=30).stdout.strip()


def count_cache_misses(
    device: Device,
    work: WorkDir,
    base_args: list[str],
    *,
    timeout_s: float,
    geometry: str,
    runner_name: str = RUNNER_NAME,
) -> MemoryCount:
    """`cachecount` with 1 and 2 timed runs; the difference is one inference's memory traffic (`geometry`: what
    cache_geometry said of this phone)."""
    totals = []
    for repeats in REPEATS:
        out = work.file(f"cache-{repeats}.txt")
        argv = [CACHE_COUNTER, out, f"./{runner_name}", *base_args, "--warmup=0", f"--repeats={repeats}"]
        r = device.shell(
            f"cd {shlex.quote(work.path)} && rm -f {shlex.quote(out)} && {shlex.join(argv)} >/dev/null 2>&1; "
            f"rc=$?; cat {shlex.quote(out)} 2>/dev/null; exit $rc",
            timeout_s=timeout_s,
        )
        found = dict(_MEM_RE.findall(r.stdout))
        if r.returncode != 0 or any(k not in found for k in _MEM_KEYS):
            raise RunnerError(
                f"{device.serial}: counting cache misses ({repeats} run(s)) failed with exit code {r.returncode}: "
                f"{(r.stdout + r.stderr).strip()[-300:] or 'no counts'}",
                returncode=r.returncode,
            )
        dram = [int(found["dram_lines"])] if "dram_lines" in found else []  # a counter without the prefetcher: none
        totals.append([int(found[k]) for k in _MEM_KEYS] + dram)
    one = [b - a for a, b in zip(totals[0], totals[1], strict=True)]
    return MemoryCount(one[0], (one[1], one[2], one[3]), geometry, one[4] if len(one) == 5 else None)
