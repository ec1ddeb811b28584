"""An exclusive lock held on the device itself, so two farm runs (two CI jobs, two hosts, two adb servers) never
run jobs on one phone at once.

The lock is a symlink `<work_dir>/pplite-farm.lock` whose target is the owner record
`pplite-lock:<host>:<pid>:<device epoch s>:<token>`: `ln -s` creates it atomically with its content, so there is no
moment where the lock exists without an owner. A lock is stale when its holder ran on this host and that process
is gone, or when it is older than `stale_after_s` by the device's clock; a stale lock is removed only if it still
holds the owner that was judged stale (compared and removed in one device command)."""

from __future__ import annotations

import logging
import os
import re
import shlex
import socket
import time
import uuid
from dataclasses import dataclass

from benchmark.device.adb import DeviceError
from benchmark.device.protocol import Device
from converter.base import process
from converter.base.errors import ToolkitError

log = logging.getLogger(__name__)
LOCK_NAME = "pplite-farm.lock"
PREFIX = "pplite-lock"
TIMEOUT_S = 30.0


class DeviceBusy(ToolkitError):
    """Another run held the device for longer than we were willing to wait."""


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    since_s: int  # device epoch seconds
    token: str

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        parts = text.strip().split(":")
        if len(parts) != 5 or parts[0] != PREFIX or not parts[2].isdigit() or not parts[3].isdigit():
            return None
        return cls(parts[1], int(parts[2]), int(parts[3]), parts[4])

    def text(self) -> str:
        return f"{PREFIX}:{self.host}:{self.pid}:{self.since_s}:{self.token}"

    def describe(self, now_s: int) -> str:
        return f"host {self.host} PID {self.pid}, held for {max(0, now_s - self.since_s)} s"


class DeviceLock:
    def __init__(self, device: Device, work_dir: str, *, stale_after_s: float, host: str | None = None) -> None:
        self.device = device
        self.path = f"{work_dir.rstrip('/')}/{LOCK_NAME}"
        self.stale_after_s = stale_after_s
        self.host = re.sub(r"[^A-Za-z0-9._-]", "_", host or socket.gethostname()) or "host"
        self.token = uuid.uuid4().hex[:12]
        self.held: Owner | None = None

    def _try(self) -> tuple[bool, Owner | None, str, int]:
        """One attempt: (acquired, owner now, raw owner text, device time)."""
        p = shlex.quote(self.path)
        mine = f"{PREFIX}:{self.host}:{os.getpid()}:$now:{self.token}"
        cmd = (
            f'now=$(date +%s); if ln -s "{mine}" {p} 2>/dev/null; then echo "acquired $now"; '
            f'else echo "held $now"; readlink {p}; fi'
        )
        r = self.device.shell(cmd, TIMEOUT_S)
        lines = r.stdout.splitlines()
        head = lines[0].split() if lines else []
        if len(head) != 2 or not head[1].isdigit():
            raise DeviceError(
                f"{self.device.serial}: cannot take the lock {self.path}: {r.stderr.strip() or r.stdout.strip()!r}"
            )
        now = int(head[1])
        if head[0] == "acquired":
            owner = Owner(self.host, os.getpid(), now, self.token)
            return True, owner, owner.text(), now
        raw = lines[1] if len(lines) > 1 else ""
        return False, Owner.parse(raw), raw, now

    def _stale_reason(self, owner: Owner | None, raw: str, now: int) -> str | None:
        if owner is None:
            return f"unreadable owner {raw!r}" if raw else None  # vanished between the two commands: retry
        if owner.host == self.host and owner.pid != os.getpid() and not process.pid_alive(owner.pid):
            return f"its holder PID {owner.pid} on this host is gone"
        if now - owner.since_s > self.stale_after_s:
            return f"it is {now - owner.since_s} s old (> {self.stale_after_s:.0f} s)"
        return None

    def _break(self, raw: str, why: str) -> None:
        p = shlex.quote(self.path)
        r = self.device.shell(f'[ "$(readlink {p})" = {shlex.quote(raw)} ] && rm -f {p} && echo broken', TIMEOUT_S)
        if "broken" in r.stdout:
            log.warning("warning: %s: broke the stale lock %s (%s)", self.device.serial, self.path, why)

    def acquire(self, wait_s: float, poll_s: float) -> float:
        """Take the lock, waiting up to wait_s while another live run holds it; returns the seconds waited (0.0 when
        it was free)."""
        t0 = time.monotonic()
        announced = False
        while True:
            ok, owner, raw, now = self._try()
            if ok:
                self.held = owner
                return time.monotonic() - t0 if announced else 0.0
            why = self._stale_reason(owner, raw, now)
            if why:
                self._break(raw, why)
                continue
            waited = time.monotonic() - t0
            holder = owner.describe(now) if owner else "an owner that just left"
            if waited >= wait_s:
                raise DeviceBusy(
                    f"{self.device.serial}: busy: {self.path} is held by {holder}; waited {waited:.0f} s "
                    f"(lock.wait_s {wait_s:.0f}); if no run uses the device, remove it with "
                    f"`adb -s {self.device.serial} shell rm {self.path}`"
                )
            if not announced:
                log.info("%s: waiting for the device lock held by %s", self.device.serial, holder)
                announced = True
            time.sleep(min(poll_s, max(0.05, wait_s - waited)))

    def release(self) -> None:
        """Remove the lock if it is still ours (never someone else's)."""
        if self.held is None:
            return
        p = shlex.quote(self.path)
        try:
            self.device.shell(f'[ "$(readlink {p})" = {shlex.quote(self.held.text())} ] && rm -f {p}', TIMEOUT_S)
        except DeviceError as e:
            log.warning("warning: could not release %s: %s (it goes stale when this process exits)", self.path, e)
        self.held = None
