"""Shared fixtures. Real models and images come from ../shared (or MODELS_DIR / DATA_DIR); CI sets
REQUIRE_SHARED=1 so that a missing ../shared fails the run instead of skipping tests."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from converter.base.cpu import prefer_avx2_math

REPO = Path(__file__).resolve().parent.parent
prefer_avx2_math()  # Paddle runs in this process and its children: MKL on its AVX2 path on AMD (converter.base.cpu)
SHARED = REPO.parent / "shared"
PORTRAIT_V2 = "portrait_pp_humansegv2_lite_256x144"
PORTRAIT_V1 = "portrait_pp_humansegv1_lite_398x224"
HUMAN_V1 = "human_pp_humansegv1_lite_192x192"
REAL_MODELS = (PORTRAIT_V1, PORTRAIT_V2, HUMAN_V1)
SUFFIX = "_inference_model_with_softmax"


def _shared_path(env: str, default: Path) -> Path:
    path = Path(os.environ[env]) if os.environ.get(env) else default
    if not path.is_dir():
        if os.environ.get("REQUIRE_SHARED"):
            pytest.fail(f"{path} is missing ({env}); CI needs the shared models and data")
        pytest.skip(f"{path} not present")
    return path.resolve()


def labelled_subset(data_dir: Path, dst: Path, n: int) -> Path:
    """The first n labelled images of the shared mini_supervisely subset, as a dataset folder of their own (ARM
    inference takes seconds under QEMU)."""
    src = data_dir / "mini_supervisely_subset"
    for sub in ("Images", "Annotations"):
        (dst / sub).mkdir(parents=True, exist_ok=True)
    for image in sorted((src / "Images").glob("*.jpg"))[:n]:
        shutil.copy(image, dst / "Images")
        shutil.copy(src / "Annotations" / f"{image.stem}.png", dst / "Annotations")
    return dst


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return _shared_path("MODELS_DIR", SHARED / "models")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _shared_path("DATA_DIR", SHARED / "data")


@pytest.fixture
def copy_model(models_dir: Path, tmp_path: Path) -> Callable[[str], Path]:
    """Copy a shared model folder into tmp_path/models/<official folder> (so a test may modify it)."""

    def _copy(name: str) -> Path:
        dst = tmp_path / "models" / (name + SUFFIX)
        shutil.copytree(models_dir / (name + SUFFIX), dst)
        return dst

    return _copy


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build (once per run) tiny real Paddle models: small, unsupported, train."""
    built: dict[str, Path] = {}

    def _get(kind: str) -> Path:
        if kind not in built:

            def build(out: Path) -> None:
                factory = [sys.executable, str(REPO / "tests" / "model_factory.py"), kind, str(out)]
                subprocess.run(factory, check=True, capture_output=True, timeout=300)

            built[kind] = built_once(tmp_path_factory, f"tiny-{kind}", build)
        return built[kind]

    return _get


@pytest.fixture
def write_zoo(tmp_path: Path) -> Callable[..., Path]:
    """Write a zoo file derived from the real one: `models` keeps only those names, `edit(entries)` may change
    entries, `url_base` replaces every URL's scheme+host (e.g. an unreachable local port)."""

    def _write(
        models: list[str] | None = None,
        edit: Callable[[list[dict]], None] | None = None,
        url_base: str | None = None,
    ) -> Path:
        raw = yaml.safe_load((REPO / "configs" / "zoo.yaml").read_text())
        if models is not None:
            raw["models"] = [m for m in raw["models"] if m["name"] in models]
        if url_base is not None:
            for m in raw["models"]:
                m["url"] = url_base.rstrip("/") + "/" + m["url"].rsplit("/", 1)[-1]
        if edit is not None:
            edit(raw["models"])
        path = tmp_path / "zoo.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path

    return _write


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens: connections are refused at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/models"


