"""Fast unit tests of the device logic on an in-memory device (tests/fake_device.py): rounds and their statistics,
the separate memory run, instruction counts, the runner version rule, fp16 failures, a device that disconnects.
The same paths run against the real adb server, emulated devices and the real ARM runtime in the slow suites."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from benchmark.device.instructions import NoInstructionCounter
from benchmark.device.session import ModelJob, device_session
from benchmark.latency.run import BenchSettings, bench_device, bench_model
from benchmark.records.run_files import RunFile
from benchmark.records.runs import LatencyRun
from benchmark.records.types import LatencyRecord
from tests.fake_device import FakeDevice, tiny_nb

SETTINGS = BenchSettings(rounds=3, repeats=2, warmup=1)


@pytest.fixture
def model(tmp_path: Path) -> ModelJob:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "arm-fp32.nb").write_bytes(tiny_nb())
    (folder / "arm-fp16.nb").write_bytes(tiny_nb())
    return ModelJob("m", folder, [1, 3, 8, 8], 15.86)


@pytest.fixture
def runner(tmp_path: Path) -> Path:
    script = tmp_path / "benchmark_bin"
    script.write_text("#!/bin/sh\n")  # a script is pushed as is; the fake device answers for it
    return script


def _bench(device: FakeDevice, job: ModelJob, runner: Path, settings: BenchSettings = SETTINGS) -> LatencyRecord:
    allow = settings.allow_unknown_runner_version
    with device_session(device, runner=runner, run_id="t", keep=False, allow_unknown_version=allow) as ctx:  # type: ignore[arg-type]
        return bench_model(ctx, job, settings)


def test_rounds_statistics_and_memory_from_its_own_run(model: ModelJob, runner: Path) -> None:
    device = FakeDevice(round_ms=[10.0, 14.0, 12.0])
    rec = _bench(device, model, runner)
    assert rec.status == "ok" and rec.rounds_ms == [10.0, 14.0, 12.0] and rec.median_ms == 12.0
    assert rec.runner.version == "v2.13-rc" and rec.target == "arm"
    timed = [a for a in device.rounds if "--enable_memory_profile=true" not in a]
    assert len(timed) == 3 and all("--warmup=1" in a and "--repeats=2" in a for a in timed)
    (memory,) = [a for a in device.rounds if "--enable_memory_profile=true" in a]  # one extra run, never timed
    assert "--repeats=1" in memory and rec.peak_memory_mb == 40.0 and rec.memory_note is None
    assert "power_mode 0" in rec.thread_binding and "whether it held is not known" in rec.thread_binding


def test_invalid_memory_reading_is_unknown(model: ModelJob, runner: Path) -> None:
    rec = _bench(FakeDevice(peak_mb=-0.001), model, runner)
    assert rec.status == "ok" and rec.peak_memory_mb is None and "invalid memory reading" in rec.memory_note


def test_instructions_are_counted_only_on_qemu_phones(model: ModelJob, runner: Path) -> None:
    assert _bench(FakeDevice(), model, runner).instructions_per_inference is None
    qemu = FakeDevice()
    qemu.props["ro.toolkit.qemu.cpu"] = "max"
    rec = _bench(qemu, model, runner)
    assert rec.instructions_per_inference == 5_000_000 and rec.emulated_cpu == "max"
    assert rec.instruction_count.totals == [6_000_000, 11_000_000]


def test_a_qemu_phone_without_its_counter_runs_nothing(model: ModelJob, runner: Path, tmp_path: Path) -> None:
    qemu = FakeDevice(counter=False)
    qemu.props["ro.toolkit.qemu.cpu"] = "max"
    run_file = RunFile(tmp_path / "latency-x.json", LatencyRun())
    outcome = bench_device(qemu, [model], SETTINGS, run_file=run_file, runner=runner, run_id="t")  # type: ignore[arg-type]
    assert isinstance(outcome.error, NoInstructionCounter) and outcome.records == [] and qemu.rounds == []
    assert "libinsncount.so" in str(outcome.error) and not outcome.ok


def test_runner_of_another_version_runs_nothing(model: ModelJob, runner: Path) -> None:
    device = FakeDevice(version="cd09a8e010")
    rec = _bench(device, model, runner)
    assert rec.status == "failed" and "a commit hash: it was built off a tag" in rec.error
    assert device.rounds == []  # refused before any round


def test_a_library_of_another_version_is_refused_after_its_first_round(model: ModelJob, runner: Path) -> None:
    """benchmark_bin says v2.13-rc, but the library it loads logs another version when the model loads: one round
    ran, none is recorded."""
    device = FakeDevice(library_version="v2.12-rc")
    rec = _bench(device, model, runner)
    assert rec.status == "failed" and len(device.rounds) == 1 and rec.rounds_ms is None
    assert "version mismatch" in rec.error and "runtime log says Paddle-Lite v2.12-rc" in rec.error
    assert rec.runner.sources["runtime log"] == "v2.12-rc" and "v2.12-rc" in rec.runner.version


def test_a_silent_runner_is_refused_unless_allowed(model: ModelJob, runner: Path) -> None:
    device = FakeDevice(version=None)
    rec = _bench(device, model, runner)
    assert rec.status == "failed" and device.rounds == [] and "does not say which Paddle-Lite" in rec.error
    allowed = _bench(FakeDevice(version=None), model, runner, replace(SETTINGS, allow_unknown_runner_version=True))
    assert allowed.status == "ok" and allowed.runner.unknown_version_allowed is True
    assert allowed.runner.version is None
    # allowing an unknown version never lets a known other version through
    other = _bench(
        FakeDevice(library_version="v2.12-rc"), model, runner, replace(SETTINGS, allow_unknown_runner_version=True)
    )
    assert other.status == "failed" and "version mismatch" in other.error


@pytest.mark.parametrize(
    ("code", "stderr", "status", "text"),
    [
        (132, "qemu: uncaught target signal 4 (Illegal instruction)", "skipped", "this CPU cannot run fp16"),
        (134, "Error: kernel for 'calib' is not supported by Paddle-Lite.", "failed", "this runner cannot run fp16"),
        (1, "something else", "failed", "the runner exited with 1"),
    ],
)
def test_fp16_failures_are_explained(  # type: ignore[no-untyped-def]
    model, runner, code, stderr, status, text
) -> None:
    rec = _bench(
        FakeDevice(fail_round=(code, stderr)), ModelJob("m", model.model_dir, [1, 3, 8, 8], None, "fp16"), runner
    )
    assert rec.status == status and text in rec.error


def test_a_device_that_disconnects_keeps_what_it_finished(model: ModelJob, runner: Path, tmp_path: Path) -> None:
    settings = BenchSettings(rounds=1, repeats=1, warmup=0, memory_profile=False)
    device = FakeDevice(gone_after_rounds=1)
    run_file = RunFile(tmp_path / "latency-x.json", LatencyRun())
    jobs = [model, ModelJob("m", model.model_dir, [1, 3, 8, 8], None, "fp16"), model]
    outcome = bench_device(device, jobs, settings, run_file=run_file, runner=runner, run_id="t")  # type: ignore[arg-type]
    assert [r.status for r in outcome.records] == ["ok", "failed"] and outcome.disconnected
    assert "the device disconnected" in str(outcome.error) and len(run_file.records) == 2


def test_device_checks_that_ran_nothing_do_not_pass(tmp_path: Path) -> None:
    """A variant a device could not run is 'not_run': never a pass, and a check of only such variants judged nothing."""
    from benchmark.parity.checks import DeviceChecks
    from benchmark.records.parts import ParitySummary

    not_run = ParitySummary(model="m", precision="fp16", device="d", verdict="not_run", passed=False)
    passed = not_run.model_copy(update={"precision": "fp32", "verdict": "pass", "passed": True})
    nothing = DeviceChecks(tmp_path / "p.json", None, [not_run], [])
    assert not nothing.passed and nothing.judged == 0
    assert DeviceChecks(tmp_path / "p.json", None, [not_run, passed], []).passed  # a not-run variant is no failure
    failed = passed.model_copy(update={"verdict": "fail", "passed": False})
    assert not DeviceChecks(tmp_path / "p.json", None, [failed, passed], []).passed
