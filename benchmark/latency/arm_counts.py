"""Instructions per inference of several .nb variants on an ARM emulated phone (sd855-arm: the real Paddle-Lite ARM
runtime under QEMU), for commands that compare variants by ARM work rather than by host time (graph fixes)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from benchmark.device.adb import AdbDevice
from benchmark.device.session import ModelJob, device_session
from benchmark.emulated import arm_runtime
from benchmark.emulated.lab import Lab
from benchmark.emulated.phone import load_phone
from benchmark.latency.run import BenchSettings, bench_model
from converter.base.errors import ToolkitError

log = logging.getLogger("benchmark")
ARM_PHONE = "sd855-arm"
# totals only: the plain count (1 + 2 inferences), not the cost profile's (1 + 3, with the profiler)
ONE_RUN = BenchSettings(warmup=0, repeats=1, rounds=1, memory_profile=False, profile=False)


class ArmCountError(ToolkitError):
    """Instructions could not be counted on the ARM emulated phone."""


def unavailable_reason() -> str | None:
    runner = arm_runtime.default_runner()
    if not runner.is_file():
        return f"no ARM runtime at {runner.parent.parent} (set {arm_runtime.ENV})"
    if arm_runtime.insn_plugin() is None:
        return f"no QEMU instruction-count plugin in {arm_runtime.runtime_dir()}"
    return None


def count_variants(jobs: Mapping[str, ModelJob], run_id: str) -> dict[str, int]:
    """Instructions per inference of each job's ARM .nb (fp32 runner build with fp16: runs every variant)."""
    why = unavailable_reason()
    if why:
        raise ArmCountError(f"ARM instructions not counted: {why}")
    counts: dict[str, int] = {}
    with Lab.create() as lab:
        handle = lab.add_device(load_phone(ARM_PHONE))
        assert lab.server is not None
        device = AdbDevice(lab.server, handle.serial)
        with device_session(device, runner=arm_runtime.default_runner(), run_id=run_id, keep=False) as ctx:
            for kind, job in jobs.items():
                log.info("%s: %s: counting ARM instructions (%s, QEMU)", job.name, kind, ARM_PHONE)
                rec = bench_model(ctx, job, ONE_RUN)
                if rec.status != "ok" or not rec.instructions_per_inference:
                    raise ArmCountError(f"{job.name} ({kind}): {rec.error or rec.warnings}")
                counts[kind] = int(rec.instructions_per_inference)
    return counts
