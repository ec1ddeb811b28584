"""The Android demo: Java unit tests on the host JVM against the Python pipeline's goldens on the shared images,
the hand-built APK (apksigner verify, aapt dump badging, contents), bad inputs, and the install path through the
device seam onto an emulated device (its pm/am shims)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from android_demo import build as apk_build
from android_demo import install as apk_install
from android_demo import unit_tests
from android_demo.native_libs import check_apk, data_offset
from benchmark.device.adb import AdbDevice
from tests.conftest import PORTRAIT_V2

pytestmark = pytest.mark.slow
TOOLS = ("java", "javac", "aapt", "aapt2", "zipalign", "apksigner", "dexdump")


@pytest.fixture(scope="module", autouse=True)
def android_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing and os.environ.get("REQUIRE_ANDROID") != "1":
        pytest.skip(f"Android build tools missing: {missing} (.ci/run installs them)")
    assert not missing, f"missing {missing}"


@pytest.fixture(scope="module")
def model_dir(bench_out: Path) -> Path:
    folder = bench_out / PORTRAIT_V2
    assert (folder / "model_spec.json").is_file() and (folder / "arm-fp32.nb").is_file()
    return folder


@pytest.fixture(scope="module")
def built(model_dir: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("android")
    sample = data_dir / "pphumanseg_demo_images" / "portrait_shu.jpg"
    assert apk_build.main(["--model-dir", str(model_dir), "--out", str(out), "--sample", str(sample)]) == 0
    return out / apk_build.APK_NAME


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_java_unit_tests_agree_with_python(model_dir, data_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    images = data_dir / "pphumanseg_demo_images"
    assert unit_tests.main(["--model-dir", str(model_dir), "--images", str(images), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    m = re.search(r"java unit tests: (\d+) passed, 0 failed", out)
    assert m and int(m.group(1)) >= 17, out  # TemporalSmootherTest among them
    ious = [float(x) for x in re.findall(r"mask IoU vs Python ([0-9.]+)", out)]
    assert len(ious) == 3 and min(ious) >= 0.99  # the bar, on the three shared demo images


def test_java_unit_tests_can_fail(model_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    wrong = tmp_path / "model"
    shutil.copytree(model_dir, wrong)
    spec = json.loads((wrong / "model_spec.json").read_text())
    spec["preprocess"]["channel_order"] = "bgr"  # the app would feed the model swapped channels
    (wrong / "model_spec.json").write_text(json.dumps(spec))
    assert unit_tests.main(["--model-dir", str(wrong), "--out", str(tmp_path / "ut")]) == 1
    out = capsys.readouterr().out
    assert re.search(r"java unit tests: \d+ passed, [1-9]\d* failed", out), out
    assert "PreprocessorTest" in out


def test_apk_is_signed_and_complete(built: Path, model_dir: Path) -> None:
    verify = subprocess.run(
        ["apksigner", "verify", "--verbose", str(built)], capture_output=True, text=True, timeout=120, check=False
    )
    assert verify.returncode == 0 and "Verified using v2 scheme (APK Signature Scheme v2): true" in verify.stdout
    badging = subprocess.run(
        ["aapt", "dump", "badging", str(built)], capture_output=True, text=True, timeout=60, check=False
    )
    assert badging.returncode == 0, badging.stderr
    for fact in (
        "package: name='com.pplite.humanseg'",
        "sdkVersion:'23'",
        "targetSdkVersion:'36'",  # what Google Play requires of new apps and updates since 2026-08-31
        "uses-permission: name='android.permission.CAMERA'",
        "launchable-activity: name='com.pplite.humanseg.app.MainActivity'",
    ):
        assert fact in badging.stdout, fact
    align = subprocess.run(
        ["zipalign", "-c", "-p", "4", str(built)], capture_output=True, text=True, timeout=60, check=False
    )
    assert align.returncode == 0, align.stdout
    with zipfile.ZipFile(built) as z:
        assert _sha(z.read("assets/model.nb")) == _sha((model_dir / "arm-fp32.nb").read_bytes())
        staged = json.loads(z.read("assets/model_spec.json"))  # as this toolkit reads it: every fusion parameter
        assert staged["model"] == PORTRAIT_V2 and staged["temporal"]["fusion"]["jump"] > 0
        assert 0 < staged["temporal"]["fusion"]["contradict"] < 1
        assert {"assets/sample.jpg", "assets/background.jpg", "classes.dex"} <= set(z.namelist())
        assert not [n for n in z.namelist() if n.startswith("lib/")]  # no Paddle-Lite release given
        dex = built.parent / "check.dex"
        dex.write_bytes(z.read("classes.dex"))
    classes = subprocess.run(["dexdump", str(dex)], capture_output=True, text=True, timeout=60, check=False).stdout
    defined = set(re.findall(r"Class descriptor\s+: 'L([^;]+);'", classes))
    assert "com/pplite/humanseg/app/MainActivity" in defined and "com/pplite/humanseg/core/YuvConverter" in defined
    assert not [c for c in defined if c.startswith("com/baidu/")]  # the API jar is compile-only without a release
    # Only Segmenter (created inside MainActivity.load's try) may touch Paddle-Lite classes: anywhere else, an APK
    # without them would die of NoClassDefFoundError instead of showing its message.
    code = subprocess.run(["dexdump", "-d", str(dex)], capture_output=True, text=True, timeout=60, check=False).stdout
    sections = re.split(r"(?=Class #\d+\s+-)", code)
    users = {re.search(r"Class descriptor\s+: 'L([^;]+);'", c).group(1) for c in sections[1:] if "Lcom/baidu/" in c}  # type: ignore[union-attr]
    assert users == {"com/pplite/humanseg/app/Segmenter"}, users
    info = json.loads(built.with_suffix(".json").read_text())
    assert info["runnable"] is False and "PADDLE_LITE_ANDROID_DIR" in info["note"]


def _placeholder_so(out: Path, source: Path, *link: str, page_bytes: int = 16384, machine: int | None = 0xB7) -> None:
    """A shared library built here (x86 gcc) whose ELF header then says `machine` (0xB7: aarch64): it is packaged and
    inspected, never loaded. page_bytes: its LOAD segments' alignment (-z max-page-size)."""
    subprocess.run(
        ["gcc", "-shared", "-fPIC", f"-Wl,-z,max-page-size={page_bytes}", "-o", str(out), str(source), *link],
        check=True,
        timeout=60,
    )
    if machine is not None:
        _set_machine(out, machine)


