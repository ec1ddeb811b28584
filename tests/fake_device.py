"""An in-memory Device (benchmark.device.protocol) for fast unit tests of the harness's device logic. It answers the
commands the harness builds (work dir, verified pushes, `--version`, the round command, `insncount`, device facts,
the farm's device lock) from a script of per-round timings and failures, with no adb server, no process and a
clock of its own; the emulated devices behind the real adb server stay the integration tests."""

from __future__ import annotations

import hashlib
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmark.device.adb import DeviceGone
from benchmark.device.info import THERMAL_SCRIPT, DeviceInfo, ThermalZone, parse_info, parse_zones
from benchmark.device.protocol import ShellResult
from benchmark.device.runner import NO_RESULT_MARK, RESULT_MARK, WALL_MARK

PROPS = {
    "ro.serialno": "FAKE0001",
    "ro.product.model": "Fake Phone",
    "ro.soc.model": "SM8150",
    "ro.product.cpu.abi": "arm64-v8a",
    "ro.product.cpu.abilist": "arm64-v8a",
}


def report(avg_ms: float, *, version: str | None, peak_mb: float | None = None) -> str:
    """benchmark_bin's report, as the real one prints it (Runtime, Backend and Perf Info blocks); version None: a
    runner that prints no version line."""
    lines = [
        "======= Runtime Info =======",
        *([f"benchmark_bin version: {version}"] if version is not None else []),
        "",
        "======= Perf Info =======",
        "Time(unit: ms):",
        "init  = 10.000",
        f"first = {avg_ms:.3f}",
        f"min   = {avg_ms:.3f}",
        f"max   = {avg_ms:.3f}",
        f"avg   = {avg_ms:.3f}",
    ]
    if peak_mb is not None:
        lines += ["", "Memory Usage(unit: MB):", "init  = 20.000", f"peak  = {peak_mb:.3f}"]
    return "\n".join(lines) + "\n"


