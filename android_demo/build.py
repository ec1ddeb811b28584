"""`python -m android_demo.build`: the debug-signed demo APK without Gradle: aapt2 compile/link (resources, manifest,
assets), javac against android.jar, dx, the Paddle-Lite jar and JNI library when given, zipalign, apksigner.
Output: build/android/humanseg-demo.apk (+ .json with what is inside); intermediates in build/android/work.
A failed build leaves the previous APK as it was."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from android_demo.native_libs import FIX, LibraryProblem, check_apk, write_stored_aligned
from android_demo.toolchain import APP, REPO, Toolchain, ToolchainError, find_toolchain, run_tool
from android_demo.variant import choose_variant
from benchmark.device.elf import read_elf
from converter.artifacts.app_spec import SPEC_NAME, read_spec
from converter.base import atomic_files
from converter.base.errors import ToolkitError
from converter.cli.args import precisions_arg, setup_logging
from converter.images.generated import generated_images
from converter.images.preprocess import load_image
from converter.sources.model_files import sha256_file

log = logging.getLogger("android_demo")
DEFAULT_OUT = REPO / "build" / "android"
APK_NAME = "humanseg-demo.apk"
PADDLE_LITE_HELP = (
    "to make it runnable, download a Paddle-Lite 2.13 Android armv8 release from "
    "https://github.com/PaddlePaddle/Paddle-Lite/releases, a with_extra one (PP-HumanSeg needs the extra ops, e.g. "
    "inference_lite_lib.android.armv8.clang.c++_static.with_extra.with_cv.tar.gz; it holds "
    "java/jar/PaddlePredictor.jar and java/so/libpaddle_lite_jni.so), unpack it and set PADDLE_LITE_ANDROID_DIR"
)
# Paddle-Lite 2.13's Java API, compiled from its sources (../shared/paddle-lite-java): what the app compiles against
# when no release is given. It has no native code, so it is never packaged on its own.
API_JAR_ENV = "PADDLE_LITE_JAVA_JAR"
DEFAULT_API_JAR = REPO.parent / "shared" / "paddle-lite-java" / "PaddlePredictor.jar"
LIBCXX = "libc++_shared.so"
ABI = "arm64-v8a"  # the one ABI the app ships (Paddle-Lite's armv8 release)


@dataclass(frozen=True)
class PaddleLiteAndroid:
    jar: Path
    jni: Path
    libcxx: Path | None = None  # a c++_shared release's JNI library needs it in the APK too
    with_extra: bool = True


def api_jar(lite: PaddleLiteAndroid | None) -> Path:
    """The Paddle-Lite Java API to compile against: the release's jar, else $PADDLE_LITE_JAVA_JAR, else the shared
    one compiled from Paddle-Lite 2.13's sources."""
    if lite is not None:
        return lite.jar
    jar = Path(os.environ[API_JAR_ENV]) if os.environ.get(API_JAR_ENV) else DEFAULT_API_JAR
    if not jar.is_file():
        raise ToolchainError(
            f"Paddle-Lite's Java API {jar} does not exist: the app compiles against it. Set {API_JAR_ENV} to a "
            f"PaddlePredictor.jar (java/jar/ of a Paddle-Lite 2.13 Android release), or PADDLE_LITE_ANDROID_DIR"
        )
    return jar


def _libcxx(folder: Path, jni: Path) -> Path | None:
    """A c++_shared release's libpaddle_lite_jni.so needs libc++_shared.so (from the release or the NDK)."""
    elf = read_elf(jni.read_bytes())
    if elf is None or LIBCXX not in elf.needed:
        return None
    found = sorted(folder.rglob(LIBCXX), key=lambda p: ("arm64" not in str(p) and "armv8" not in str(p), str(p)))
    if os.environ.get("LIBCXX_SHARED"):
        found.insert(0, Path(os.environ["LIBCXX_SHARED"]))
    if not found or not found[0].is_file():
        raise ToolchainError(
            f"{jni} is from a c++_shared Paddle-Lite release: it needs {LIBCXX}, which is not in {folder}. Set "
            f"LIBCXX_SHARED to the NDK's sources/cxx-stl/llvm-libc++/libs/arm64-v8a/{LIBCXX}, or use a c++_static "
            "release"
        )
    return found[0]


@dataclass(frozen=True)
class BuildInfo:
    apk: str
    model: str
    weights: str
    nb_sha256: str
    precision: str
    precision_why: str
    runnable: bool
    paddle_lite: str | None
    note: str
    native_library_problems: list[str]  # built anyway with --allow-4k-pages: Google Play would refuse the APK


