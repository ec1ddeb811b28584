"""The emulated device's benchmark_bin: the same command line and output format as Paddle-Lite's benchmark_bin
(lite/api/tools/benchmark), but it runs the x86 `.nb` with the Paddle-Lite x86 Python runtime. Behaviour knobs
(slowdown, fixed latency, hang, exit code, broken output) come from the emulated phone's description.

Invoked on the device through a pushed wrapper script: `benchmark_bin --optimized_model_file=... --input_shape=...`.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.emulated import tree
from benchmark.emulated.phone import PhoneSpec

USAGE = (
    "\nNote: \n  If load the optimized model, set --optimized_model_file. \n"
    "For example (Android): \n"
    "  For optimized model : ./benchmark_bin --optimized_model_file=/data/local/tmp/mobilenetv1_opt.nb "
    "--input_shape=1,3,224,224 --backend=arm \n"
    "For detailed usage info: ./benchmark_bin --help \n"
)
BOOL_FLAGS = {"show_output_elem", "enable_memory_profile", "enable_op_time_profile", "help", "helpfull", "version"}
# Every flag benchmark_bin 2.13 knows (its own, from utils/flags.cc, and gflags'); gflags rejects any other (exit 1).
KNOWN_FLAGS = BOOL_FLAGS | {
    *"flagfile fromenv tryfromenv undefok tab_completion_columns tab_completion_word helpmatch helpon".split(),
    *"helppackage helpshort helpxml backend config_path cpu_precision gpu_precision input_data_path".split(),
    *"input_data_type".split(),
    *"input_shape memory_check_interval_ms model_file nnadapter_context_properties nnadapter_device_names".split(),
    *"opencl_cache_dir opencl_kernel_cache_file opencl_tune_mode opencl_tuned_file optimized_model_file".split(),
    *"output_data_path param_file power_mode repeats result_path run_delay threads uncombined_model_dir".split(),
    *"validation_set warmup".split(),
}


class UnknownFlag(Exception):
    pass


def parse_flags(argv: list[str]) -> dict[str, str]:
    """gflags style: --name=value, --name value, --bool, --nobool; an unknown name raises UnknownFlag."""
    flags: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-"):
            i += 1
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        if not eq:
            if name in BOOL_FLAGS:
                value = "true"
            elif name.startswith("no") and name[2:] in BOOL_FLAGS:
                name, value = name[2:], "false"
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
        if name not in KNOWN_FLAGS:
            raise UnknownFlag(name)
        flags[name] = value
        i += 1
    return flags


def _phone() -> tuple[Path | None, PhoneSpec | None]:
    root = os.environ.get("ANDROID_EMU_ROOT")
    if not root:
        return None, None
    path = Path(root) / tree.EMULATION_FILE
    try:
        return Path(root), PhoneSpec.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError):
        return Path(root), None


def _getprop(root: Path | None, key: str) -> str:
    if root is None:
        return ""
    for line in (root / "system/fake.prop").read_text().splitlines():
        k, _, v = line.partition("=")
        if k == key:
            return v
    return ""


def _usage_exit(message: str) -> int:
    print(message, file=sys.stderr)
    print(USAGE)
    return 0  # benchmark_bin exits 0 on invalid flags


def _mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class Measured:
    version: str | None  # None: a runner that says no version
    outputs: list[Any]
    init_ms: float
    run_ms: list[float]
    warmup: int
    repeats: int
    mem_init_mb: float


def _check_flags(flags: dict[str, str]) -> int | None:
    """benchmark_bin's validation: messages on stderr, usage, exit 0 (sic). None when the flags are usable."""
    model = flags.get("optimized_model_file", "")
    if not model and not flags.get("model_file") and not flags.get("uncombined_model_dir"):
        return _usage_exit("No model path is set!")
    if not flags.get("backend"):
        return _usage_exit("Must set --backend option!")
    if not flags.get("input_shape"):
        return _usage_exit("Must set --input_shape option!")
    if not model:
        print("error: the emulated benchmark_bin runs optimized .nb files only", file=sys.stderr)
        return 1
    return None


