"""Running ncnn on a device: `ncnn_run`, a raw-input/raw-output runner on ncnn's public C++ API (lite_run's argument
order; its source is ncnn_run.cc beside the ARM runtime), pushed beside benchmark_bin. What the harness relies on,
its contract with any ncnn_run a user builds for a phone (tools/build-phone-runner-ncnn):

- `ncnn_run --version` prints `ncnn <version> ...` and a line `cpu features seen by ncnn: asimdhp(fp16) 0|1 ...`;
- `ncnn_run MODEL.param IN.f32 OUT.f32 --input-shape N,C,H,W --input in0 --output out0 --threads T --warmup W
  --repeats R --fp16 0|1` (the blobs pnnx names) prints
  `init_ms X`, one `warmup i run_ms X` / `repeat i run_ms X` line per run, `repeats n min_ms A max_ms B avg_ms C`
  and `output NAME dims D shape (c,d,h,w) ...`, and writes the last run's output as raw float32 in C,H,W order.

Its version is checked against the model's: the oldest ncnn that loads what the converter's pnnx wrote
(the manifest's `ncnn.min_runtime`); an older runner is refused with both versions named."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from benchmark.device.adb import DeviceTimeout
from benchmark.device.bundle import ABI_MACHINES
from benchmark.device.elf import read_elf
from benchmark.device.info import DeviceInfo
from benchmark.device.protocol import Device
from benchmark.device.runner import RunnerError, WorkDir, kill_after_timeout
from converter.base.errors import ToolkitError
from converter.ncnn.export import version_key
from converter.ncnn.worker import INPUT, OUTPUT

NCNN_RUNNER_NAME = "ncnn_run"
GET_NCNN_RUNNER_HELP = (
    "pass --ncnn-runner PATH (or NCNN_RUNNER=) to an arm64 ncnn_run built from ncnn's source with your NDK: "
    "`NDK_ROOT=... make runner RUNTIME=ncnn NCNN_SRC=<ncnn checkout>` (docs/runtimes.md)"
)
_VERSION_RE = re.compile(r"^ncnn (\d+\.\d+\.\d{8})\b", re.MULTILINE)
_FP16_RE = re.compile(r"asimdhp\(fp16\) ([01])")
_RUN_RE = re.compile(r"^(warmup|repeat) (\d+) run_ms ([0-9.]+)\s*$", re.MULTILINE)
_INIT_RE = re.compile(r"^init_ms ([0-9.]+)\s*$", re.MULTILINE)
_SUMMARY_RE = re.compile(r"^repeats (\d+) min_ms ([0-9.]+) max_ms ([0-9.]+) avg_ms ([0-9.]+)\s*$", re.MULTILINE)
_OUTPUT_RE = re.compile(r"^output (\S+) dims (\d) shape \(c,d,h,w\) (\d+) (\d+) (\d+) (\d+)", re.MULTILINE)


class NcnnVersionMismatch(ToolkitError):
    """The ncnn runner is older than the oldest ncnn that loads the model's files, or names no version."""

    def __init__(self, message: str, *, min_runtime: str, runner_version: str | None) -> None:
        super().__init__(message)
        self.min_runtime = min_runtime
        self.runner_version = runner_version


@dataclass(frozen=True)
class NcnnRunner:
    """The ncnn runner pushed into a work dir, and what `--version` said of it on that device."""

    label: str
    version: str | None
    fp16_arithmetic: bool | None  # the CPU features ncnn detects there: None when not printed


@dataclass(frozen=True)
class NcnnReport:
    """One ncnn_run invocation's output."""

    version: str | None
    init_ms: float
    warmup_ms: tuple[float, ...]
    repeat_ms: tuple[float, ...]
    avg_ms: float
    output_shape: tuple[int, ...]  # C,H,W (ncnn's dims, batch dropped)

    @property
    def first_ms(self) -> float:
        return (self.warmup_ms or self.repeat_ms)[0]


def runner_data(path: Path, info: DeviceInfo) -> bytes:
    """The runner's bytes, checked against the device's ABI (a script is the user's own)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RunnerError(f"ncnn runner {path} cannot be read: {e.strerror or e}") from None
    elf = read_elf(data)
    wanted = [ABI_MACHINES[a] for a in info.abis if a in ABI_MACHINES]
    if elf is not None and elf.machine not in wanted:
        raise RunnerError(
            f"ncnn runner {path} is an {elf.machine} program, but {info.serial} runs {', '.join(info.abis)}: "
            + GET_NCNN_RUNNER_HELP
        )
    return data


def parse_version(text: str) -> tuple[str | None, bool | None]:
    found, fp16 = _VERSION_RE.search(text), _FP16_RE.search(text)
    return (found.group(1) if found else None), (fp16.group(1) == "1" if fp16 else None)


def push_runner(device: Device, work: WorkDir, path: Path, info: DeviceInfo) -> NcnnRunner:
    """Push ncnn_run into the work dir and ask it its version and what the device's CPU can do."""
    device.push(runner_data(path, info), work.file(NCNN_RUNNER_NAME), mode=0o755)
    r = device.shell(f"cd {shlex.quote(work.path)} && ./{NCNN_RUNNER_NAME} --version", timeout_s=120)
    version, fp16 = parse_version(r.stdout) if r.returncode == 0 else (None, None)
    return NcnnRunner(str(path), version, fp16)


