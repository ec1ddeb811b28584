"""The cost profile of one latency record on an ARM emulated phone: markers from the runner's own library (the file
pushed with it), the profiled count, and the attribution to the .nb's ops. A profile that cannot be made leaves the
record's instruction count as it is, with a warning saying why."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from benchmark.device import instructions
from benchmark.device.bundle import RunnerBundle
from benchmark.device.instructions import InstructionCount
from benchmark.device.runner import RunnerError
from benchmark.device.session import DeviceContext
from benchmark.profile.attribution import attribute
from benchmark.profile.kernel_map import KernelMap, KernelMapError, kernel_map
from benchmark.profile.plugin import LIB_NAME, REPO
from benchmark.records.cost_types import CostProfile
from benchmark.records.parts import MemoryTraffic
from benchmark.records.types import LatencyRecord
from converter.base.atomic_files import write_text
from converter.base.errors import ToolkitError
from converter.nb.program import read_program


def bundle_kernel_map(bundle: RunnerBundle) -> KernelMap:
    """The markers of the runtime library pushed with the runner."""
    for name, data, _ in bundle.files:
        if name == LIB_NAME:
            return kernel_map(Path(bundle.label).parent / name, data)
    raise KernelMapError(
        f"the runner {bundle.label} has no {LIB_NAME} beside it: the cost profile maps kernels in that library"
    )


def cost_profile(count: InstructionCount, kmap: KernelMap, nb: Path) -> CostProfile:
    assert count.profile_text is not None
    profile = attribute(count.profile_text, kmap, read_program(nb), count.per_inference)
    if len(count.walls_s) == 2:
        profile.set(count_wall_s=count.walls_s[0], profile_wall_s=count.walls_s[1])
    return profile


def count_instructions(
    ctx: DeviceContext,
    base: list[str],
    rec: LatencyRecord,
    nb_path: Path,
    *,
    profile: bool,
    compare_plain: bool,
    timeout_s: float,
) -> None:
    """Instructions per inference on an ARM emulated phone into `rec`; with `profile` (and a phone with
    `insnprofile`) where they go and the estimated phone latency; `compare_plain` also times the plain count."""
    if not ctx.counts_instructions:
        raise instructions.NoInstructionCounter(ctx.info.serial)
    kmap = None
    if profile and ctx.profiles:
        try:
            kmap = bundle_kernel_map(ctx.bundle)
        except ToolkitError as e:
            rec.warnings.append(f"no cost profile: {e}")
    markers = kmap.markers_text() if kmap is not None else None
    count = instructions.count_instructions(ctx.device, ctx.work, base, timeout_s=timeout_s, markers=markers)
    rec.set(instructions_per_inference=count.per_inference, instruction_count=count.to_json())
    if kmap is None:
        return
    try:
        rec.cost_profile = cost_profile(count, kmap, nb_path)
    except ToolkitError as e:
        rec.warnings.append(f"no cost profile: {e}")
        return
    if compare_plain:
        plain = instructions.count_instructions(ctx.device, ctx.work, base, timeout_s=timeout_s)
        rec.cost_profile.set(plain_count_wall_s=round(sum(plain.walls_s), 3), plain_count_insns=plain.per_inference)


MEMORY_CACHE = REPO / "build" / "memory-traffic"  # one file per .nb, runner and simulated caches


def memory_traffic(ctx: DeviceContext, base: list[str], rec: LatencyRecord, timeout_s: float) -> MemoryTraffic:
    """Simulated cache misses of one inference on the phone's big core (a phone without `cachecount` is an error).
    The simulation is deterministic and costs about as much as the count again, so its result is kept per .nb (its
    sha256), runner, input shape and cache geometry, and reused."""
    if not instructions.has_counter(ctx.device, instructions.CACHE_COUNTER):
        raise RunnerError(f"{ctx.info.serial}: this phone has no `cachecount` (its profile lists no caches)")
    geometry = instructions.cache_geometry(ctx.device)
    runner = rec.runner.version if rec.runner is not None else ""
    key = json.dumps([rec.nb.sha256 if rec.nb else "", runner, rec.input_shape, geometry])
    path = MEMORY_CACHE / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"
    if path.is_file():
        try:
            return MemoryTraffic.model_validate_json(path.read_text())
        except ValueError:
            path.unlink(missing_ok=True)  # a damaged entry is counted again
    m = instructions.count_cache_misses(ctx.device, ctx.work, base, timeout_s=timeout_s, geometry=geometry)
    traffic = MemoryTraffic(accesses=m.accesses, l1_misses=m.misses[0], l2_misses=m.misses[1], l3_misses=m.misses[2],
                            geometry=m.geometry, dram_lines=m.dram_lines)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, traffic.model_dump_json())
    return traffic
