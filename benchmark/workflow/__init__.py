"""The bench workflow as one call: latency on every usable device, then device parity (and accuracy on a labelled
set), then the variant to ship per model and device class, recorded in the manifests. `python -m benchmark
latency` / `bench-emulated` parse their arguments into a BenchRequest, call `bench` and print its BenchResult."""

from __future__ import annotations

from benchmark.workflow.bench import BenchRequest, BenchResult, bench, record_recommendations

__all__ = ["BenchRequest", "BenchResult", "bench", "record_recommendations"]
