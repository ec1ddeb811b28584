"""Running benchmark_bin on a device: the per-run work dir, pushing the runner, the command line, timeouts
that kill the device-side process by PID, and the result file."""

from __future__ import annotations

import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmark.device import Device, DeviceError, DeviceTimeout
from benchmark.device_info import DeviceInfo
from benchmark.runner_output import RunnerReport, parse_runner_output
from converter.errors import ToolkitError

RUNNER_NAME = "benchmark_bin"
WALL_MARK = "__pplite_runner_wall_ns="
RESULT_MARK = "__pplite_result_file__"
NO_RESULT_MARK = "__pplite_no_result_file__"
GET_RUNNER_HELP = (
    "pass --runner PATH to an armv8 benchmark_bin built from Paddle-Lite 2.13 with "
    "`./lite/tools/build_android.sh --toolchain=clang --with_benchmark=ON full_publish` "
    "(build.lite.android.armv8.clang/lite/api/tools/benchmark/benchmark_bin); its Paddle-Lite version should "
    "match the opt that converted the .nb"
)


class RunnerError(ToolkitError):
    """The runner failed on the device: exit code, timeout, unreadable output, missing result file."""


@dataclass(frozen=True)
class RoundResult:
    report: RunnerReport
    runner_wall_s: float | None  # measured on the device around the runner process
    stdout: str


def emulated_runner_script() -> bytes:
    """What the harness pushes as benchmark_bin to an emulated device: a wrapper around this host's Python."""
    return f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m benchmark.emulated.runner "$@"\n'.encode()


def runner_bytes(runner: Path | None, info: DeviceInfo) -> tuple[bytes, str]:
    if runner is not None:
        try:
            return runner.read_bytes(), str(runner)
        except OSError as e:
            raise RunnerError(f"runner {runner} cannot be read: {e.strerror or e}") from None
    if info.emulated:
        return emulated_runner_script(), "emulated (Paddle-Lite x86 on the host)"
    raise RunnerError(f"{info.serial}: no runner given for this (real) device: {GET_RUNNER_HELP}")


class WorkDir:
    """A per-run folder under /data/local/tmp on one device."""

    def __init__(self, device: Device, run_id: str, base: str = "/data/local/tmp") -> None:
        self.device = device
        self.path = f"{base.rstrip('/')}/pplite-{run_id}"

    def file(self, name: str) -> str:
        return f"{self.path}/{name}"

    def create(self) -> None:
        r = self.device.shell(f"mkdir -p {shlex.quote(self.path)}", timeout_s=30)
        if r.returncode != 0:
            raise DeviceError(f"{self.device.serial}: cannot create {self.path}: {r.stderr.strip() or r.stdout}")

    def remove(self) -> None:
        self.device.shell(f"rm -rf {shlex.quote(self.path)}", timeout_s=60)


def runner_command(work: WorkDir, args: list[str], pin_mask: str | None, result_file: str) -> str:
    """One device call per round: remove the old result file, run `sh -c 'echo $$ > runner.pid; exec [taskset MASK]
    ./benchmark_bin ARGS'` with its wall time measured on the device (date +%s%N, printed on stderr), then print
    the result file after a marker on stdout (so the round costs one adb round trip, not three)."""
    inner = "echo $$ > runner.pid; exec " + shlex.join(
        (["taskset", pin_mask] if pin_mask else []) + [f"./{RUNNER_NAME}", *args]
    )
    result = shlex.quote(result_file)
    return (
        f"cd {shlex.quote(work.path)} && rm -f {result} && s=$(date +%s%N); sh -c {shlex.quote(inner)}; rc=$?; "
        f'e=$(date +%s%N); echo "{WALL_MARK}$((e - s))" >&2; '
        f'if [ -f {result} ]; then echo "{RESULT_MARK}"; cat {result}; else echo "{NO_RESULT_MARK}"; fi; exit $rc'
    )


def run_round(device: Device, work: WorkDir, args: list[str], *, pin_mask: str | None, timeout_s: float) -> RoundResult:
    result_file = work.file("result.txt")
    cmd = runner_command(work, [*args, f"--result_path={result_file}"], pin_mask, result_file)
    t0 = time.monotonic()
    try:
        r = device.shell(cmd, timeout_s=timeout_s)
    except DeviceTimeout:
        raise RunnerError(_kill_after_timeout(device, work, timeout_s)) from None
    wall = None
    stderr_lines = []
    for line in r.stderr.splitlines():
        if line.startswith(WALL_MARK):
            ns = line[len(WALL_MARK) :].strip()
            wall = int(ns) / 1e9 if ns.isdigit() else None
        else:
            stderr_lines.append(line)
    if wall is None:  # a shell without %N: fall back to the host's view
        wall = time.monotonic() - t0
    stdout, _, result_text = r.stdout.partition(RESULT_MARK + "\n")
    if r.returncode != 0:
        tail = "\n    ".join((stderr_lines or stdout.splitlines())[-8:])
        how = f"was killed by signal {r.returncode - 128}" if r.returncode > 128 else f"exited with {r.returncode}"
        raise RunnerError(f"{device.serial}: the runner {how}:\n    {tail}")
    if not result_text:
        raise RunnerError(
            f"{device.serial}: the runner exited 0 but wrote no result file {result_file} (--result_path); "
            "is it a Paddle-Lite 2.11+ benchmark_bin?"
        )
    try:
        report = parse_runner_output(result_text)
    except ToolkitError as e:
        tail = "\n    ".join(stderr_lines[-5:])
        raise RunnerError(f"{device.serial}: {e}" + (f"\n  runner stderr:\n    {tail}" if tail else "")) from None
    return RoundResult(report, wall, stdout)


def _kill_after_timeout(device: Device, work: WorkDir, timeout_s: float) -> str:
    msg = f"{device.serial}: the runner did not finish within {timeout_s:.0f} s"
    try:
        pid_text = device.shell(f"cat {shlex.quote(work.file('runner.pid'))}", timeout_s=15).stdout.strip()
        if not pid_text.isdigit():
            return msg + "; its PID is unknown, so it may still run on the device"
        gone = device.kill(int(pid_text))
        return msg + (f"; killed PID {pid_text} on the device" if gone else f"; PID {pid_text} could not be killed")
    except DeviceError as e:
        return f"{msg}; could not kill it: {e}"
