"""Finding the Android build tools without an Android SDK: JDK and bookworm's aapt2/zipalign/apksigner on PATH;
android.jar (API 23) and the dx dexer from $ANDROID_JAR / $DX_JAR, else unpacked from their Debian packages
(found in $ANDROID_DEBS_DIR or ../shared/android, else fetched with `apt-get download` when a configured suite
carries them). What is missing is named with the command that installs it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from converter.base import atomic_files, process
from converter.base.errors import ToolkitError

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "android_demo"
APT_TOOLS = (
    "sudo apt-get install -y --no-install-recommends aapt zipalign apksigner android-framework-res junit4 "
    "openjdk-17-jdk-headless"
)
FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")
JUNIT_JARS = (Path("/usr/share/java/junit4.jar"), Path("/usr/share/java/hamcrest-core.jar"))


@dataclass(frozen=True)
class DebJar:
    env: str  # the variable a user with the Android SDK sets instead
    package: str
    deb: str  # the file name in ../shared/android
    jar: str  # path inside the package
    sdk_hint: str


ANDROID_JAR = DebJar(
    "ANDROID_JAR",
    "libandroid-23-java",
    "libandroid-23-java_6.0.1+r72-6_all.deb",
    "usr/share/java/com.android.android-23.jar",
    "$ANDROID_HOME/platforms/android-23/android.jar",
)
DX_JAR = DebJar(
    "DX_JAR",
    "dalvik-exchange",
    "dalvik-exchange_10.0.0+r36-1_all.deb",
    "usr/share/java/com.android.dx-10.0.0.jar",
    "$ANDROID_HOME/build-tools/<version>/lib/dx.jar (build-tools 30 or older still ship dx)",
)


class ToolchainError(ToolkitError):
    """An Android build tool or jar is missing."""


@dataclass(frozen=True)
class Toolchain:
    java: str
    javac: str
    keytool: str
    aapt2: str
    aapt: str | None
    zipalign: str
    apksigner: str
    framework_res: Path
    android_jar: Path
    dx_jar: Path


def _tool(name: str, missing: list[str]) -> str:
    path = shutil.which(name)
    if path is None:
        missing.append(name)
        return ""
    return path


def _debs_dirs(work: Path) -> list[Path]:
    dirs = [Path(os.environ["ANDROID_DEBS_DIR"])] if os.environ.get("ANDROID_DEBS_DIR") else []
    return [*dirs, REPO.parent / "shared" / "android", work / "debs"]


def _apt_download(pkg: str, into: Path) -> Path | None:
    if shutil.which("apt-get") is None:
        return None
    into.mkdir(parents=True, exist_ok=True)
    r = process.run(["apt-get", "download", pkg], timeout_s=120, cwd=str(into))
    if r.returncode != 0:
        return None
    return next(iter(sorted(into.glob(f"{pkg}_*.deb"))), None)


def resolve_jar(spec: DebJar, work: Path) -> Path:
    """$ENV, else the jar unpacked from the Debian package (kept under work/sdk)."""
    if os.environ.get(spec.env):
        path = Path(os.environ[spec.env])
        if not path.is_file():
            raise ToolchainError(f"${spec.env}={path} does not exist; point it at {spec.sdk_hint}")
        return path
    unpacked = work / "sdk" / spec.package
    if (unpacked / spec.jar).is_file():
        return unpacked / spec.jar
    deb = next((d / spec.deb for d in _debs_dirs(work) if (d / spec.deb).is_file()), None)
    if deb is None:
        deb = _apt_download(spec.package, work / "debs")
    if deb is None:
        raise ToolchainError(
            f"{spec.package} (for {Path(spec.jar).name}) is not available: set ${spec.env} to {spec.sdk_hint}, "
            f"or put Debian's {spec.deb} (from bullseye: https://packages.debian.org/bullseye/{spec.package}) in "
            "$ANDROID_DEBS_DIR"
        )
    if shutil.which("dpkg-deb") is None:
        raise ToolchainError(f"dpkg-deb is needed to unpack {deb}; or set ${spec.env}")
    tmp = atomic_files.partial_dir(unpacked)
    r = process.run(["dpkg-deb", "-x", str(deb), str(tmp)], timeout_s=120)
    if r.returncode != 0 or not (tmp / spec.jar).is_file():
        raise ToolchainError(f"cannot unpack {deb}: {r.tail(4) or f'no {spec.jar} inside'}")
    atomic_files.publish_dir(tmp, unpacked)
    return unpacked / spec.jar


def find_toolchain(work: Path) -> Toolchain:
    missing: list[str] = []
    tools = {n: _tool(n, missing) for n in ("java", "javac", "keytool", "aapt2", "zipalign", "apksigner")}
    framework = Path(os.environ.get("FRAMEWORK_RES", FRAMEWORK_RES))
    if not framework.is_file():
        missing.append(f"android-framework-res ({framework})")
    if missing:
        raise ToolchainError(f"missing Android build tools: {', '.join(missing)}; install them with: {APT_TOOLS}")
    return Toolchain(
        java=tools["java"],
        javac=tools["javac"],
        keytool=tools["keytool"],
        aapt2=tools["aapt2"],
        aapt=shutil.which("aapt"),
        zipalign=tools["zipalign"],
        apksigner=tools["apksigner"],
        framework_res=framework,
        android_jar=resolve_jar(ANDROID_JAR, work),
        dx_jar=resolve_jar(DX_JAR, work),
    )


def junit_classpath() -> str:
    missing = [str(j) for j in JUNIT_JARS if not j.is_file()]
    if missing:
        raise ToolchainError(f"JUnit 4 is missing ({', '.join(missing)}); install it with: {APT_TOOLS}")
    return os.pathsep.join(str(j) for j in JUNIT_JARS)


def run_tool(argv: list[str], what: str, timeout_s: float = 300, cwd: Path | None = None) -> process.ProcessResult:
    r = process.run(argv, timeout_s=timeout_s, cwd=str(cwd) if cwd else None)
    if r.timed_out:
        raise ToolchainError(f"{what} did not finish within {timeout_s:.0f} s: {r.command}")
    if r.returncode != 0:
        raise ToolchainError(f"{what} failed (exit {r.returncode}): {r.command}\n{r.tail(20)}")
    return r
