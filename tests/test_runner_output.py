"""benchmark_bin output parsing, on the verbatim sample of the Paddle-Lite docs (facts doc §2.3) and on text laid
out exactly as benchmark.cc's printing code writes it (§2.2)."""

from __future__ import annotations

import pytest

from benchmark.device.runner_output import RunnerOutputError, parse_runner_output

# Paddle-Lite docs/performance/benchmark_tools.md, MI 9 (Snapdragon 855), MobileNetV1, verbatim.
DOC_SAMPLE = """======= Device Info =======
Brand: Xiaomi
Device: cepheus
Model: MI 9
Android Version: 10
Android API Level: 29
...
======= Runtime Info =======
benchmark_bin version: acf6614
threads: 1
power_mode: 0
warmup: 10
repeats: 20
result_path:

======= Backend Info =======
backend: arm
cpu precision: fp32

======= Perf Info =======
Time(unit: ms):
init  = 15.305
first = 43.670
min   = 32.577
max   = 32.895
avg   = 32.723
"""

# Laid out as benchmark.cc prints it: fixed/left/setw(12) timings with trailing spaces, "ShapePrint" dims with a
# trailing space, default-precision output statistics, and the memory block of --enable_memory_profile.
CODE_LAYOUT = (
    "\n======= Device Info =======\nBrand: Xiaomi\n\nDevice: cepheus\n\nModel: MI 9\n\nAndroid Version: 10\n\n"
    "Android API Level: 29\n\n"
    "\n======= Model Info =======\noptimized_model_file: /data/local/tmp/m.nb\ninput_data_path: All 1.f\n"
    "input_shape: 1,3,144,256\noutput tensor num: 1\n--- output tensor 0 ---\noutput shape(NCHW): 1 2 144 256 \n"
    "output tensor 0 elem num: 73728\noutput tensor 0 mean value: 0.5\noutput tensor 0 standard deviation: 0.470555\n"
    "\n======= Runtime Info =======\nbenchmark_bin version: v2.13-rc\nthreads: 1\npower_mode: 0\nwarmup: 10\n"
    "repeats: 50\nrun_delay(sec): 1\nresult_path: /data/local/tmp/r.txt\n"
    "\n======= Backend Info =======\nbackend: arm\ncpu precision: fp32\n"
    "\n======= Perf Info =======\nTime(unit: ms):\ninit  = 12.500      \nfirst = 30.125      \n"
    "min   = 15.002      \nmax   = 16.750      \navg   = 15.861      \n"
    "\nMemory Usage(unit: MB):\ninit  = 40.125      \npeak  = 58.500      \n"
)


def test_doc_sample() -> None:
    r = parse_runner_output(DOC_SAMPLE)
    assert (r.init_ms, r.first_ms, r.min_ms, r.max_ms, r.avg_ms) == (15.305, 43.670, 32.577, 32.895, 32.723)
    assert (r.version, r.threads, r.power_mode, r.warmup, r.repeats, r.backend) == ("acf6614", 1, 0, 10, 20, "arm")
    assert r.device_info["Model"] == "MI 9" and r.device_info["Android API Level"] == "29"
    assert r.peak_memory_mb is None


def test_code_layout_with_memory_and_outputs() -> None:
    r = parse_runner_output(CODE_LAYOUT)
    assert r.avg_ms == 15.861 and r.first_ms == 30.125
    assert (r.init_memory_mb, r.peak_memory_mb) == (40.125, 58.5)
    assert r.version == "v2.13-rc" and r.repeats == 50
    (out,) = r.outputs
    assert out.shape == (1, 2, 144, 256) and out.mean == 0.5 and out.std == pytest.approx(0.470555)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No model path is set!\nUSAGE: ./benchmark_bin ...\n", "no '======= Perf Info ======='"),
        ("", "no '======= Perf Info ======='"),
        ("\x00\x07 segmentation ?? 0xdeadbeef\n", "no '======= Perf Info ======='"),
        (DOC_SAMPLE[: DOC_SAMPLE.index("min   =")], "incomplete: no min, max, avg"),
        (DOC_SAMPLE.replace("avg   = 32.723", "avg   = nan"), "incomplete: no avg"),
    ],
)
def test_missing_or_broken_perf_block(text: str, expected: str) -> None:
    with pytest.raises(RunnerOutputError, match=expected):
        parse_runner_output(text)