def _set_machine(so: Path, machine: int) -> None:
    data = bytearray(so.read_bytes())
    data[18:20] = machine.to_bytes(2, "little")  # e_machine
    so.write_bytes(bytes(data))


def _fake_release(
    root: Path,
    work: Path,
    *,
    cxx_shared: bool = False,
    libcxx: bool = True,
    page_bytes: int = 16384,
    machine: int = 0xB7,
) -> Path:
    """The layout of a Paddle-Lite Android release (java/jar, java/so) with the real 2.13 Java API jar; the JNI
    library is a placeholder ELF (built here, marked aarch64) that names libc++_shared.so when `cxx_shared`: this
    checks the packaging, not Paddle-Lite."""
    flavour = "c++_shared" if cxx_shared else "c++_static"
    release = root / f"inference_lite_lib.android.armv8.clang.{flavour}.with_extra.with_cv"
    jar = release / "java" / "jar" / "PaddlePredictor.jar"
    jar.parent.mkdir(parents=True)
    shutil.copyfile(apk_build.DEFAULT_API_JAR, jar)
    so = release / "java" / "so" / "libpaddle_lite_jni.so"
    so.parent.mkdir()
    (work / "jni.c").parent.mkdir(parents=True, exist_ok=True)
    (work / "jni.c").write_text("int paddle_lite_jni_placeholder(void) { return 0; }\n")
    link = []
    if cxx_shared:
        cxx = (release / "cxx" / "lib") if libcxx else work
        cxx.mkdir(parents=True, exist_ok=True)
        _placeholder_so(cxx / "libc++_shared.so", work / "jni.c", page_bytes=page_bytes, machine=None)
        link = ["-L", str(cxx), "-Wl,--no-as-needed", "-l:libc++_shared.so"]
    _placeholder_so(so, work / "jni.c", *link, page_bytes=page_bytes, machine=machine)
    if cxx_shared:  # marked only once the JNI library linked against it
        _set_machine(cxx / "libc++_shared.so", machine)
    return release