def check_version(min_runtime: str | None, runner: NcnnRunner, serial: str, *, allow_unknown: bool) -> None:
    """Refuse a runner older than the model's files need, naming both versions (or one that names none)."""
    if min_runtime is None:
        return
    if runner.version is None:
        if allow_unknown:
            return
        raise NcnnVersionMismatch(
            f"{serial}: the ncnn runner {runner.label} does not say which ncnn it is (`--version` printed no "
            f"'ncnn 1.0.YYYYMMDD'), so it cannot be checked against the model's files, which need ncnn {min_runtime} "
            "or newer: build ncnn_run from ncnn's source (tools/build-phone-runner-ncnn), or pass "
            "--allow-unknown-runner-version",
            min_runtime=min_runtime,
            runner_version=None,
        )
    if version_key(runner.version) < version_key(min_runtime):
        raise NcnnVersionMismatch(
            f"{serial}: version mismatch: the model's ncnn files need ncnn {min_runtime} or newer (what the "
            f"converter's pnnx writes), but the ncnn runner {runner.label} is ncnn {runner.version}: rebuild it from "
            f"an ncnn checkout at or after {min_runtime} (tools/build-phone-runner-ncnn)",
            min_runtime=min_runtime,
            runner_version=runner.version,
        )


def parse_output(text: str) -> NcnnReport:
    runs = _RUN_RE.findall(text)
    init, summary, output = _INIT_RE.search(text), _SUMMARY_RE.search(text), _OUTPUT_RE.search(text)
    if init is None or summary is None or output is None or not runs:
        tail = " | ".join(text.strip().splitlines()[-3:])
        raise RunnerError(f"ncnn_run's output has no complete report (init_ms, run_ms, repeats, output): {tail!r}")
    dims = int(output.group(2))
    c, d, h, w = (int(output.group(i)) for i in range(3, 7))
    shape = {1: (w,), 2: (h, w), 3: (c, h, w), 4: (c, d, h, w)}.get(dims, (c, h, w))
    return NcnnReport(
        version=parse_version(text)[0],
        init_ms=float(init.group(1)),
        warmup_ms=tuple(float(ms) for kind, _, ms in runs if kind == "warmup"),
        repeat_ms=tuple(float(ms) for kind, _, ms in runs if kind == "repeat"),
        avg_ms=float(summary.group(4)),
        output_shape=shape,
    )


def run_args(model: str, input_file: str, output_file: str, shape: list[int], *, fp16: bool) -> list[str]:
    """The model, its input and output files, the input shape, one thread and the precision (warmup/repeats come per
    kind of run)."""
    return [model, input_file, output_file, f"--input-shape={','.join(map(str, shape))}", f"--input={INPUT}",
            f"--output={OUTPUT}", "--threads=1", f"--fp16={int(fp16)}"]  # fmt: skip


def run_once(
    device: Device, work: WorkDir, args: list[str], *, warmup: int, repeats: int, pin_mask: str | None, timeout_s: float
) -> NcnnReport:
    """One ncnn_run process on the device (its PID kept, so a timeout kills it there)."""
    inner = "echo $$ > runner.pid; exec " + shlex.join(
        (["taskset", pin_mask] if pin_mask else [])
        + [f"./{NCNN_RUNNER_NAME}", *args, f"--warmup={warmup}", f"--repeats={repeats}"]
    )
    try:
        r = device.shell(f"cd {shlex.quote(work.path)} && sh -c {shlex.quote(inner)}", timeout_s=timeout_s)
    except DeviceTimeout:
        raise RunnerError(kill_after_timeout(device, work, timeout_s)) from None
    if r.returncode != 0:
        how = f"was killed by signal {r.returncode - 128}" if r.returncode > 128 else f"exited with {r.returncode}"
        tail = "\n    ".join((r.stderr.strip() or r.stdout.strip()).splitlines()[-6:])
        raise RunnerError(f"{device.serial}: ncnn_run {how}:\n    {tail}", returncode=r.returncode, output=r.stdout)
    return parse_output(r.stdout)
