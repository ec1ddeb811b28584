"""The bench workflow on emulated phones this call starts and stops (a private adb server, `devices` phones of one
kind): `bench-emulated`, `overhead` and `profile-arm` are this one call with their own requests."""

from __future__ import annotations

import logging
from collections.abc import Callable

from benchmark.emulated.lab import Lab
from benchmark.emulated.phone import PhoneSpec
from benchmark.latency.devices import LatencyResult
from benchmark.workflow.bench import BenchRequest, BenchResult, bench

log = logging.getLogger("benchmark")


def bench_emulated(
    phone: PhoneSpec,
    request: BenchRequest,
    *,
    devices: int = 1,
    on_latency: Callable[[LatencyResult], None] | None = None,
) -> BenchResult:
    """`bench` through a private adb server with `devices` emulated phones of this kind, stopped afterwards."""
    if devices < 1:
        raise ValueError("devices must be >= 1")
    with Lab.create() as lab:
        server = lab.start_server()
        for _ in range(devices):
            lab.add_device(phone)
        log.info("adb server %s with %d emulated device(s) (%s)", server, devices, phone.name)
        return bench(server, request, on_latency=on_latency)