# --- emulated devices behind a real adb server (one server per test session) ---------------------------------


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from benchmark.emulated.lab import Lab

    before = os.environ.get("ANDROID_ADB_SERVER_PORT")
    with Lab.create(tmp_path_factory.mktemp("lab")) as lab:
        server = lab.start_server()
        # Any adbutils fallback "start-server" would then target this port, never 5037.
        os.environ["ANDROID_ADB_SERVER_PORT"] = str(server.port)
        yield lab
    if before is None:
        os.environ.pop("ANDROID_ADB_SERVER_PORT", None)
    else:
        os.environ["ANDROID_ADB_SERVER_PORT"] = before


@pytest.fixture
def emulated(lab):  # type: ignore[no-untyped-def]
    """emulated(server=None, **phone_changes) -> handle of a new emulated device on the session's adb server (or
    `server`); removed after."""
    from benchmark.emulated.phone import load_phone, with_changes

    handles = []

    def _add(isolate: str | None = None, server=None, phone_name: str = "sd855", **changes: object):  # type: ignore[no-untyped-def]
        phone = with_changes(load_phone(phone_name), **changes) if changes else load_phone(phone_name)
        handles.append(lab.add_device(phone, isolate=isolate, server=server))
        return handles[-1]

    yield _add
    for h in handles:
        lab.remove_device(h)


def built_once(tmp_path_factory: pytest.TempPathFactory, key: str, build: Callable[[Path], None]) -> Path:
    """`build(folder)` once per test run, shared by the xdist workers (a file lock in the run's common temporary
    folder); each caller gets its own hard-linked copy, so files it adds or replaces (atomic writes) stay its own."""
    base = tmp_path_factory.getbasetemp()
    common = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    shared, done = common / f"built-{key}", common / f"built-{key}.done"
    with open(common / f"built-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(shared, ignore_errors=True)
            build(shared)
            done.touch()
    mine = tmp_path_factory.mktemp(key)
    shutil.copytree(shared, mine, copy_function=os.link, dirs_exist_ok=True)
    return mine


@pytest.fixture(scope="session")
def bench_out(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """portrait V2-Lite and general V1-Lite converted once per run (arm + x86) for the harness tests."""
    from converter.cli.main import main as convert_main

    def build(out: Path) -> None:
        zoo = ["zoo", "--models-dir", str(models_dir), "--models", f"{PORTRAIT_V2},{HUMAN_V1}", "--offline"]
        assert convert_main([*zoo, "--out", str(out)]) == 0

    return built_once(tmp_path_factory, "bench_models", build)


@pytest.fixture(scope="session")
def arm_runtime() -> Path:
    """../shared/paddle-lite-armv8 (or $ARM_RUNTIME_DIR), with qemu-aarch64 and the aarch64 libraries installed."""
    from benchmark.emulated import binfmt
    from benchmark.emulated.phone import Qemu
    from converter.base.errors import ToolkitError

    path = _shared_path("ARM_RUNTIME_DIR", SHARED / "paddle-lite-armv8")
    try:
        binfmt.check_host(Qemu())
    except ToolkitError as e:
        if os.environ.get("REQUIRE_SHARED"):
            pytest.fail(str(e))
        pytest.skip(str(e))
    return path


@pytest.fixture(scope="session")
def second_server(lab):  # type: ignore[no-untyped-def]
    """A second adb server in the session's lab (a second farm host)."""
    return lab.start_server()


@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """A PostgreSQL server of this session (tests/postgres_server.py); skipped without Debian's postgresql
    binaries, except under REQUIRE_POSTGRES=1 (CI), where that is a failure."""
    from tests.postgres_server import pg_bindir
    from tests.postgres_server import pg_server as start

    bindir = pg_bindir()
    if bindir is None:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("no PostgreSQL binaries in /usr/lib/postgresql/*/bin: apt-get install postgresql")
        pytest.skip("no PostgreSQL binaries (apt-get install postgresql)")
    with start(bindir) as server:
        yield server
