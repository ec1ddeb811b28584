"""Running benchmark_bin on a device: the per-run work dir, pushing the runner, the command line, timeouts
that kill the device-side process by PID, and the result file."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass

from benchmark.device.adb import DeviceError, DeviceTimeout
from benchmark.device.bundle import RUNNER_NAME, RunnerBundle
from benchmark.device.protocol import Device
from benchmark.device.runner_output import (
    RunnerReport,
    RuntimeLog,
    parse_runner_output,
    parse_runtime_log,
    parse_version,
)
from converter.base.errors import ToolkitError

WALL_MARK = "__pplite_runner_wall_ns="
RESULT_MARK = "__pplite_result_file__"
NO_RESULT_MARK = "__pplite_no_result_file__"
ROUND_TIMEOUT_S = 300.0  # a benchmark_bin invocation that takes longer is killed on the device
SIGILL_EXIT = 128 + 4  # shell v2 reports death by a signal as 128 + signal, as adbd does


class RunnerError(ToolkitError):
    """The runner failed on the device: exit code, timeout, unreadable output, missing result file."""

    def __init__(self, message: str, *, returncode: int | None = None, output: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.output = output  # the runner's stdout + stderr, for classifying the failure


class CannotRunVariant(RunnerError):
    """This runner or this CPU cannot run the variant (fp16 needs fp16 kernels and ARMv8.2 FP16 arithmetic)."""

    def __init__(self, message: str, *, cause: str) -> None:
        super().__init__(message)
        self.cause = cause  # "runner" (fixable: another runner) | "cpu" (this phone cannot)


@dataclass(frozen=True)
class RoundResult:
    report: RunnerReport
    runner_wall_s: float | None  # measured on the device around the runner process
    stdout: str
    runtime: RuntimeLog  # what Paddle-Lite logged of the CPU and of its thread binding


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
        raise RunnerError(kill_after_timeout(device, work, timeout_s)) from None
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
        lines = [ln for ln in stderr_lines if not ln.startswith("[I ")] or stderr_lines or stdout.splitlines()
        tail = "\n    ".join(lines[-8:])
        how = f"was killed by signal {r.returncode - 128}" if r.returncode > 128 else f"exited with {r.returncode}"
        raise RunnerError(
            f"{device.serial}: the runner {how}:\n    {tail}",
            returncode=r.returncode,
            output=stdout + "\n" + "\n".join(stderr_lines),
        )
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
    return RoundResult(report, wall, stdout, parse_runtime_log("\n".join(stderr_lines)))


def push_bundle(device: Device, work: WorkDir, bundle: RunnerBundle) -> None:
    for name, data, mode in bundle.files:
        device.push(data, work.file(name), mode=mode)


def probe_version(device: Device, work: WorkDir, timeout_s: float = 60) -> str | None:
    """The runner's Paddle-Lite version from `benchmark_bin --version` (no model is loaded); None when it prints
    none (runner_version.RunnerVersions holds the other sources)."""
    r = device.shell(f"cd {shlex.quote(work.path)} && ./{RUNNER_NAME} --version", timeout_s=timeout_s)
    return parse_version(r.stdout) if r.returncode == 0 else None


def explain_failure(err: RunnerError, precision: str, serial: str) -> RunnerError:
    """Turn the two ways an fp16 .nb dies into what they mean and what to do."""
    if precision != "fp16" or err.returncode is None:
        return err
    if "kernel for 'calib' is not supported" in err.output:
        return CannotRunVariant(
            f"{serial}: this runner cannot run fp16: it has no fp16 kernels ('calib' is not supported). Use a runner "
            "built with --with_arm82_fp16=ON (tools/build-phone-runner builds one)",
            cause="runner",
        )
    if err.returncode == SIGILL_EXIT:
        return CannotRunVariant(
            f"{serial}: this CPU cannot run fp16: the runner died of SIGILL (no ARMv8.2 FP16 arithmetic, e.g. a "
            "Cortex-A53 phone); ship the fp32 or int8 variant to such phones",
            cause="cpu",
        )
    return err


def kill_after_timeout(device: Device, work: WorkDir, timeout_s: float) -> str:
    msg = f"{device.serial}: the runner did not finish within {timeout_s:.0f} s"
    try:
        pid_text = device.shell(f"cat {shlex.quote(work.file('runner.pid'))}", timeout_s=15).stdout.strip()
        if not pid_text.isdigit():
            return msg + "; its PID is unknown, so it may still run on the device"
        gone = device.kill(int(pid_text))
        return msg + (f"; killed PID {pid_text} on the device" if gone else f"; PID {pid_text} could not be killed")
    except DeviceError as e:
        return f"{msg}; could not kill it: {e}"
