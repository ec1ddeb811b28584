"""ncnn variants on the device harness: the real ncnn ARM runner (../shared/ncnn-armv8/ncnn_run) pushed through the
real adb server to ARM emulated phones and run under qemu-aarch64, as a phone runner built with the NDK would be.
The phone-runner contract (version line, CPU features, report, raw output), a runner of an older ncnn refused with
both versions named, and the whole bench on portrait V2-Lite: latency, instruction counts, first-inference device
parity and accuracy for both runtimes, and the recommendation naming the runtime."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from android_demo.variant import choose_variant
from benchmark.device.adb import AdbDevice
from benchmark.device.ncnn_model import model_files, push_files
from benchmark.device.ncnn_runner import NCNN_RUNNER_NAME, run_args, run_once
from benchmark.device.session import ModelJob, device_session
from benchmark.emulated import ncnn_runtime
from benchmark.records.runs import LatencyRun, ParityRun, VideoRun
from converter.artifacts import manifest
from converter.artifacts.app_spec import SPEC_NAME, read_spec
from converter.cli.main import main as convert_main
from converter.ncnn.export import MIN_RUNTIME
from tests.conftest import HUMAN_V1, PORTRAIT_V2, built_once, labelled_subset
from tests.runs import latest

bench_cli = importlib.import_module("benchmark.cli.main")
ONE = ["--rounds", "1", "--repeats", "1", "--warmup", "0", "--offline"]
OLD = "1.0.20260526"  # the newest ncnn tag, older than what the converter's pnnx writes needs


@pytest.fixture(scope="module")
def small_ncnn(tiny_models: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    def build(out: Path) -> None:
        argv = ["model", str(tiny_models("small")), "--name", "small", "--out", str(out), "--precision", "fp32,fp16"]
        assert convert_main([*argv, "--runtimes", "paddle-lite,ncnn"]) == 0

    return built_once(tmp_path_factory, "ncnn-small", build)


@pytest.fixture(scope="module")
def ncnn_run(arm_runtime: Path) -> Path:
    path = ncnn_runtime.runtime_dir() / NCNN_RUNNER_NAME
    if not path.is_file():
        pytest.skip(f"no {path}")
    return path


def test_the_phone_runner_contract_on_the_emulated_phones(  # type: ignore[no-untyped-def]
    lab, emulated, arm_runtime: Path, ncnn_run: Path, small_ncnn: Path
) -> None:
    """What the harness relies on from any ncnn_run, checked against the real one on two CPUs: the version line and
    the FP16 feature (a Cortex-A53 has none), the report, and the raw float32 output of the first inference."""
    job = ModelJob("small", small_ncnn / "small", list(manifest.read(small_ncnn / "small").input_shape), None)  # type: ignore[union-attr]
    files = model_files(job)
    for phone, fp16 in (("sd855-arm", True), ("sd625-arm", False)):
        device = AdbDevice(lab.server, emulated(phone_name=phone).serial)
        runner = arm_runtime / "fp32" / "benchmark_bin"
        with device_session(device, runner=runner, run_id="ncnn-contract", keep=False, ncnn_runner=ncnn_run) as ctx:
            assert ctx.ncnn is not None and ctx.ncnn.version is not None
            assert ctx.ncnn.version >= MIN_RUNTIME and ctx.ncnn.fp16_arithmetic is fp16
            remote = push_files(ctx, job, files)
            x = np.random.default_rng(1).uniform(-1, 1, job.input_shape).astype("<f4")
            device.push(x.tobytes(), ctx.work.file("in.f32"))
            args = run_args(remote, ctx.work.file("in.f32"), ctx.work.file("out.f32"), job.input_shape, fp16=False)
            report = run_once(device, ctx.work, args, warmup=0, repeats=2, pin_mask=None, timeout_s=300)
            assert report.version == ctx.ncnn.version and len(report.repeat_ms) == 2 and not report.warmup_ms
            out = np.frombuffer(device.pull(ctx.work.file("out.f32")), dtype="<f4")
            assert out.size == int(np.prod(report.output_shape)) and np.isfinite(out).all()


def test_an_older_ncnn_runner_is_refused_with_both_versions(  # type: ignore[no-untyped-def]
    lab, ncnn_run: Path, small_ncnn: Path, tmp_path: Path, capsys
) -> None:
    old = tmp_path / "ncnn_run"
    old.write_text(f'#!/bin/sh\necho "ncnn {OLD} (NCNN_VERSION_STRING), source test"\nexit 0\n')
    argv = ["bench-emulated", "--phone", "sd855-arm", "--converted", "small", "--out", str(small_ncnn), *ONE]
    argv += ["--runtimes", "paddle-lite,ncnn", "--ncnn-runner", str(old), "--no-parity", "--precision", "fp32"]
    assert bench_cli.main([*argv, "--reports", str(tmp_path / "r")]) == 1
    assert "Traceback" not in capsys.readouterr().err
    records = {r.runtime: r for r in latest(tmp_path / "r", LatencyRun).records}
    assert records["paddle-lite"].status == "ok"  # the Paddle-Lite variant is measured all the same
    refused = records["ncnn"]
    assert refused.status == "failed" and OLD in str(refused.error) and MIN_RUNTIME in str(refused.error)
    assert refused.runner is not None and refused.runner.version == OLD


@pytest.mark.slow
def test_portrait_v2_lite_ships_ncnn_fp16_on_the_sd855_class(  # type: ignore[no-untyped-def]
    lab, ncnn_run: Path, models_dir: Path, data_dir: Path, tmp_path: Path, capsys
) -> None:
    """The whole bench with both runtimes: each variant measured (instructions) and judged (first-inference device
    parity, mIoU on labelled photos) on the same emulated core; the recommendation is the fewest instructions among
    the variants that pass, recorded with its runtime in the manifest and model_spec.json; the demo says plainly
    that it ships Paddle-Lite."""
    dataset = labelled_subset(data_dir, tmp_path / "ds", 1)  # each photo: four more ARM inferences under QEMU
    argv = ["bench-emulated", "--phone", "sd855-arm", "--models", PORTRAIT_V2, "--models-dir", str(models_dir)]
    argv += [*ONE, "--out", str(tmp_path / "out"), "--runtimes", "paddle-lite,ncnn", "--precision", "fp32,fp16"]
    assert bench_cli.main([*argv, "--dataset", str(dataset), "--reports", str(tmp_path / "r")]) == 0
    assert "Traceback" not in capsys.readouterr().err
    insns = {
        (r.runtime, r.precision): r.instructions_per_inference or 0 for r in latest(tmp_path / "r", LatencyRun).records
    }
    assert len(insns) == 4 and all(insns.values())
    assert insns["ncnn", "fp16"] <= 0.70 * insns["paddle-lite", "fp16"]
    assert insns["ncnn", "fp16"] <= 0.50 * insns["paddle-lite", "fp32"]
    parity = {(s.runtime, s.precision): s for s in latest(tmp_path / "r", ParityRun).models}
    assert all(s.verdict == "pass" and s.ground_truth.candidate.miou is not None for s in parity.values())
    assert parity["ncnn", "fp32"].max_abs_diff is not None and parity["ncnn", "fp32"].max_abs_diff < 1e-4
    folder = tmp_path / "out" / PORTRAIT_V2
    (rec,) = manifest.current_recommendations(folder, manifest.read(folder)).values()
    assert (rec.runtime, rec.precision, rec.file) == ("ncnn", "fp16", "ncnn/model.ncnn.param")
    assert rec.vs_best_paddle_lite is not None and rec.vs_best_paddle_lite <= 0.70
    spec = read_spec((folder / SPEC_NAME).read_text())
    assert [c.runtime for c in spec.recommended.values()] == ["ncnn"]
    assert {f.runtime for f in spec.files.values()} == {"paddle-lite", "ncnn"}
    shipped = choose_variant(folder)
    assert shipped.precision == "fp16" and "runs Paddle-Lite only" in shipped.why, json.dumps(shipped.why)


@pytest.mark.slow
def test_video_check_runs_the_ncnn_variants_beside_paddle_lite(  # type: ignore[no-untyped-def]
    arm_runtime, ncnn_run: Path, models_dir: Path, data_dir: Path, tmp_path: Path, capsys
) -> None:
    """The same frames through ncnn's ARM kernels (a fresh process per frame: every mask a first inference): named
    as tables name variants, and as steady as Paddle-Lite's fp32 on the same model."""
    dataset = labelled_subset(data_dir, tmp_path / "ds", 1)
    argv = ["video-check", "--models-dir", str(models_dir), "--models", HUMAN_V1, "--out", str(tmp_path / "out")]
    argv += ["--reports", str(tmp_path / "r"), "--frames", "3", "--precision", "fp32", "--offline"]
    argv += ["--runtimes", "paddle-lite,ncnn", "--dataset", str(dataset), "--sequences", "1"]
    assert bench_cli.main(argv) == 0
    assert "Traceback" not in capsys.readouterr().err
    recs = {r.variant: r for r in latest(tmp_path / "r", VideoRun).records}
    assert set(recs) == {"reference", "fp32", "ncnn fp32"} and "ncnn ARM" in recs["ncnn fp32"].runtime
    ncnn, lite = recs["ncnn fp32"], recs["fp32"]
    assert ncnn.miou is not None and lite.miou is not None and abs(ncnn.miou - lite.miou) < 0.01
    assert abs(ncnn.flicker - lite.flicker) < 0.02