def find_paddle_lite(folder: Path | None) -> PaddleLiteAndroid | None:
    if folder is None:
        return None
    if not folder.is_dir():
        raise ToolchainError(f"PADDLE_LITE_ANDROID_DIR={folder} is not a folder; {PADDLE_LITE_HELP}")
    jar = next(iter(sorted(folder.rglob("PaddlePredictor.jar"))), None)
    jnis = sorted(folder.rglob("libpaddle_lite_jni.so"))
    jni = next((p for p in jnis if "arm64" in str(p) or "armv8" in str(p)), jnis[0] if jnis else None)
    if jar is None or jni is None:
        raise ToolchainError(
            f"{folder} holds no {'PaddlePredictor.jar' if jar is None else 'libpaddle_lite_jni.so'}; {PADDLE_LITE_HELP}"
        )
    with_extra = "with_extra" in str(folder.resolve()) or "with_extra" in str(jni)
    if not with_extra:
        log.warning(
            "warning: %s does not look like a with_extra Paddle-Lite release (its name lacks 'with_extra'): "
            "PP-HumanSeg needs the extra ops, and a release without them cannot load the model",
            folder,
        )
    return PaddleLiteAndroid(jar, jni, _libcxx(folder, jni), with_extra)


@dataclass(frozen=True)
class StagedModel:
    """What the APK carries: the model, its weights kind, the .nb's sha256 and the variant (and why)."""

    model: str
    weights: str
    nb_sha256: str
    precision: str
    precision_why: str


