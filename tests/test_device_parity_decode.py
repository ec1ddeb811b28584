"""Decoding benchmark_bin's float dump (6 significant digits, every buffer read as float) back into outputs."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.device.runner import RunnerError
from benchmark.emulated.runner import as_benchmark_bin_floats
from benchmark.parity.device import decode_output


def _dump(out: np.ndarray) -> np.ndarray:
    """What the runner's --output_data_path file holds, parsed back: '%g' text of the buffer read as floats."""
    text = "".join(f"{v:g}\n" for v in as_benchmark_bin_floats(out))
    return np.array(text.split(), dtype=np.float64)


def test_float_softmax_within_print_precision() -> None:
    rng = np.random.default_rng(0)
    out = rng.random((1, 2, 8, 8)).astype(np.float32)
    d = decode_output(_dump(out), out.shape, "float32")
    assert d.note is None and d.compared_elements == out.size
    assert np.max(np.abs(d.values - out)) <= 5e-6 * np.max(out)


def test_int32_labels_are_exact() -> None:
    labels = np.random.default_rng(1).integers(0, 2, (1, 8, 8)).astype(np.int32)
    raw = _dump(labels)
    assert np.all(raw[labels.reshape(-1) == 1] < 1e-44)  # read as float they are denormals: garbage if used as is
    d = decode_output(raw, labels.shape, "int32")
    assert np.array_equal(d.values, labels) and "bit patterns" in (d.note or "")


def test_int64_only_first_half_recoverable() -> None:
    labels = np.random.default_rng(2).integers(0, 2, (1, 8, 8)).astype(np.int64)
    d = decode_output(_dump(labels), labels.shape, "int64")
    assert d.compared_elements == 32 and "first 32 of 64" in (d.note or "")
    assert np.array_equal(d.values, labels.reshape(-1)[:32])


def test_wrong_count() -> None:
    with pytest.raises(RunnerError, match="wrote 3 values"):
        decode_output(np.zeros(3), (1, 2, 2, 2), "float32")