def _abort_unless_runnable(model: Path) -> None:
    """A missing file aborts benchmark_bin; a non-x86 .nb would crash the x86 runtime: abort with its message."""
    from converter.nb.inspect import NbFormatError, inspect_nb

    if not model.is_file():
        print(f"Mode file[{model}] not exist!", file=sys.stderr, flush=True)
        os.abort()
    try:
        target = inspect_nb(model).target
    except NbFormatError as e:
        print(f"Error: {e}", file=sys.stderr, flush=True)
        os.abort()
    if target != "x86":
        print(
            "Error: This model is not supported, because kernel for 'conv2d' is not supported by Paddle-Lite "
            f"(the emulated device runs x86 Paddle-Lite; this .nb holds {target} kernels).",
            file=sys.stderr,
            flush=True,
        )
        os.abort()


def _inputs(flags: dict[str, str]) -> list[Any] | None:
    import numpy as np

    shapes = [[int(d) for d in s.split(",")] for s in flags["input_shape"].split(":")]
    paths = [p for p in flags.get("input_data_path", "").split(":") if p]
    if paths and len(paths) != len(shapes):
        return None
    inputs = [np.ones(shape, dtype=np.float32) for shape in shapes]
    for path, x in zip(paths, inputs, strict=False):
        try:
            values = np.loadtxt(path, dtype=np.float32).reshape(-1)
        except OSError:
            print(f"Open input image {path} error.", file=sys.stderr)  # and runs on, as benchmark_bin does
            continue
        x.reshape(-1)[: values.size] = values[: x.size]
    return inputs


def _measure(
    model: Path, inputs: list[Any], flags: dict[str, str], root: Path | None, phone: PhoneSpec | None
) -> Measured:
    import numpy as np
    from paddlelite import lite

    knobs = phone.runner if phone else None
    warmup, repeats = int(flags.get("warmup", 0)), int(flags.get("repeats", 1))
    mem_init = _mb()
    t0 = time.perf_counter()
    config = lite.MobileConfig()
    config.set_model_from_file(str(model))
    predictor = lite.create_paddle_predictor(config)
    init_ms = (time.perf_counter() - t0) * 1e3
    mem_init = max(mem_init, _mb())

    def infer() -> None:
        for i, x in enumerate(inputs):
            predictor.get_input(i).from_numpy(x)
        predictor.run()

    run_ms: list[float] = []
    for _ in range(warmup + repeats):
        t1 = time.perf_counter()
        if knobs and knobs.fixed_latency_ms:
            time.sleep(knobs.fixed_latency_ms / 1e3)
        else:
            infer()
        elapsed = time.perf_counter() - t1
        if knobs and knobs.slowdown > 1.0:
            time.sleep(elapsed * (knobs.slowdown - 1.0))
            elapsed *= knobs.slowdown
        run_ms.append(elapsed * 1e3)
        if root is not None and phone is not None:
            tree.heat(root, phone, elapsed)
    if knobs and knobs.fixed_latency_ms:
        infer()  # outputs still come from a real inference
    outputs = [np.array(predictor.get_output(i).numpy(), copy=True) for i in range(len(predictor.get_output_names()))]
    version = knobs.version if knobs and knobs.version is not None else predictor.get_version()
    if knobs and knobs.silent_version:
        version = None
    return Measured(version, outputs, init_ms, run_ms, warmup, repeats, mem_init)


def main(argv: list[str] | None = None) -> int:
    try:
        flags = parse_flags(sys.argv[1:] if argv is None else argv)
    except UnknownFlag as e:
        print(f"ERROR: unknown command line flag '{e}'", file=sys.stderr)
        return 1
    root, phone = _phone()
    knobs = phone.runner if phone else None
    if flags.get("version") == "true":
        if knobs and knobs.silent_version:
            return 0
        print(f"benchmark_bin version {knobs.version if knobs and knobs.version is not None else _runtime_version()}")
        return 0
    if flags.get("help") == "true" or flags.get("helpfull") == "true":
        print(USAGE)
        return 1  # gflags' --help exits 1
    early = _check_flags(flags)
    if early is not None:
        return early
    model = Path(flags["optimized_model_file"])
    _abort_unless_runnable(model)
    if knobs and knobs.hang:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        while True:
            time.sleep(1)
    inputs = _inputs(flags)
    if inputs is None:
        return _usage_exit(
            f"Option invalid: --input_data_path={flags['input_data_path']}  --input_shape={flags['input_shape']} \n"
            "The num of input tensors is ambiguous."
        )
    m = _measure(model, inputs, flags, root, phone)
    write_files = not (knobs and knobs.skip_output_files)
    if write_files:
        out_paths = [p for p in flags.get("output_data_path", "").split(":") if p]
        for path, out in zip(out_paths, m.outputs, strict=False):
            Path(path).write_text("".join(f"{v:g}\n" for v in as_benchmark_bin_floats(out)))
    text = _report(flags, root, m)
    mode = knobs.output if knobs else "normal"
    if mode == "garbage":
        text = "\x00\x07 segmentation ?? 0xdeadbeef\n#@!$%^ not benchmark output\n"
    elif mode == "truncated_perf":
        text = text[: text.index("min   =")]
    elif mode == "no_perf":
        text = text[: text.index("\n======= Perf Info =======")]
    print(text, flush=True)
    if write_files and flags.get("result_path"):
        Path(flags["result_path"]).write_text(text + "\n")
    return knobs.exit_code if knobs else 0


