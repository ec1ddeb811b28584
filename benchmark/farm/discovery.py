"""Finding the farm's devices: every configured adb server, the remote devices it must `adb connect`, then every
usable device, identified by ro.serialno + model so a phone seen through two servers gets one worker, filtered by
the farm file's selectors. Unreachable servers and unusable devices are reported, never fatal."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from benchmark.device.adb import AdbDevice, AdbServer, DeviceError, connect, list_devices
from benchmark.device.info import DeviceInfo
from benchmark.farm.config import DeviceSettings, FarmConfig
from benchmark.farm.history import device_key
from benchmark.records.runs import FarmDeviceFacts

log = logging.getLogger("benchmark")


@dataclass(frozen=True)
class FarmDevice:
    server: AdbServer
    serial: str  # the adb serial on that server
    info: DeviceInfo
    key: str  # identity across hosts: ro.serialno/model
    settings: DeviceSettings

    def facts(self) -> FarmDeviceFacts:
        s = self.info.summary()
        return FarmDeviceFacts(
            server=str(self.server),
            serial=self.serial,
            device_key=self.key,
            model=s.model,
            soc=s.soc,
            abi=s.abi,
            labels=self.settings.labels,
            work_dir=self.settings.work_dir,
            runner=str(self.settings.runner) if self.settings.runner else None,
        )


@dataclass
class Discovery:
    devices: list[FarmDevice] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # server, serial, reason
    server_errors: list[str] = field(default_factory=list)

    def skip(self, server: AdbServer, serial: str, reason: str, *, warn: bool = True) -> None:
        self.skipped.append({"server": str(server), "serial": serial, "reason": reason})
        (log.warning if warn else log.info)("%s%s: %s: %s", "warning: " if warn else "", server, serial, reason)


def _reachable(cfg: FarmConfig, found: Discovery) -> list[AdbServer]:
    servers = []
    for spec in cfg.servers:
        server = AdbServer.from_env(spec)
        try:
            server.check_reachable()
            list_devices(server)
        except DeviceError as e:
            found.server_errors.append(f"adb server {server}: {e}")
            log.warning("warning: adb server %s is not usable: %s (its devices are not run)", server, e)
            continue
        servers.append(server)
    for c in cfg.connect:
        server = AdbServer.from_env(c.server or cfg.servers[0])
        if server not in servers:
            found.server_errors.append(f"{c.address}: not connected: its adb server {server} is not usable")
            continue
        try:
            connect(server, c.address)
        except DeviceError as e:
            found.server_errors.append(f"{c.address}: adb connect through {server} failed: {e}")
            log.error("error: %s", found.server_errors[-1])
    return servers


def discover(cfg: FarmConfig) -> Discovery:
    found = Discovery()
    seen: dict[str, FarmDevice] = {}
    for server in _reachable(cfg, found):
        try:
            entries = list_devices(server)
        except DeviceError as e:
            found.server_errors.append(f"adb server {server}: {e}")
            continue
        for entry in entries:
            if not entry.usable:
                found.skip(server, entry.serial, f"{entry.state}: {entry.reason}")
                continue
            try:
                info = AdbDevice(server, entry.serial).info()
            except DeviceError as e:
                found.skip(server, entry.serial, f"cannot read its properties: {e}")
                continue
            key = device_key(info.summary())
            if key in seen:
                first = seen[key]
                found.skip(
                    server, entry.serial, f"the same phone ({key}) as {first.serial} on {first.server}", warn=False
                )
                continue
            settings = cfg.settings_for(info)
            if not cfg.select.matches(info, tuple(settings.labels)):
                found.skip(server, entry.serial, f"{key} does not match the farm's selectors", warn=False)
                continue
            seen[key] = FarmDevice(server, entry.serial, info, key, settings)
            found.devices.append(seen[key])
    return found
