"""Contract test: the x86 emulated device's runner (benchmark.emulated.runner) behaves like the real benchmark_bin.
The same argument sets run through the real Paddle-Lite 2.13 ARM benchmark_bin (ARM emulated phone, QEMU) and the
emulated runner (x86 emulated device), both through the real adb server; exit codes, the report's blocks and keys,
and the messages that matter are compared. The real tool's Linux build has no `Device Info` block (Android only)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from benchmark.device.adb import AdbDevice
from benchmark.device.bundle import RUNNER_NAME
from benchmark.device.protocol import Device
from benchmark.device.session import device_session
from tests.conftest import HUMAN_V1

pytestmark = pytest.mark.slow
SHAPE = "--input_shape=1,3,192,192"
CASES: dict[str, list[str]] = {
    "run": ["{nb}", SHAPE, "--backend={backend}", "--warmup=0", "--repeats=1", "--threads=1", "--power_mode=0"],
    "memory profile": ["{nb}", SHAPE, "--backend={backend}", "--repeats=1", "--enable_memory_profile=true"],
    "elements": ["{nb}", SHAPE, "--backend={backend}", "--repeats=1", "--show_output_elem=true"],
    "version": ["--version"],
    "unknown flag": ["{nb}", SHAPE, "--backend={backend}", "--nosuch_flag=1"],
    "no backend": ["{nb}", SHAPE],
    "no shape": ["{nb}", "--backend={backend}"],
    "no model": [SHAPE, "--backend={backend}"],
    "inputs ambiguous": ["{nb}", SHAPE, "--input_data_path=a.txt:b.txt", "--backend={backend}"],
    "missing model file": ["--optimized_model_file=/data/local/tmp/none.nb", SHAPE, "--backend={backend}"],
}
MESSAGES = {
    "unknown flag": "ERROR: unknown command line flag 'nosuch_flag'",
    "no backend": "Must set --backend option!",
    "no shape": "Must set --input_shape option!",
    "no model": "No model path is set!",
    "inputs ambiguous": "The num of input tensors is ambiguous.",
    "missing model file": "Mode file[/data/local/tmp/none.nb] not exist!",
}


def _shape(result: Any) -> dict[str, Any]:
    out = result.stdout
    blocks = [b for b in re.findall(r"^======= (.+?) =======$", out, re.MULTILINE) if b != "Device Info"]
    perf = out.split("======= Perf Info =======", 1)[-1] if "Perf Info" in out else ""
    return {
        "exit": result.returncode,
        "blocks": blocks,
        "perf keys": re.findall(r"^(init|first|min|max|avg|peak)\s+=", perf, re.MULTILINE),
        "memory block": "Memory Usage(unit: MB):" in out,
        "element lines": len(re.findall(r"^out\[0\]\[\d+\]:", out, re.MULTILINE)),
        "version line": bool(re.search(r"^benchmark_bin version v2\.13-rc$", out, re.MULTILINE)),
        "usage on stdout": "If load the optimized model, set --optimized_model_file" in out,
    }


def _run_cases(device: Device, runner: Path | None, nb: Path, backend: str) -> dict[str, tuple[dict[str, Any], str]]:
    results = {}
    with device_session(device, runner=runner, run_id="contract", keep=False) as ctx:
        remote = ctx.work.file("model.nb")
        device.push(nb.read_bytes(), remote)
        for name, template in CASES.items():
            args = [a.format(nb=f"--optimized_model_file={remote}", backend=backend) for a in template]
            r = device.shell(f"cd {shlex.quote(ctx.work.path)} && ./{RUNNER_NAME} {shlex.join(args)}", timeout_s=300)
            results[name] = (_shape(r), r.stdout + r.stderr)
    return results


def test_emulated_runner_honours_the_real_contract(lab, emulated, arm_runtime, bench_out) -> None:  # type: ignore[no-untyped-def]
    arm = emulated(phone_name="sd855-arm")
    x86 = emulated()
    assert lab.server is not None
    real = _run_cases(
        AdbDevice(lab.server, arm.serial),
        arm_runtime / "fp16" / "benchmark_bin",
        bench_out / HUMAN_V1 / "arm-fp32.nb",
        "arm",
    )
    imitation = _run_cases(AdbDevice(lab.server, x86.serial), None, bench_out / HUMAN_V1 / "x86-fp32.nb", "x86")
    for name in CASES:
        (want, real_text), (got, text) = real[name], imitation[name]
        assert got == want, f"{name}: real {want}, emulated {got}\nreal output:\n{real_text[-600:]}"
        if name in MESSAGES:
            assert MESSAGES[name] in real_text and MESSAGES[name] in text, name
    assert real["run"][0]["exit"] == 0 and real["missing model file"][0]["exit"] == 134  # abort()
    assert real["unknown flag"][0]["exit"] == 1 and real["no backend"][0]["exit"] == 0  # gflags vs usage
    assert real["elements"][0]["element lines"] == 2 * 192 * 192
