"""Benchmark harness for Paddle-Lite models: latency on Android devices over adb (real phones, or emulated ones,
including an ARM phone running the real Paddle-Lite ARM runtime under QEMU), parity and accuracy against desktop
Paddle Inference on the host and on devices, a device farm with history and a regression gate, and a report.

The Python API (`python -m benchmark` is a thin CLI over it; see docs/api.md). Every function takes keyword
arguments and returns a result; none prints or exits:

    prepare_jobs(zoo=, sources=, names=, precisions=) -> PreparedJobs     models converted where missing
    bench(server, BenchRequest(jobs=, settings=, zoo=, reports=, models_out=, images=, accuracy=)) -> BenchResult
        the whole bench workflow: latency, device parity (+ accuracy), the variant to ship (in the manifests)
    bench_emulated(phone, BenchRequest(...), devices=) -> BenchResult   the same on emulated phones it starts and stops
    run_latency(server=, jobs=, settings=, reports=, runner=, serial=) -> LatencyResult
    check_devices(server=, serials=, jobs=, images=, zoo=, reports=, runner=, run_id=, accuracy=) -> DeviceChecks
    check_parity(zoo=, images=, reports=, names=, precisions=, sources=) -> ParityResult          host parity
    run_farm_file(cfg=, farm_file=, zoo=, sources=, reports=, ...) -> FarmResult
    build_report(reports, models, history) -> (html, markdown, collected)
    study_int8(zoo, name, dataset, sources=, plan=, reports=) -> Int8Study         which full-int8 keeps accuracy
    recommend(candidates(latency_records, device_parity_summaries)) -> [Recommendation]   the variant to ship
    Lab: a private adb server with emulated devices (load_phone("sd855-arm") for the ARM phone)

Imports are lazy, so that child processes start fast.
"""

from __future__ import annotations

from converter.base.lazy_api import lazy_getattr

_API = {
    "AdbServer": "benchmark.device.adb",
    "bench": "benchmark.workflow",
    "bench_emulated": "benchmark.workflow.emulated",
    "BenchRequest": "benchmark.workflow",
    "BenchResult": "benchmark.workflow",
    "BenchSettings": "benchmark.latency.run",
    "prepare_jobs": "benchmark.latency.jobs",
    "run_latency": "benchmark.latency.devices",
    "LatencyResult": "benchmark.latency.devices",
    "check_devices": "benchmark.parity.checks",
    "check_parity": "benchmark.parity.host",
    "run_farm_file": "benchmark.farm.campaign",
    "load_farm": "benchmark.farm.config",
    "build_report": "benchmark.report.build",
    "study_int8": "benchmark.parity.int8_study",
    "StudyPlan": "benchmark.parity.int8_study",
    "recommend": "benchmark.report.recommend",
    "candidates": "benchmark.report.recommend",
    "load_image_set": "benchmark.images",
    "load_dataset": "benchmark.images",
    "generated_image_set": "benchmark.images",
    "Lab": "benchmark.emulated.lab",
    "load_phone": "benchmark.emulated.phone",
}
__all__ = list(_API)

__getattr__ = lazy_getattr(_API)