@dataclass
class FakeDevice:
    serial: str = "fake:1"
    props: dict[str, str] = field(default_factory=lambda: dict(PROPS))
    version: str | None = "v2.13-rc"  # what benchmark_bin says of itself; None: nothing (--version prints nothing)
    library_version: str | None = None  # a library of another version: its load-time warning on every round
    round_ms: list[float] = field(default_factory=lambda: [10.0, 11.0, 12.0])  # cycled over timed rounds
    peak_mb: float = 40.0  # -0.001 is what benchmark_bin prints when it cannot read memory
    counter: bool = True  # an ARM emulated phone offers `insncount`
    insns_per_run: int = 5_000_000
    insns_setup: int = 1_000_000
    fail_round: tuple[int, str] | None = None  # (exit code, stderr) of every timed round
    gone_after_rounds: int | None = None  # the device disconnects after this many runner invocations
    files: dict[str, bytes] = field(default_factory=dict)
    rounds: list[list[str]] = field(default_factory=list)  # the runner's argv of every invocation
    links: dict[str, str] = field(default_factory=dict)  # symlinks (the farm lock): path -> target
    clock_s: int = 1_800_000_000  # the device's `date +%s`
    _mutex: threading.Lock = field(default_factory=threading.Lock)  # two farm workers may share one fake

    def _gone(self) -> bool:
        return self.gone_after_rounds is not None and len(self.rounds) >= self.gone_after_rounds

    def shell(self, cmd: str, timeout_s: float) -> ShellResult:
        if self._gone():
            raise DeviceGone(self.serial, "(fake)")
        for marker, answer in self._handlers():
            if marker in cmd:
                with self._mutex:
                    return answer(cmd)
        if cmd.startswith(("mkdir -p", "rm -rf", "rm -f", "true", "cat ")) or cmd == "":
            return ShellResult(0, "", "")
        raise AssertionError(f"the fake device does not know this command: {cmd[:200]}")

    def _handlers(self) -> list[tuple[str, Callable[[str], ShellResult]]]:
        return [
            ("ln -s ", self._lock),
            ("$(readlink ", self._unlock),
            (RESULT_MARK, self._round),
            ("insncount ", self._insncount),
            ("command -v insnprofile", lambda _: ShellResult(1, "", "")),  # no cost profiler on the in-memory phone
            (
                "command -v insncount",
                lambda _: ShellResult(0, "/system/bin/insncount\n", "") if self.counter else ShellResult(1, "", ""),
            ),
            (
                "--version",
                lambda _: ShellResult(0, "" if self.version is None else f"benchmark_bin version {self.version}\n", ""),
            ),
            ("md5sum", self._verify),
            ("getprop", lambda _: ShellResult(0, self._info_text(), "")),
            (THERMAL_SCRIPT[:40], lambda _: ShellResult(0, "zone|0|cpu-1-0-usr|35000\n", "")),
        ]

    def _lock(self, cmd: str) -> ShellResult:
        """`ln -s "<owner with $now>" <path>`: atomic create, else who holds it (benchmark.farm.lock)."""
        m = re.search(r'ln -s "([^"]+)" (\S+)', cmd)
        assert m, cmd
        target, path = m.group(1).replace("$now", str(self.clock_s)), shlex.split(m.group(2))[0]
        if path in self.links:
            return ShellResult(0, f"held {self.clock_s}\n{self.links[path]}\n", "")
        self.links[path] = target
        return ShellResult(0, f"acquired {self.clock_s}\n", "")

    def _unlock(self, cmd: str) -> ShellResult:
        """`[ "$(readlink P)" = OWNER ] && rm -f P [&& echo broken]`: remove the lock only if OWNER still holds it."""
        m = re.search(r'\[ "\$\(readlink (\S+)\)" = (.+?) \] && rm -f', cmd)
        assert m, cmd
        path, owner = shlex.split(m.group(1))[0], shlex.split(m.group(2))[0]
        if self.links.get(path) != owner:
            return ShellResult(1, "", "")
        del self.links[path]
        return ShellResult(0, "broken\n" if "echo broken" in cmd else "", "")

    def _runner_args(self, cmd: str) -> list[str]:
        words = shlex.split(cmd)
        return words[words.index("./benchmark_bin") + 1 :] if "./benchmark_bin" in words else []

    def _round(self, cmd: str) -> ShellResult:
        words = shlex.split(cmd)
        args = self._runner_args(words[words.index("-c") + 1])  # sh -c 'echo $$ > runner.pid; exec ./benchmark_bin ...'

        self.rounds.append(args)
        memory = "--enable_memory_profile=true" in args
        if self.fail_round and not memory:
            code, stderr = self.fail_round
            return ShellResult(code, NO_RESULT_MARK + "\n", stderr + f"\n{WALL_MARK}1000000\n")
        timed = [a for a in self.rounds if "--enable_memory_profile=true" not in a]
        avg = self.round_ms[(len(timed) - 1) % len(self.round_ms)]
        text = report(avg, version=self.version, peak_mb=self.peak_mb if memory else None)
        log = ""
        if self.library_version is not None:  # what model_parser.cc logs when the .nb's opt differs
            log = (
                "warning: the version of opt that transformed this model is not consistent with current Paddle-Lite "
                "version.\n      version of opt:v2.13-rc\n"
                f"      version of current Paddle-Lite:{self.library_version}\n"
            )
        return ShellResult(0, f"{RESULT_MARK}\n{text}", f"{log}{WALL_MARK}{int(avg * 1e6)}\n")

    def _insncount(self, cmd: str) -> ShellResult:
        repeats = int(next(a for a in shlex.split(cmd) if a.startswith("--repeats=")).split("=")[1])
        return ShellResult(0, f"insns: {self.insns_setup + repeats * self.insns_per_run}\n", "")

    def _verify(self, cmd: str) -> ShellResult:
        path = shlex.split(cmd)[3]
        data = self.files[path]
        return ShellResult(0, f"{len(data)}\n{hashlib.md5(data).hexdigest()}  {path}\n", "")  # noqa: S324

    def _info_text(self) -> str:
        props = "".join(f"prop|{k}|{v}\n" for k, v in self.props.items())
        cpus = "".join(f"cpu|{i}|300000|{2841600 if i == 7 else 1785600}|schedutil\n" for i in range(8))
        return props + cpus + "zone|0|cpu-1-0-usr|35000\nbattery|80|300\n"

    def push(self, data: bytes, remote: str, *, mode: int = 0o644, timeout_s: float = 120) -> None:
        if self._gone():
            raise DeviceGone(self.serial, "(fake)")
        self.files[remote] = data

    def pull(self, remote: str) -> bytes:
        return self.files[remote]

    def exists(self, remote: str) -> bool:
        return remote in self.files

    def info(self, timeout_s: float = 30) -> DeviceInfo:
        return parse_info(self.serial, self._info_text())

    def thermal(self, timeout_s: float = 15) -> tuple[ThermalZone, ...]:
        return parse_zones("zone|0|cpu-1-0-usr|35000\n")

    def kill(self, pid: int, timeout_s: float = 15) -> bool:
        return True


def tiny_nb(target: int = 4, version: str = "v2.13-rc") -> bytes:
    """A .nb header and a one-kernel topology (conv2d on `target`: 4 = arm, 2 = x86) that converter.nb.inspect
    reads; no runtime could load it, and the fake device never runs one."""
    import struct

    key = f"conv2d/def/{target}/1/1".encode() + b"\x00"
    topology = struct.pack("<I", len(key) - 1) + key
    return struct.pack("<H16sQ", 2, version.encode(), len(topology)) + topology
