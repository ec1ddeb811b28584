"""Which attached devices a run uses: every usable one, or the one asked for (`--serial`, $ANDROID_SERIAL)."""

from __future__ import annotations

import logging
import os

from benchmark.device.adb import AdbServer, DeviceError, list_devices

log = logging.getLogger("benchmark")


class DeviceNotAttached(DeviceError):
    def __init__(self, serial: str, server: AdbServer, attached: list[str]) -> None:
        super().__init__(
            f"device {serial} is not attached to the adb server {server}; attached: {', '.join(attached) or 'none'}"
        )
        self.serial = serial
        self.server = server


def select_devices(server: AdbServer, serial: str | None = None) -> list[str]:
    """The usable serials (unusable ones are logged with what to do); `serial` or $ANDROID_SERIAL picks one."""
    entries = list_devices(server)
    wanted = serial or os.environ.get("ANDROID_SERIAL") or None
    if wanted:
        match = [e for e in entries if e.serial == wanted]
        if not match:
            raise DeviceNotAttached(wanted, server, [f"{e.serial} ({e.state})" for e in entries])
        entries = match
    for e in entries:
        if not e.usable:
            log.warning("warning: skipping %s: %s", e.serial, e.reason)
    return [e.serial for e in entries if e.usable]
