"""The ARM emulated phone end to end: the real Paddle-Lite ARM runtime and benchmark_bin (../shared/paddle-lite-armv8)
pushed through the real adb server and run under qemu-aarch64 (the device's own binfmt_misc): latency, instruction
counts and device parity for fp32 and fp16, fp16 on a CPU without FP16, fp16 on a runner without fp16 kernels, and a
runner of another Paddle-Lite version. Emulation time is never asserted; instruction counts are deterministic."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from benchmark.cli import main
from benchmark.device.adb import AdbDevice
from benchmark.emulated.binfmt import ENTRY, MOUNT_DIR
from benchmark.emulated.lab import LabError
from benchmark.emulated.phone import load_phone
from benchmark.records.runs import AccuracyRun, LatencyRun, ParityRun
from benchmark.records.types import LatencyRecord
from tests.conftest import HUMAN_V1, labelled_subset
from tests.runs import latest, read_as

pytestmark = pytest.mark.slow
ONE = ["--rounds", "1", "--repeats", "1", "--warmup", "0", "--offline"]


def _run(capsys: Any, reports: Path, *argv: str) -> tuple[int, str, str, list[LatencyRecord]]:
    rc = main([*argv, "--reports", str(reports)])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    files = sorted(reports.glob("latency-*.json"))
    return rc, cap.out, cap.err, read_as(files[-1], LatencyRun).records if files else []


def _arm_bench(profile: str, models_dir: Path, bench_out: Path, precisions: str, *extra: str) -> list[str]:
    """`bench-emulated` of general V1-Lite (the fastest model) on an ARM emulated phone, one short round."""
    common = ["--models-dir", str(models_dir), "--out", str(bench_out), "--models", HUMAN_V1]
    return ["bench-emulated", "--profile", profile, *common, "--precision", precisions, *ONE, *extra]


def test_fp32_and_fp16_on_the_arm_phone(  # type: ignore[no-untyped-def]
    arm_runtime, models_dir, data_dir, bench_out, tmp_path, capsys
) -> None:
    reports = tmp_path / "reports"
    dataset = labelled_subset(data_dir, tmp_path / "ds", 2)
    common = ["--models-dir", str(models_dir), "--out", str(bench_out), "--models", HUMAN_V1]
    rc, out, _, records = _run(
        capsys,
        reports,
        "bench-emulated",
        "--profile",
        "sd855-arm",
        *common,
        "--precision",
        "fp32,fp16",
        "--rounds",
        "2",
        "--repeats",
        "1",
        "--warmup",
        "0",
        "--offline",
        "--dataset",
        str(dataset),
    )
    assert rc == 0, out
    fp32, fp16 = records
    for r in records:
        assert r.status == "ok" and r.target == "arm" and r.nb.path.endswith(f"arm-{r.precision}.nb")
        assert r.emulated_cpu == "max" and r.device.abi == "arm64-v8a" and "emulation time" in r.timing_source
        assert r.runner.version == "v2.13-rc" and r.runner.libraries == ["libpaddle_light_api_shared.so"]
        assert Path(r.runner.path).resolve() == arm_runtime / "fp16" / "benchmark_bin"  # the default runner
        # the runtime's own CPU probe read the phone's /proc/cpuinfo and /sys; its binding to the prime core failed
        assert "SM8150" in r.runtime_cpu.name and r.runtime_cpu.core_archs == ["A55"] * 4 + ["A76"] * 4
        assert "power_mode 0" in r.thread_binding and "binding to core 7 failed" in r.thread_binding
        assert r.peak_memory_mb > 0 and r.memory_note is None  # from its own run, not a timed one
        count, totals = r.instruction_count, r.instruction_count.totals
        # the second run is the cost profile's (3 inferences): the count is the difference over 2
        assert count.repeats == [1, 3] and r.instructions_per_inference == (totals[1] - totals[0]) // 2
        cp = r.cost_profile
        assert cp.ops_matched and cp.sum_error < 0.01 and cp.per_inference_insns == r.instructions_per_inference
        assert abs(sum(cp.families.values()) - cp.per_inference_insns) < 0.01 * cp.per_inference_insns
        assert r.estimate.device_class == "SM8150" and r.estimate.est_latency_ms > 0
    # fp16 kernels do about a third less ARM work (deterministic counts: a ratio, not a timing)
    assert 0.5 < fp16.instructions_per_inference / fp32.instructions_per_inference < 0.8
    assert "QEMU max: emulation time" in out and "M instr/inf" in out
    assert f"{fp32.instructions_per_inference / 1e6:.2f}" in out

    parity = latest(reports, ParityRun)
    summaries = {m.precision: m for m in parity.models}
    assert summaries["fp32"].passed and summaries["fp16"].passed and summaries["fp16"].qemu_cpu == "max"
    assert summaries["fp32"].max_abs_diff < 1e-4 < summaries["fp16"].max_abs_diff < 5e-2
    assert {(r.precision, r.target) for r in parity.records} == {("fp32", "arm"), ("fp16", "arm")}
    accuracy = latest(reports, AccuracyRun)
    assert {m.precision for m in accuracy.models} == {"fp32", "fp16"}

    # host parity says fp16 cannot run on x86 kernels; the report shows the ARM kernels' figures instead
    assert (
        main(["parity", *common, "--precision", "fp32,fp16", "--images", str(dataset), "--reports", str(reports)]) == 0
    )
    assert main(["report", "--reports", str(reports), "--models-out", str(bench_out)]) == 0
    capsys.readouterr()
    md = (reports / "report.md").read_text()
    assert "Where the ARM instructions go" in md and "Costliest ops" in md and "estimated phone ms" in md
    kernels = md.split("x86 and ARM kernels against desktop Paddle Inference fp32", 1)[1].split("\n\n", 2)[1]
    fp16_row = next(line for line in kernels.splitlines() if f"| {HUMAN_V1} | fp16 |" in line)
    assert "no x86 kernels" in fp16_row and "PASS" in fp16_row and "not run here" not in md
    assert "emulation time, never phone time" in md and "n/a (emulated)" in md and "QEMU max" in md


def test_fp16_on_a_cpu_without_fp16_is_skipped_and_fp32_goes_on(  # type: ignore[no-untyped-def]
    arm_runtime, models_dir, data_dir, bench_out, tmp_path, capsys
) -> None:
    reports = tmp_path / "reports"
    dataset = labelled_subset(data_dir, tmp_path / "ds", 1)
    argv = _arm_bench("sd625-arm", models_dir, bench_out, "fp16,fp32", "--dataset", str(dataset))
    rc, out, err, records = _run(capsys, reports, *argv)
    assert rc == 0, out + err
    fp16, fp32 = records
    assert fp16.status == "skipped" and "this CPU cannot run fp16" in fp16.error and "SIGILL" in fp16.error
    assert fp32.status == "ok" and fp32.emulated_cpu == "cortex-a53"
    assert "MSM8953" in fp32.runtime_cpu.name and set(fp32.runtime_cpu.core_archs) == {"A53"}
    summaries = {m.precision: m for m in latest(reports, ParityRun).models}
    assert "this CPU cannot run fp16" in summaries["fp16"].not_run and summaries["fp32"].passed


def test_fp16_on_a_runner_without_fp16_kernels_fails_with_the_fix(  # type: ignore[no-untyped-def]
    arm_runtime, models_dir, bench_out, tmp_path, capsys
) -> None:
    runner = str(arm_runtime / "fp32" / "benchmark_bin")
    argv = _arm_bench("sd855-arm", models_dir, bench_out, "fp16", "--runner", runner, "--no-parity")
    rc, _, err, (r,) = _run(capsys, tmp_path / "reports", *argv)
    assert rc == 1 and r.status == "failed"
    assert "this runner cannot run fp16" in r.error and "--with_arm82_fp16=ON" in r.error
    assert "this runner cannot run fp16" in err


def test_runner_of_another_version_is_refused_before_the_run(  # type: ignore[no-untyped-def]
    arm_runtime, models_dir, bench_out, tmp_path, capsys
) -> None:
    """A copy of the real runner whose version string says v2.12.0: Paddle-Lite itself would only warn and run."""
    patched = tmp_path / "runner"
    patched.mkdir()
    for name in ("benchmark_bin", "libpaddle_light_api_shared.so"):
        data = (arm_runtime / "fp32" / name).read_bytes()
        assert data.count(b"v2.13-rc\0") == 1
        (patched / name).write_bytes(data.replace(b"v2.13-rc\0", b"v2.12.0\0\0"))
    argv = _arm_bench("sd855-arm", models_dir, bench_out, "fp32", "--runner", str(patched / "benchmark_bin"))
    rc, _, _, (r,) = _run(capsys, tmp_path / "reports", *argv, "--no-parity")
    assert rc == 1 and r.status == "failed" and r.rounds is None and r.runner.version == "v2.12.0"
    assert "version mismatch: the .nb was written by opt v2.13-rc" in r.error and "says Paddle-Lite v2.12.0" in r.error


def test_a_library_of_another_version_behind_a_true_benchmark_bin_is_refused(  # type: ignore[no-untyped-def]
    arm_runtime, models_dir, bench_out, tmp_path, capsys
) -> None:
    """Only the library says another version: benchmark_bin's --version and its report still say v2.13-rc, and the
    runtime itself would only warn and run the model to completion."""
    patched = tmp_path / "runner"
    patched.mkdir()
    (patched / "benchmark_bin").write_bytes((arm_runtime / "fp32" / "benchmark_bin").read_bytes())
    lib = (arm_runtime / "fp32" / "libpaddle_light_api_shared.so").read_bytes()
    (patched / "libpaddle_light_api_shared.so").write_bytes(lib.replace(b"v2.13-rc\0", b"v2.12-rc\0"))
    argv = _arm_bench("sd855-arm", models_dir, bench_out, "fp32", "--runner", str(patched / "benchmark_bin"))
    rc, _, err, (r,) = _run(capsys, tmp_path / "reports", *argv, "--no-parity")
    assert rc == 1 and r.status == "failed" and r.rounds is None and r.instructions_per_inference is None
    assert "file libpaddle_light_api_shared.so says Paddle-Lite v2.12-rc" in r.error
    assert r.runner.sources == {
        "file benchmark_bin": "v2.13-rc",
        "file libpaddle_light_api_shared.so": "v2.12-rc",
        "--version": "v2.13-rc",
    }


def test_no_instruction_counter_is_a_setup_error(  # type: ignore[no-untyped-def]
    arm_runtime, models_dir, bench_out, tmp_path, capsys, monkeypatch
) -> None:
    """The count is the ARM emulated phone's main figure: without QEMU's plugin nothing runs (exit 2, the fix)."""
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for build in ("fp32", "fp16"):
        (runtime / build).symlink_to(arm_runtime / build)
    monkeypatch.setenv("ARM_RUNTIME_DIR", str(runtime))
    rc, out, err, records = _run(capsys, tmp_path / "reports", *_arm_bench("sd855-arm", models_dir, bench_out, "fp32"))
    assert rc == 2 and records == [] and len(err.strip().splitlines()) == 1
    assert "libinsncount.so" in err and str(runtime) in err and "ARM_RUNTIME_DIR" in err


def test_arm_phone_needs_its_own_namespace(lab, arm_runtime) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LabError, match="plain mode") as e:
        lab.add_device(load_phone("sd855-arm"), isolate="no")
    assert "binfmt_misc in its own user namespace" in str(e.value)


def test_the_phones_binfmt_misc_lives_in_its_own_tree(lab, emulated, arm_runtime) -> None:  # type: ignore[no-untyped-def]
    """The binfmt_misc instance that runs aarch64 programs is mounted inside the device's root (seen by the device as
    /system/emulator/binfmt_misc), so a device leaves no mount point behind in the host's temporary folder."""
    tmp = Path(tempfile.gettempdir())
    before = set(tmp.glob("pplite-binfmt-*"))  # where earlier versions made one per device start, never removed
    handle = emulated(phone_name="sd855-arm")
    r = AdbDevice(lab.server, handle.serial).shell(f"cat /{MOUNT_DIR}/{ENTRY}", timeout_s=30)
    assert r.returncode == 0 and "enabled" in r.stdout and "qemu-aarch64" in r.stdout, r.stdout + r.stderr
    assert (handle.root / MOUNT_DIR).is_dir() and set(tmp.glob("pplite-binfmt-*")) == before
