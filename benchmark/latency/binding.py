"""Where a benchmark thread runs and what a record's times are: the taskset mask of a pin choice, what actually bound
the thread (the runtime's own binding replaces a mask), and the source of the timing (device, host or emulation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.device.info import DeviceInfo
from benchmark.device.runner_output import RuntimeLog

if TYPE_CHECKING:
    from benchmark.latency.run import BenchSettings

POWER_MODES = {0: "LITE_POWER_HIGH", 1: "LITE_POWER_LOW", 2: "LITE_POWER_FULL", 3: "LITE_POWER_NO_BIND"}


def pin_mask(info: DeviceInfo, pin: str) -> str | None:
    cpus = {"prime": info.prime_cpus, "big": info.big_cpus}.get(pin, lambda: [])()
    return format(sum(1 << c for c in cpus), "x") if cpus else None


def timing_source(info: DeviceInfo) -> str:
    if info.qemu_cpu:
        return f"emulation (qemu-aarch64 -cpu {info.qemu_cpu} on this host: emulation time, not phone time)"
    return "host (emulated device: Paddle-Lite x86 on this machine)" if info.emulated else "device"


def thread_binding(s: BenchSettings, mask: str | None, runtime: RuntimeLog) -> str:
    """What actually bound the benchmark thread: with power_mode 0-2 the runtime calls sched_setaffinity itself
    (replacing any taskset mask), with 3 it does not."""
    mode = s.effective_power_mode
    if mask:
        text = f"taskset {mask} ({s.pin} cores) with power_mode 3: the runtime does not bind"
    elif mode == 3:
        text = "nothing: power_mode 3 (LITE_POWER_NO_BIND), the OS schedules the thread"
    else:
        text = f"the runtime: power_mode {mode} ({POWER_MODES.get(mode, mode)}) binds with sched_setaffinity"
    if runtime.affinity_failed_cores:
        cores = ", ".join(map(str, runtime.affinity_failed_cores))
        text += f"; binding to core {cores} failed (logged by the runtime), so the OS schedules the thread"
    for note in runtime.binding_notes:
        text += f"; runtime: {note}"
    if mode != 3 and not mask and not runtime.logged:
        text += " (this runner logs nothing, so whether it held is not known)"
    return text