def stage_assets(model_dir: Path, sample: Path | None, assets: Path, precision: str | None = None) -> StagedModel:
    variant = choose_variant(model_dir, precision)
    nb, spec_file = variant.nb, model_dir / SPEC_NAME
    if not nb.is_file() or not spec_file.is_file():
        raise ToolkitError(
            f"{model_dir} has no {nb.name} + {SPEC_NAME}: convert the model first "
            f"(make convert MODELS={model_dir.name} PRECISIONS={variant.precision})"
        )
    try:
        spec = read_spec(spec_file.read_text(encoding="utf-8"))
    except ValueError as e:
        why = str(e).splitlines()[0]
        raise ToolkitError(f"{spec_file}: not a model_spec.json of this toolkit ({why}); convert again") from None
    if spec.weights == "random":
        raise ToolkitError(
            f"{model_dir}: {spec.model} has RANDOM weights (a latency-only stand-in built because its weights "
            "were not available): the demo would show meaningless masks, so it is not packaged; use a model with "
            "trained weights (DEMO_MODEL=..., MODELS_DIR=...)"
        )
    shutil.rmtree(assets, ignore_errors=True)
    assets.mkdir(parents=True)
    shutil.copyfile(nb, assets / "model.nb")
    # the spec as this toolkit reads it: a file from an earlier conversion gets the parameters added since, by default
    atomic_files.write_json(assets / SPEC_NAME, spec.model_dump(mode="json"))
    generated = dict(generated_images())
    photo = load_image(sample) if sample is not None else next(iter(generated.values()))
    scale = 720 / max(photo.shape[:2])
    if scale < 1:
        photo = cv2.resize(
            photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA
        )
    cv2.imwrite(str(assets / "sample.jpg"), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
    gradient = np.asarray(list(generated.values())[1])
    cv2.imwrite(str(assets / "background.jpg"), cv2.GaussianBlur(gradient, (0, 0), 8), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return StagedModel(spec.model, spec.weights, sha256_file(nb), variant.precision, variant.why)


def _java_sources(*folders: Path) -> list[str]:
    return [str(p) for f in folders for p in sorted(f.rglob("*.java"))]


def compile_and_dex(tc: Toolchain, work: Path, lite: PaddleLiteAndroid | None) -> Path:
    gen, obj = work / "gen", work / "obj"
    shutil.rmtree(obj, ignore_errors=True)
    obj.mkdir(parents=True)
    javac = [tc.javac, "-source", "8", "-target", "8", "-encoding", "UTF-8", "-Xlint:all,-options"]
    javac += ["-bootclasspath", str(tc.android_jar)]
    classpath = str(api_jar(lite))  # the real Paddle-Lite 2.13 Java API; packaged only with a release's .so
    run_tool([*javac, "-cp", classpath, "-d", str(obj), *_java_sources(gen, APP / "src")], "javac (app)")
    dex = work / "classes.dex"
    inputs = [str(obj)] + ([str(lite.jar)] if lite else [])
    run_tool([tc.java, "-jar", str(tc.dx_jar), "--dex", "--min-sdk-version=23", f"--output={dex}", *inputs], "dx")
    return dex


def package(tc: Toolchain, work: Path, out_dir: Path, lite: PaddleLiteAndroid | None) -> Path:
    res_zip, unsigned = work / "res.zip", work / "app.unsigned.apk"
    run_tool([tc.aapt2, "compile", "--dir", str(APP / "res"), "-o", str(res_zip)], "aapt2 compile")
    shutil.rmtree(work / "gen", ignore_errors=True)
    link = [tc.aapt2, "link", "-o", str(unsigned), "-I", str(tc.framework_res)]
    link += ["--manifest", str(APP / "AndroidManifest.xml"), "--java", str(work / "gen"), "-A", str(work / "assets")]
    run_tool([*link, "--auto-add-overlay", str(res_zip)], "aapt2 link")
    dex = compile_and_dex(tc, work, lite)
    with zipfile.ZipFile(unsigned, "a") as z:
        z.write(dex, "classes.dex", compress_type=zipfile.ZIP_DEFLATED)
    aligned, signed = work / "app.aligned.apk", work / "app.signed.apk"
    run_tool([tc.zipalign, "-f", "-p", "4", str(unsigned), str(aligned)], "zipalign")
    if lite is not None:  # native libraries stored uncompressed at 16 KB offsets (Android 15+ pages, Play), added
        with zipfile.ZipFile(aligned, "a") as z:  # after zipalign 10.0, which knows only 4 KB pages
            write_stored_aligned(z, lite.jni, f"lib/{ABI}/libpaddle_lite_jni.so")
            if lite.libcxx is not None:
                write_stored_aligned(z, lite.libcxx, f"lib/{ABI}/{LIBCXX}")
    keystore = out_dir / "debug.keystore"
    if not keystore.is_file():
        run_tool(
            [tc.keytool, "-genkeypair", "-keystore", str(keystore), "-storepass", "android", "-keypass", "android",
             "-alias", "androiddebugkey", "-keyalg", "RSA", "-keysize", "2048", "-validity", "10000",
             "-dname", "CN=Android Debug,O=Android,C=US"],
            "keytool",
        )  # fmt: skip
    sign = [tc.apksigner, "sign", "--ks", str(keystore), "--ks-pass", "pass:android", "--ks-key-alias"]
    run_tool([*sign, "androiddebugkey", "--out", str(signed), str(aligned)], "apksigner sign")
    run_tool([tc.apksigner, "verify", "--verbose", str(signed)], "apksigner verify")
    run_tool([tc.zipalign, "-c", "-p", "4", str(signed)], "zipalign -c (4-byte entries, page-aligned libraries)")
    return signed


class NativeLibraryError(ToolkitError):
    """A native library of the APK that Google Play refuses or that cannot load on its ABI."""

    def __init__(self, problems: list[LibraryProblem]) -> None:
        super().__init__("; ".join(map(str, problems)) + f". {FIX}")
        self.problems = problems


def build(
    model_dir: Path,
    out_dir: Path,
    sample: Path | None,
    lite_dir: Path | None,
    precision: str | None = None,
    *,
    allow_4k_pages: bool = False,
) -> BuildInfo:
    work = out_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    tc = find_toolchain(work)
    lite = find_paddle_lite(lite_dir)
    facts = stage_assets(model_dir, sample, work / "assets", precision)
    signed = package(tc, work, out_dir, lite)
    problems = check_apk(signed, (ABI,))
    if problems and not allow_4k_pages:
        raise NativeLibraryError(problems)
    for p in problems:
        log.warning("warning: %s (built anyway: --allow-4k-pages; Google Play would refuse it)", p)
    apk = out_dir / APK_NAME
    shutil.copyfile(signed, work / "final.apk")
    (work / "final.apk").replace(apk)
    note = (
        "runnable: Paddle-Lite's Java library and libpaddle_lite_jni.so (arm64-v8a) are inside"
        if lite
        else "NOT runnable as is: compiled against Paddle-Lite 2.13's Java API, but without PaddlePredictor.jar "
        f"and libpaddle_lite_jni.so inside (the app says so on screen); {PADDLE_LITE_HELP}"
    )
    info = BuildInfo(str(apk), facts.model, facts.weights, facts.nb_sha256, facts.precision, facts.precision_why,
                     lite is not None, str(lite_dir) if lite else None, note, [str(p) for p in problems])  # fmt: skip
    atomic_files.write_json(apk.with_suffix(".json"), asdict(info))
    return info


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m android_demo.build`."""
    p = argparse.ArgumentParser(prog="python -m android_demo.build", description=__doc__)
    p.add_argument("--model-dir", type=Path, required=True, help="converted model folder (build/models/NAME)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--sample", type=Path, help="the bundled photo (default: a generated image)")
    p.add_argument("--paddle-lite", type=Path, help="unpacked Paddle-Lite Android release ($PADDLE_LITE_ANDROID_DIR)")
    p.add_argument(
        "--precision",
        type=precisions_arg,
        default=os.environ.get("DEMO_PRECISION") or None,
        help="the variant to ship (default $DEMO_PRECISION, else the manifest's recommendation, else fp32)",
    )
    p.add_argument(
        "--allow-4k-pages",
        action="store_true",
        help="build even when a native library is not 16 KB page aligned (side-loading; Google Play refuses it)",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        if args.precision and len(args.precision) > 1:
            raise ToolkitError(
                f"--precision / DEMO_PRECISION: the app ships one variant, got {','.join(args.precision)}"
            )
        precision = args.precision[0] if args.precision else None
        info = build(
            args.model_dir, args.out, args.sample, args.paddle_lite, precision, allow_4k_pages=args.allow_4k_pages
        )
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"android demo: {info.apk} ({info.model}, {info.weights} weights, {info.precision}: {info.precision_why})")
    print(f"note: {info.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
