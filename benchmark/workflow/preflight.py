"""The device side of the commands' contract (converter.cli.contract): each check takes typed inputs, raises
UsageError naming the input and the fix, and runs before any conversion, download or device round. The CLIs of
benchmark and android_demo call these from their commands' `check`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from benchmark.device.adb import AdbServer, DeviceError
from benchmark.device.ncnn_runner import GET_NCNN_RUNNER_HELP
from benchmark.device.select import select_devices
from benchmark.emulated import arm_runtime, ncnn_runtime
from benchmark.emulated.binfmt import check_host
from benchmark.emulated.phone import PHONES_DIR, PhoneSpec, Qemu, load_phone
from benchmark.farm.history import History, open_existing
from benchmark.farm.history_db import locate
from benchmark.images import ImageSet, load_dataset, load_image_set
from benchmark.latency.jobs import converted_jobs
from benchmark.profile.cost_model import load_cost_model
from converter.artifacts import manifest
from converter.base.errors import ToolkitError, UsageError
from converter.base.needs import existing_dir, existing_file
from converter.nb.inspect import inspect_nb
from converter.schema.zoo import Zoo, load_zoo

ADB_PORT_ENV = "ANDROID_ADB_SERVER_PORT"


def adb_server(spec: str | None) -> AdbServer:
    """--adb HOST:PORT, else $ANDROID_ADB_SERVER_HOST/PORT: parsed, and a server that answers there."""
    port = os.environ.get(ADB_PORT_ENV)
    if not spec and port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise UsageError(f"${ADB_PORT_ENV}={port!r} is not a port number (1-65535): fix it or pass --adb HOST:PORT")
    try:
        server = AdbServer.from_env(spec)
        if not 0 < server.port < 65536:
            raise UsageError(f"--adb {spec!r}: port {server.port} is not a port number (1-65535)")
        server.check_reachable()
    except DeviceError as e:
        raise UsageError(str(e)) from e
    if not server.responds():
        raise UsageError(
            f"{server} accepts connections but does not answer as an adb server: start one (`adb start-server`) or "
            "pass --adb HOST:PORT of a running one"
        )
    return server


def devices(server: AdbServer, serial: str | None) -> list[str]:
    """The usable devices of the run (the one asked for, by --serial or $ANDROID_SERIAL); none is refused."""
    try:
        serials = select_devices(server, serial)
    except DeviceError as e:
        raise UsageError(str(e)) from e
    if not serials:
        raise UsageError(f"no usable device on the adb server {server} (`adb devices` lists them)")
    return serials


def runner_file(path: Path | None) -> None:
    """--runner: a benchmark_bin (ELF) or a script (#!), when one is given."""
    if path is None:
        return
    existing_file(path, "--runner", env="RUNNER", fix="give the benchmark_bin to push (make runner builds one)")
    with path.open("rb") as f:
        head = f.read(4)
    if not head.startswith((b"\x7fELF", b"#!")):
        raise UsageError(
            f"--runner {path} is neither a program (ELF) nor a script (#!): give Paddle-Lite's benchmark_bin"
        )


def ncnn_runner_file(path: Path | None, runtimes: Sequence[str], *, default: Path | None = None) -> Path | None:
    """--ncnn-runner when ncnn variants run: a program or a script, else `default` (an ARM emulated phone's
    $NCNN_RUNTIME_DIR/ncnn_run, checked: there and new enough); None when no ncnn variant runs."""
    if "ncnn" not in runtimes:
        return None
    if path is None and default is None:
        raise UsageError(f"--runtimes has ncnn, but no ncnn runner was given: {GET_NCNN_RUNNER_HELP}")
    if path is None:
        try:
            ncnn_runtime.runtime_version()
        except ToolkitError as e:
            raise UsageError(str(e)) from e
        return default
    existing_file(path, "--ncnn-runner", env="NCNN_RUNNER", fix="give the ncnn_run to push (make runner RUNTIME=ncnn)")
    with path.open("rb") as f:
        head = f.read(4)
    if not head.startswith((b"\x7fELF", b"#!")):
        raise UsageError(f"--ncnn-runner {path} is neither a program (ELF) nor a script (#!): give an ncnn_run")
    return path


def emulated_phone(name: str, flag: str = "--phone") -> PhoneSpec:
    """An emulated phone by name (configs/emulated) and, for an ARM one, everything it runs with: QEMU, the ARM
    runtime folder, its benchmark_bin, the instruction-count plugin and the class's cost model file."""
    try:
        phone = load_phone(name)
    except ToolkitError as e:
        raise UsageError(f"{flag} {name}: {e}") from None
    if phone.qemu is not None:
        arm_tools(phone.qemu.cpu)
        runner = arm_runtime.default_runner()
        if not runner.is_file():
            raise UsageError(
                f"the ARM emulated phone {phone.name} runs {runner}, which does not exist: set "
                f"${arm_runtime.ENV} to a Paddle-Lite armv8 runtime folder (fp16/benchmark_bin + its .so)"
            )
        try:
            arm_runtime.require_insn_plugin(phone.name)
            load_cost_model(phone.props.get("ro.soc.model", ""))
        except ToolkitError as e:
            raise UsageError(str(e)) from e
    return phone


def arm_phone(name: str) -> PhoneSpec:
    """An ARM emulated phone by name (emulated_phone's checks), refusing the x86 one."""
    phone = emulated_phone(name)
    if phone.qemu is None:
        arm = ", ".join(sorted(p.stem for p in PHONES_DIR.glob("*-arm.yaml")))
        raise UsageError(f"--phone {name} is not an ARM emulated phone; use one of {arm}")
    return phone


def arm_tools(cpu: str = "max") -> None:
    """QEMU with the aarch64 runtime libraries, and the ARM runtime folder ($ARM_RUNTIME_DIR)."""
    folder = arm_runtime.runtime_dir()
    existing_dir(
        folder,
        f"${arm_runtime.ENV}",
        fix="point it at the Paddle-Lite armv8 runtime folder (default ../shared/paddle-lite-armv8)",
    )
    try:
        check_host(Qemu(cpu=cpu))
    except ToolkitError as e:
        raise UsageError(str(e)) from e


def lite_run(precision: str) -> None:
    """The ARM runtime's lite_run for a variant (layer-diff), with QEMU."""
    arm_tools()
    binary = arm_runtime.lite_run_binary(precision)
    if not binary.is_file():
        raise UsageError(
            f"{binary} does not exist: set ${arm_runtime.ENV} to a Paddle-Lite armv8 runtime folder with "
            "fp32/lite_run and fp16/lite_run"
        )


def zoo_models(zoo: Path, names: Sequence[str]) -> Zoo:
    """--zoo readable, every --models name in it (none: the whole zoo); the zoo."""
    try:
        loaded = load_zoo(zoo)
        loaded.select(list(names) or None)
        return loaded
    except ToolkitError as e:
        raise UsageError(str(e)) from e


def converted_models(
    out: Path, names: Sequence[str], precisions: Sequence[str] | None, runtimes: Sequence[str] = ("paddle-lite",)
) -> None:
    """--converted: each model converted into `out` (python -m converter model) with every variant asked for (and
    its ncnn files, when ncnn variants run)."""
    converted_jobs(out, names, precisions, runtimes)


def image_inputs(*, dataset: Path | None = None, images: Path | None = None) -> ImageSet | None:
    """--dataset (a labelled set) else --images, loaded: a bad folder is refused before any work."""
    try:
        if dataset is not None:
            existing_dir(dataset, "--dataset", env="DATASET", fix="give a labelled set (Images/ + Annotations/)")
            return load_dataset(dataset)
        if images is not None:
            existing_dir(images, "--images", env="IMAGES", fix="give a folder of jpg/png images")
            return load_image_set(images)
    except UsageError:
        raise
    except ToolkitError as e:
        raise UsageError(str(e)) from e
    return None


def history_location(value: str | None, *, must_exist: bool) -> None:
    """--history / $HISTORY: a file path or a database URL of a supported kind (a file a reader needs must exist)."""
    if value is None:
        return
    try:
        loc = locate(value)
    except ToolkitError as e:
        raise UsageError(str(e)) from e
    if loc.sqlite_path is not None:
        if loc.sqlite_path.is_dir():
            raise UsageError(f"--history (or $HISTORY) {loc.label} is a folder: give a file path or a database URL")
        if must_exist and not loc.sqlite_path.is_file():
            raise UsageError(
                f"--history (or $HISTORY) {loc.label} does not exist: run `make bench-farm` first or give the "
                "history file or URL"
            )
    if must_exist or loc.sqlite_path is None:  # a server that does not answer, a file of another kind
        try:
            history = open_existing(value) if must_exist else History(value)
            history.close()
        except ToolkitError as e:
            raise UsageError(str(e)) from e


def x86_nb(path: Path, *, input_shape: object | None) -> None:
    """An x86 .nb this host can run (an ARM one would crash x86 Paddle-Lite), with its input shape known."""
    existing_file(path, "the .nb", fix="give an x86 .nb that `make convert` wrote (build/models/<model>/x86-*.nb)")
    try:
        info = inspect_nb(path)
    except ToolkitError as e:
        raise UsageError(f"{path} is not a Paddle-Lite .nb file ({e}): give one that `make convert` wrote") from None
    if info.target != "x86":
        x86 = path.with_name(path.name.replace(f"{info.target}-", "x86-", 1))
        raise UsageError(f"{path} holds {info.target} kernels: only an x86 .nb runs on this host (e.g. {x86})")
    if input_shape is None and not any(manifest.read(d) is not None for d in (path.parent, path.parent.parent)):
        raise UsageError(f"no manifest beside {path}: pass --input-shape 1,3,H,W")


def perf_tool() -> None:
    if shutil.which("perf") is None:
        raise UsageError("perf (Linux perf) is not installed: install it (Debian/Ubuntu: apt-get install linux-perf)")
