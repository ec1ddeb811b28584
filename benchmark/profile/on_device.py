"""The cost profile of one latency record on an ARM emulated phone: markers from the runner's own library (the file
pushed with it), the profiled count, and the attribution to the .nb's ops. A profile that cannot be made leaves the
record's instruction count as it is, with a warning saying why."""

from __future__ import annotations

from pathlib import Path

from benchmark.device.bundle import RunnerBundle
from benchmark.device.instructions import InstructionCount
from benchmark.profile.attribution import attribute
from benchmark.profile.kernel_map import KernelMap, KernelMapError, kernel_map
from benchmark.profile.plugin import LIB_NAME
from benchmark.records.cost_types import CostProfile
from converter.nb_program import read_program


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
