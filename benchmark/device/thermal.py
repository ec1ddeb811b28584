"""Thermal control between models: wait (polling) until the hottest CPU zone is back within a margin of the idle
baseline, or until a bound passes; say which happened."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from benchmark.device.info import ThermalZone, hottest_cpu_c
from benchmark.device.protocol import Device
from benchmark.records.parts import ThermalWaitFacts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThermalPolicy:
    margin_c: float = 3.0
    max_wait_s: float = 120.0
    poll_s: float = 2.0
    baseline_c: float | None = None  # None: the temperature read when the run starts


@dataclass(frozen=True)
class ThermalWait:
    baseline_c: float | None
    start_c: float | None
    end_c: float | None
    waited_s: float
    timed_out: bool
    zones: tuple[ThermalZone, ...] = ()  # the last reading

    def facts(self) -> ThermalWaitFacts:
        return ThermalWaitFacts(**{k: v for k, v in asdict(self).items() if k != "zones"})


def temps_json(zones: tuple[ThermalZone, ...]) -> dict[str, float | None]:
    return {z.type or f"zone{z.id}": z.temp_c for z in zones}


def wait_until_cool(
    device: Device,
    baseline_c: float | None,
    policy: ThermalPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ThermalWait:
    zones = device.thermal()
    start = hottest_cpu_c(zones)
    if baseline_c is None or start is None or start <= baseline_c + policy.margin_c:
        return ThermalWait(baseline_c, start, start, 0.0, False, zones)
    log.info(
        "%s: CPU at %.1f °C, baseline %.1f °C: waiting to cool (at most %.0f s)",
        device.serial,
        start,
        baseline_c,
        policy.max_wait_s,
    )
    t0 = clock()
    current: float | None = start
    while current is not None and current > baseline_c + policy.margin_c:
        if clock() - t0 >= policy.max_wait_s:
            return ThermalWait(baseline_c, start, current, clock() - t0, True, zones)
        sleep(policy.poll_s)
        zones = device.thermal()
        current = hottest_cpu_c(zones)
    return ThermalWait(baseline_c, start, current, clock() - t0, False, zones)
