"""From the plugin's segments to a cost profile of one steady inference, split at kernel entries:
- a segment that starts at an op's kernel belongs to that op;
- one that starts at a conv algorithm class (nested_kernels), or at an exported math helper (softmax_inner8 ...),
  to the op running before it;
- RuntimeProgram::Run and the public API are the runtime (so are API calls after the last op: the harness's loop).
Kernels pair with the program's ops in order (the light runtime does not run feed/fetch); when the counts or the conv
nesting disagree, ops stay unnamed and the profile says why, and the families still add up."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from benchmark.profile.families import RUNTIME, family_of, family_table
from benchmark.profile.kernel_map import KernelMap
from benchmark.records.cost_types import CostProfile, OpCost
from converter.base.errors import ToolkitError
from converter.nb.program import NbProgram

METHOD = "insnprofile: QEMU TCG plugin, guest instructions split at kernel Run() entries (vtables of the runtime)"
SUM_TOLERANCE = 0.01
_SEG_RE = re.compile(r"^seg (-|[0-9a-f]+) (\d+)$", re.MULTILINE)
NOT_RUN_OPS = ("feed", "fetch")
PROFILE_REPEATS = 3  # the second of three inferences is profiled: the first packs weights, the last exits


class CostProfileError(ToolkitError):
    """The profiled run's output cannot be attributed (no inference marker, or a sum far from the count)."""


@dataclass(frozen=True)
class Segment:
    marker: int | None
    insns: int


def parse_segments(text: str) -> list[Segment]:
    return [Segment(None if m == "-" else int(m, 16), int(n)) for m, n in _SEG_RE.findall(text)]


@dataclass
class _Op:
    kernel: str
    insns: int = 0
    algorithm: str | None = None


def steady_inference(segs: list[Segment], kmap: KernelMap) -> list[Segment]:
    """The segments from the last-but-one entry into RuntimeProgram::Run to the last: a whole steady inference and
    the harness's loop around it, as the difference of two counts sees it."""
    starts = [i for i, s in enumerate(segs) if s.marker is not None and kmap.markers[s.marker].kind == "program_run"]
    if len(starts) < PROFILE_REPEATS:
        raise CostProfileError(
            f"the profiled run entered RuntimeProgram::Run {len(starts)} time(s); {PROFILE_REPEATS} are needed"
        )
    return segs[starts[-2] : starts[-1]]


def _split(window: list[Segment], kmap: KernelMap) -> tuple[list[_Op], int]:
    table = family_table()
    ops: list[_Op] = []
    runtime = 0
    last_kernel = max(
        i for i, s in enumerate(window) if s.marker is not None and kmap.markers[s.marker].kind == "kernel"
    )
    for i, seg in enumerate(window):
        marker = kmap.markers[seg.marker] if seg.marker is not None else None
        if marker is None or marker.kind == "program_run" or (i > last_kernel and marker.kind == "api"):
            runtime += seg.insns
        elif marker.kind == "kernel" and not all(table.is_nested(n) for n in marker.names):
            ops.append(_Op(kernel="|".join(marker.names), insns=seg.insns))
        elif ops:
            ops[-1].insns += seg.insns  # a conv's algorithm, or the API called from inside a kernel
            if marker.kind == "kernel":
                ops[-1].algorithm = "|".join(marker.names)
        else:
            runtime += seg.insns
    return ops, runtime


def attribute(text: str, kmap: KernelMap, program: NbProgram, per_inference: int) -> CostProfile:
    window = steady_inference(parse_segments(text), kmap)
    if not any(s.marker is not None and kmap.markers[s.marker].kind == "kernel" for s in window):
        raise CostProfileError("the profiled inference ran no kernel")
    ops, runtime = _split(window, kmap)
    program_ops = [op for op in program.ops if op.type not in NOT_RUN_OPS]
    matched = len(program_ops) == len(ops)
    note = None
    if matched:
        nested = {i for i, o in enumerate(ops) if o.algorithm}
        conv = {i for i, op in enumerate(program_ops) if op.type in family_table().conv_ops}
        if not nested <= conv:
            matched, note = False, "conv algorithms ran after ops that are not convolutions"
    else:
        note = f"{len(ops)} kernels ran for the program's {len(program_ops)} ops: ops are not named"
    costs: list[OpCost] = []
    families: Counter[str] = Counter({RUNTIME: runtime})
    for i, o in enumerate(ops):
        if matched:
            op = program_ops[i]
            fam = family_of(op, program.dims)
            costs.append(
                OpCost(
                    index=op.index,
                    type=op.type,
                    name=op.name,
                    family=fam,
                    kernel=o.kernel,
                    algorithm=o.algorithm,
                    insns=o.insns,
                )
            )
        else:
            fam = "unmatched " + o.kernel.split("<", 1)[0]
        families[fam] += o.insns
    profiled = sum(families.values())
    error = abs(profiled - per_inference) / per_inference if per_inference > 0 else 1.0
    if error > SUM_TOLERANCE:
        raise CostProfileError(
            f"the profile's {profiled} instructions per inference are {error:.1%} away from the count's "
            f"{per_inference}: the runtime's markers do not cover the inference"
        )
    return CostProfile(
        method=METHOD,
        library_sha256=kmap.sha256,
        per_inference_insns=per_inference,
        profiled_insns=profiled,
        sum_error=round(error, 6),
        runtime_insns=runtime,
        families=dict(families.most_common()),
        ops=costs,
        ops_matched=matched,
        kernels_run=len(ops),
        note=note,
    )
