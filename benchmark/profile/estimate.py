"""est_latency_ms on an ARM emulated record: its cost profile through the cost model of the device class it
emulates (the record's SoC). Labelled as an estimate with the model's name, version and leave-one-out error band;
a class without a fitted model gets none, with a note. Each op of the profile gets its own estimated time too (its
instructions; the memory terms are per inference). A class whose model counts memory uses it when the record has
simulated misses of the same caches (profile-arm --caches), else its instruction-only fit and that fit's band."""

from __future__ import annotations

from benchmark.profile.cost_model import CostModelError, groups_of, load_cost_model, memory_terms
from benchmark.records.cost_types import LatencyEstimate
from benchmark.records.types import LatencyRecord


def estimate_latency(rec: LatencyRecord) -> None:
    if rec.cost_profile is None:
        return
    device_class = str(rec.device.soc or "")
    try:
        model = load_cost_model(device_class) if device_class else None
    except CostModelError as e:  # the record and its measurement are kept; only the estimate is missing
        rec.warnings.append(f"no latency estimate: {e}")
        return
    if model is None or not model.calibrated:
        rec.warnings.append(
            f"no latency estimate: the device class {device_class or '(no SoC model)'} has no calibrated cost model "
            "(make calibrate with bench-device records of such a phone)"
        )
        return
    cp = rec.cost_profile
    memory, geometry = memory_terms(rec.memory_traffic)
    with_memory = model.needs_memory and bool(memory) and geometry == model.memory_geometry
    if not with_memory:
        model = model.instructions_only()
    ms = model.estimate_ms(groups_of(cp.families), cp.kernels_run, memory if with_memory else None)
    if ms is None:  # a model that counts memory and has no instruction-only form, on a record without misses
        rec.warnings.append(
            f"no latency estimate: the {device_class} cost model counts memory; profile with --caches (profile-arm)"
        )
        return
    for op in cp.ops:
        us = model.op_us_of(op.family, op.insns)
        op.est_us = None if us is None else round(us, 2)
    rec.estimate = LatencyEstimate(
        est_latency_ms=round(ms, 3),
        device_class=device_class,
        cost_model=model.label + (" + memory" if with_memory else ""),
        error_band_pct=model.loo_rms_pct,
        error_max_pct=model.loo_max_pct,
        calibrated=True,
    )
