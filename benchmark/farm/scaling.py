"""`farm-scaling`: how well the farm runs devices in parallel. Starts two private adb servers with emulated devices
whose runners sleep a fixed time per inference (so this host's cores do not limit them), runs the farm over one
device and then over all of them, and reports wall(N devices) / wall(1 device). Target: <= 1.3 for 3 devices."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from benchmark.emulated.lab import Lab
from benchmark.emulated.profile import load_profile, with_changes
from benchmark.farm.campaign import run_farm_file
from benchmark.farm.config import FarmConfig
from converter.errors import ToolkitError, UsageError
from converter.spec import ModelSources
from converter.zoo import Zoo

log = logging.getLogger("benchmark")
TARGET_RATIO = 1.3


@dataclass(frozen=True)
class Scaling:
    devices: int
    models: list[str]
    one_device_wall_s: float
    all_devices_wall_s: float
    fixed_latency_ms: float

    @property
    def wall_ratio(self) -> float:  # unrounded: what is printed is this value to 2 places (no double rounding)
        return self.all_devices_wall_s / self.one_device_wall_s

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "wall_ratio": self.wall_ratio, "target_ratio": TARGET_RATIO}


def measure_scaling(
    *,
    zoo: Zoo,
    sources: ModelSources,
    models: list[str],
    precisions: list[str] | None,
    devices: int,
    latency_ms: float,
    rounds: int,
    repeats: int,
) -> Scaling:
    """Farm wall time over 1 device and over `devices` emulated devices on two adb servers, whose runners sleep a
    fixed time per inference (this host's cores do not limit them)."""
    if devices < 2:
        raise UsageError("--devices must be >= 2 to compare with one device")
    base = load_profile("sd855")
    walls: dict[int, float] = {}
    with Lab.create() as lab:
        servers = [lab.start_server(), lab.start_server()]
        for i in range(devices):
            profile = with_changes(
                base, props={"ro.serialno": f"FSCALE{i + 1}"}, runner={"fixed_latency_ms": latency_ms}
            )
            lab.add_device(profile, server=servers[i % 2])
        for n, pattern in ((1, "FSCALE1"), (devices, "FSCALE*")):
            cfg = FarmConfig.model_validate(
                {
                    "servers": [str(s) for s in servers],
                    "select": {"serial": [pattern]},
                    "measurement": {"rounds": rounds, "repeats": repeats, "warmup": 1},
                    "parity": {"enabled": False},
                    "history": str(lab.workdir / "history.sqlite"),
                }
            )
            result = run_farm_file(
                cfg=cfg,
                farm_file=lab.workdir / f"farm-{n}.yaml",
                zoo=zoo,
                sources=sources,
                reports=lab.workdir / f"reports-{n}",
                models=models,
                precisions=precisions,
                force=True,
            )
            if not result.ok:
                raise ToolkitError(f"the farm run over {n} device(s) failed; see above")
            walls[n] = result.wall_s
    return Scaling(devices, models, walls[1], walls[devices], latency_ms)
