"""The interpreter finder the Makefile relies on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

FINDER = REPO / "tools" / "find-python310"


def test_finds_a_python_310() -> None:
    res = subprocess.run([str(FINDER)], capture_output=True, text=True, timeout=60, check=True)
    exe = res.stdout.strip()
    assert Path(exe).is_file()
    version = subprocess.run(
        [exe, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, timeout=60, check=True
    )
    assert version.stdout.strip() == "(3, 10)"


def test_an_activated_virtualenv_yields_its_base_interpreter(tmp_path: Path) -> None:
    """A venv made from another venv's python breaks when that venv is gone (or not visible in a device chroot)."""
    import os
    import sys

    if sys.prefix == sys.base_prefix or sys.version_info[:2] != (3, 10):
        pytest.skip("the tests do not run in a Python 3.10 virtualenv")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}  # as `activate` does
    res = subprocess.run([str(FINDER)], capture_output=True, text=True, timeout=60, check=True, env=env)
    exe = res.stdout.strip()
    probe = "import sys; print(sys.prefix == sys.base_prefix)"
    out = subprocess.run([exe, "-c", probe], capture_output=True, text=True, timeout=60, check=True, env=env)
    assert out.stdout.strip() == "True", exe  # the base interpreter, not the venv's


def test_explains_what_to_install_when_there_is_none(tmp_path: Path) -> None:
    # A PATH with a bash but no python3.10, pyenv or uv.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sort", "tail", "grep", "cat", "env"):
        for d in ("/usr/bin", "/bin"):
            if (Path(d) / tool).exists():
                (bin_dir / tool).symlink_to(Path(d) / tool)
                break
    res = subprocess.run(
        ["/bin/bash", str(FINDER)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
    )
    assert res.returncode == 1 and res.stdout == ""
    assert "no Python 3.10 interpreter found" in res.stderr and "pyenv install 3.10" in res.stderr


RUNNER_BUILD = REPO / "tools" / "build-phone-runner"


def test_phone_runner_build_fails_clearly_without_an_ndk(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    res = subprocess.run(
        [str(RUNNER_BUILD), str(tmp_path)], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert res.returncode == 2 and "no Android NDK" in res.stderr and "NDK_ROOT" in res.stderr
    fake_ndk = tmp_path / "ndk"
    (fake_ndk / "toolchains" / "llvm").mkdir(parents=True)
    res = subprocess.run(
        [str(RUNNER_BUILD), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "NDK_ROOT": str(fake_ndk)},
    )
    assert res.returncode == 2 and "is not a Paddle-Lite checkout" in res.stderr


def test_phone_runner_build_refuses_a_checkout_off_the_tag(tmp_path: Path) -> None:
    src = tmp_path / "Paddle-Lite"
    (src / "lite" / "tools").mkdir(parents=True)
    script = src / "lite" / "tools" / "build_android.sh"
    script.write_text("#!/bin/sh\necho must not run >&2; exit 9\n")
    script.chmod(0o755)
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "x"], ["tag", "v2.13"]):
        subprocess.run([*git, *cmd], check=True, timeout=60)
    fake_ndk = tmp_path / "ndk"
    (fake_ndk / "toolchains" / "llvm").mkdir(parents=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NDK_ROOT": str(fake_ndk)}
    res = subprocess.run(
        [str(RUNNER_BUILD), str(src)], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert res.returncode == 2 and "is not at tag v2.13-rc (it is at 'v2.13')" in res.stderr
    assert "must not run" not in res.stderr


APT_MISSING = REPO / "tools" / "apt-missing"


def _fake_dpkg_query(folder: Path, statuses: dict[str, str]) -> dict[str, str]:
    """A dpkg-query on PATH that answers `-W -f=${db:Status-Status} PKG` from `statuses` (unknown: exit 1)."""
    import os

    folder.mkdir()
    cases = "".join(f"  {name}) printf '%s' '{status}';;\n" for name, status in statuses.items())
    script = folder / "dpkg-query"
    script.write_text(f'#!/bin/sh\neval "pkg=\\${{$#}}"\ncase "$pkg" in\n{cases}  *) exit 1;;\nesac\n')
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}"}


def test_a_removed_package_with_config_files_counts_as_missing(tmp_path: Path) -> None:
    """The fresh-machine CI failure's class: `dpkg -s` succeeds for a package removed but not purged (its state is
    config-files) or half installed, so .ci/run skipped installing it. Only dpkg's 'installed' counts."""
    statuses = {"qemu-user": "installed", "chromium": "config-files", "aapt": "half-installed", "junit4": "unpacked"}
    env = _fake_dpkg_query(tmp_path / "bin", statuses)
    res = subprocess.run(
        [str(APT_MISSING), "qemu-user", "chromium", "aapt", "junit4", "nosuchpkg"],
        capture_output=True, text=True, timeout=60, check=True, env=env,
    )  # fmt: skip
    assert res.stdout.split() == ["chromium", "aapt", "junit4", "nosuchpkg"]


def test_ci_installs_through_the_strict_check_and_names_every_tool_the_code_runs() -> None:
    """.ci/run asks tools/apt-missing (never `dpkg -s`), and every outside program the project runs comes from a
    package in its apt list: a program that is on a developer's machine but in no install step fails a fresh one."""
    ci = (REPO / ".ci" / "run").read_text()
    assert "tools/apt-missing" in ci and "dpkg -s" not in ci
    apt_list = set(ci.split("apt_install make", 1)[1].split("\nfi", 1)[0].replace("\\", " ").split()) | {"make"}
    programs = {  # program the code or tests run -> the Debian package that brings it
        "qemu-aarch64": "qemu-user",
        "perf": "linux-perf",
        "chromium": "chromium",
        "java": "default-jdk-headless",
        "javac": "default-jdk-headless",
        "keytool": "default-jdk-headless",
        "aapt2": "aapt",
        "zipalign": "zipalign",
        "apksigner": "apksigner",
        "dexdump": "dexdump",
        "gcc": "gcc",
        "git": "git",
        "make": "make",
    }
    sources = "\n".join(
        p.read_text() for d in ("benchmark", "android_demo", "converter") for p in (REPO / d).rglob("*.py")
    )
    sources += (REPO / "Makefile").read_text() + "\n".join(p.read_text() for p in (REPO / "tests").glob("*.py"))
    for program, package in programs.items():
        assert package in apt_list, f"{program} comes from {package}, which .ci/run does not install"
    for program in ("qemu-aarch64", "perf", "chromium", "apksigner", "zipalign", "dexdump", "gcc"):
        assert f'"{program}"' in sources or f"'{program}'" in sources or f"{program} " in sources, program