def test_apk_with_a_paddle_lite_release(model_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    release = _fake_release(tmp_path / "release", tmp_path / "w")
    out = tmp_path / "out"
    assert apk_build.main(["--model-dir", str(model_dir), "--out", str(out), "--paddle-lite", str(release)]) == 0
    apk = out / apk_build.APK_NAME
    with zipfile.ZipFile(apk) as z:
        lib = z.getinfo("lib/arm64-v8a/libpaddle_lite_jni.so")
        assert (
            lib.compress_type == zipfile.ZIP_STORED
            and lib.file_size == (release / "java/so/libpaddle_lite_jni.so").stat().st_size
        )
        assert "lib/arm64-v8a/libc++_shared.so" not in z.namelist()  # a c++_static release needs none
        (tmp_path / "classes.dex").write_bytes(z.read("classes.dex"))
    dump = subprocess.run(
        ["dexdump", str(tmp_path / "classes.dex")], capture_output=True, text=True, timeout=60, check=True
    )
    assert "Lcom/baidu/paddle/lite/PowerMode;" in dump.stdout  # the release's Java library is inside
    assert json.loads(apk.with_suffix(".json").read_text())["runnable"] is True
    assert "runnable" in capsys.readouterr().out
    assert check_apk(apk, ("arm64-v8a",)) == []  # 16 KB page aligned, stored at a 16 KB offset, the right ABI
    with zipfile.ZipFile(apk) as z:
        assert data_offset(apk, z.getinfo("lib/arm64-v8a/libpaddle_lite_jni.so")) % 16384 == 0


def test_a_library_google_play_refuses_is_named_with_the_fix(model_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Paddle-Lite 2.13's prebuilt libraries were linked for 4 KB pages; Play requires 16 KB for new apps."""
    release = _fake_release(tmp_path / "release", tmp_path / "w", page_bytes=4096)
    out = tmp_path / "out"
    argv = ["--model-dir", str(model_dir), "--out", str(out), "--paddle-lite", str(release)]
    assert apk_build.main(argv) == 2
    err = capsys.readouterr().err
    assert "lib/arm64-v8a/libpaddle_lite_jni.so: not 16 KB page aligned: its LOAD segments are aligned to 4 KB" in err
    assert "max-page-size=16384" in err and "--allow-4k-pages" in err and "Traceback" not in err
    assert not (out / apk_build.APK_NAME).exists()  # nothing half-built is left as the APK
    assert apk_build.main([*argv, "--allow-4k-pages"]) == 0
    info = json.loads((out / apk_build.APK_NAME).with_suffix(".json").read_text())
    assert len(info["native_library_problems"]) == 1 and "not 16 KB page aligned" in info["native_library_problems"][0]
    capsys.readouterr()
    wrong_abi = _fake_release(tmp_path / "x86", tmp_path / "w2", machine=0x3E)  # an x86-64 library under arm64-v8a
    assert apk_build.main([*argv[:4], "--paddle-lite", str(wrong_abi)]) == 2
    assert "libpaddle_lite_jni.so: built for x86_64, but it sits in lib/arm64-v8a/" in capsys.readouterr().err


def test_cxx_shared_release_brings_libcxx(model_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    release = _fake_release(tmp_path / "release", tmp_path / "w", cxx_shared=True)
    out = tmp_path / "out"
    assert apk_build.main(["--model-dir", str(model_dir), "--out", str(out), "--paddle-lite", str(release)]) == 0
    with zipfile.ZipFile(out / apk_build.APK_NAME) as z:
        assert z.getinfo("lib/arm64-v8a/libc++_shared.so").compress_type == zipfile.ZIP_STORED
    lacking = _fake_release(tmp_path / "release2", tmp_path / "w2", cxx_shared=True, libcxx=False)
    assert apk_build.main(["--model-dir", str(model_dir), "--out", str(out), "--paddle-lite", str(lacking)]) == 2
    err = capsys.readouterr().err
    assert "c++_shared Paddle-Lite release: it needs libc++_shared.so" in err and "LIBCXX_SHARED" in err
    plain = tmp_path / "release3"
    _fake_release(tmp_path / "r3", tmp_path / "w3").rename(plain)  # a folder name without 'with_extra'
    assert apk_build.main(["--model-dir", str(model_dir), "--out", str(out), "--paddle-lite", str(plain)]) == 0
    assert "does not look like a with_extra Paddle-Lite release" in capsys.readouterr().err


def test_build_bad_inputs(model_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert apk_build.main(["--model-dir", str(empty), "--out", str(out)]) == 2
    assert "has no arm-fp32.nb + model_spec.json: convert the model first" in capsys.readouterr().err
    assert apk_build.main(["--model-dir", str(model_dir), "--out", str(out), "--precision", "fp32,int8"]) == 2
    assert "the app ships one variant, got fp32,int8" in capsys.readouterr().err
    assert apk_build.main(["--model-dir", str(model_dir), "--out", str(out), "--precision", "int16w"]) == 2
    err = capsys.readouterr().err
    assert "has no arm-int16w.nb" in err and "PRECISIONS=int16w" in err
    assert apk_build.main(["--model-dir", str(model_dir), "--out", str(out), "--paddle-lite", str(empty)]) == 2
    err = capsys.readouterr().err
    assert f"{empty} holds no PaddlePredictor.jar" in err and "Paddle-Lite" in err
    random = tmp_path / "random"
    shutil.copytree(model_dir, random)
    spec = json.loads((random / "model_spec.json").read_text())
    (random / "model_spec.json").write_text(json.dumps({**spec, "weights": "random"}))
    assert apk_build.main(["--model-dir", str(random), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "RANDOM weights" in err and "so it is not packaged" in err
    assert not (out / apk_build.APK_NAME).exists()


def test_install_on_an_emulated_device(lab, emulated, built, capsys) -> None:  # type: ignore[no-untyped-def]
    h = emulated()
    argv = ["--apk", str(built), "--adb", str(lab.server), "--serial", h.serial]
    assert apk_install.main(argv) == 0, capsys.readouterr().err
    assert f"installed {built} on {h.serial}" in capsys.readouterr().out
    device = AdbDevice(lab.server, h.serial)
    listed = device.shell("pm path com.pplite.humanseg", 30).stdout.strip()
    assert listed == "package:/data/app/com.pplite.humanseg-1/base.apk"
    on_device = device.pull("/data/app/com.pplite.humanseg-1/base.apk")
    assert _sha(on_device) == _sha(built.read_bytes())
    assert device.pull("/data/system/am_starts.log").decode().strip() == apk_install.ACTIVITY
    assert not device.exists(apk_install.REMOTE)  # the pushed copy is cleaned up


def test_install_refuses_random_weights_and_missing_devices(lab, built, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    random_apk = tmp_path / "random.apk"
    with zipfile.ZipFile(built) as src, zipfile.ZipFile(random_apk, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "assets/model_spec.json":
                data = json.dumps({**json.loads(data), "weights": "random"}).encode()
            dst.writestr(item, data)
    assert apk_install.main(["--apk", str(random_apk), "--adb", str(lab.server)]) == 2
    assert "RANDOM weights" in capsys.readouterr().err
    empty_server = lab.start_server()
    assert apk_install.main(["--apk", str(built), "--adb", str(empty_server)]) == 2
    assert "no usable device" in capsys.readouterr().err
    assert apk_install.main(["--apk", str(tmp_path / "missing.apk")]) == 2
    assert "build it with `make android-demo`" in capsys.readouterr().err
