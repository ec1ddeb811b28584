"""`farm-scaling`: how well the farm runs devices in parallel. Starts two private adb servers with emulated devices
whose runners sleep a fixed time per inference (so this host's cores do not limit them), runs the farm over one
device and then over all of them, and reports wall(N devices) / wall(1 device). Target: <= 1.3 for 3 devices."""

from __future__ import annotations

import logging

from benchmark.emulated.lab import Lab
from benchmark.emulated.phone import load_phone, with_changes
from benchmark.farm.campaign import run_farm_file
from benchmark.farm.config import FarmConfig
from benchmark.records.rows import ScalingRecord
from converter.base.errors import ToolkitError, UsageError
from converter.schema.zoo import Zoo
from converter.sources.spec import ModelSources

log = logging.getLogger("benchmark")
TARGET_RATIO = 1.3


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
) -> ScalingRecord:
    """Farm wall time over 1 device and over `devices` emulated devices on two adb servers, whose runners sleep a
    fixed time per inference (this host's cores do not limit them)."""
    if devices < 2:
        raise UsageError("--devices must be >= 2 to compare with one device")
    base = load_phone("sd855")
    walls: dict[int, float] = {}
    with Lab.create() as lab:
        servers = [lab.start_server(), lab.start_server()]
        for i in range(devices):
            phone = with_changes(base, props={"ro.serialno": f"FSCALE{i + 1}"}, runner={"fixed_latency_ms": latency_ms})
            lab.add_device(phone, server=servers[i % 2])
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
    return ScalingRecord(
        devices=devices,
        models=models,
        one_device_wall_s=walls[1],
        all_devices_wall_s=walls[devices],
        fixed_latency_ms=latency_ms,
        wall_ratio=walls[devices] / walls[1],  # unrounded: what is printed is this to 2 places (no double rounding)
        target_ratio=TARGET_RATIO,
    )