def _runtime_version() -> str:
    """The Paddle-Lite version string of this host's runtime, without loading a model (what opt stamps in a .nb)."""
    from paddlelite import lite

    return str(lite.Opt().version())


def as_benchmark_bin_floats(out: Any) -> Any:
    """benchmark_bin reads every output through data<float>(): numel floats from the start of the buffer. For an
    int32 output that is each label's bit pattern as a float; for int64, the first half of the buffer."""
    import numpy as np

    flat = np.ascontiguousarray(out).reshape(-1)
    return np.frombuffer(flat.tobytes(), dtype=np.float32)[: flat.size]


def _report(flags: dict[str, str], root: Path | None, m: Measured) -> str:
    timed = m.run_ms[m.warmup :] or m.run_ms
    lines = ["", "======= Device Info ======="]
    props = (
        ("Brand", "ro.product.vendor.brand"),
        ("Device", "ro.product.vendor.device"),
        ("Model", "ro.product.vendor.model"),
        ("Android Version", "ro.build.version.release"),
        ("Android API Level", "ro.build.version.sdk"),
    )
    lines += [f"{label}: {_getprop(root, key)}" for label, key in props]
    lines += [
        "",
        "======= Model Info =======",
        f"optimized_model_file: {flags['optimized_model_file']}",
        f"input_data_path: {flags.get('input_data_path') or 'All 1.f'}",
        f"input_shape: {flags['input_shape']}",
        f"output tensor num: {len(m.outputs)}",
    ]
    for i, out in enumerate(m.outputs):
        vals = as_benchmark_bin_floats(out).astype("float64")
        lines += [
            f"--- output tensor {i} ---",
            "output shape(NCHW): " + "".join(f"{d} " for d in out.shape),
            f"output tensor {i} elem num: {vals.size}",
            f"output tensor {i} mean value: {vals.mean():g}",
            f"output tensor {i} standard deviation: {vals.std():g}",
        ]
        if flags.get("show_output_elem") == "true":
            lines += [f"out[{i}][{j}]:{v:g}" for j, v in enumerate(vals)]
    lines += [
        "",
        "======= Runtime Info =======",
        *([f"benchmark_bin version: {m.version}"] if m.version is not None else []),
        f"threads: {flags.get('threads', '1')}",
        f"power_mode: {flags.get('power_mode', '0')}",
        f"warmup: {m.warmup}",
        f"repeats: {m.repeats}",
        f"result_path: {flags.get('result_path', '')}",
        "",
        "======= Backend Info =======",
        f"backend: {flags['backend']}",
        f"cpu precision: {flags.get('cpu_precision', 'fp32')}",
        "",
        "======= Perf Info =======",
        "Time(unit: ms):",
        f"init  = {m.init_ms:<12.3f}",
        f"first = {m.run_ms[0]:<12.3f}",
        f"min   = {min(timed):<12.3f}",
        f"max   = {max(timed):<12.3f}",
        f"avg   = {sum(timed) / len(timed):<12.3f}",
    ]
    if flags.get("enable_memory_profile") == "true":
        lines += ["", "Memory Usage(unit: MB):", f"init  = {m.mem_init_mb:<12.3f}", f"peak  = {_mb():<12.3f}"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
