"""The Paddle-Lite version compiled into a runner's files, read without running them (the real armv8 runtime of
../shared, and copies of it whose library says another version)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.device.bundle import RunnerBundle
from benchmark.device.runner_version import RunnerVersions, VersionMismatch, check, file_versions


def _bundle(folder: Path) -> RunnerBundle:
    names = ("benchmark_bin", "libpaddle_light_api_shared.so")
    return RunnerBundle(str(folder / names[0]), tuple((n, (folder / n).read_bytes(), 0o644) for n in names), "aarch64")


def test_the_version_of_each_file(arm_runtime: Path, tmp_path: Path) -> None:
    for build in ("fp32", "fp16"):
        assert file_versions(_bundle(arm_runtime / build)) == {
            "benchmark_bin": "v2.13-rc",
            "libpaddle_light_api_shared.so": "v2.13-rc",
        }
    lib = (arm_runtime / "fp32" / "libpaddle_light_api_shared.so").read_bytes()
    (tmp_path / "benchmark_bin").write_bytes((arm_runtime / "fp32" / "benchmark_bin").read_bytes())
    (tmp_path / "libpaddle_light_api_shared.so").write_bytes(lib.replace(b"v2.13-rc\0", b"v2.12.0\0\0"))
    versions = file_versions(_bundle(tmp_path))
    assert versions == {"benchmark_bin": "v2.13-rc", "libpaddle_light_api_shared.so": "v2.12.0"}
    with pytest.raises(VersionMismatch, match="file libpaddle_light_api_shared.so says Paddle-Lite v2.12.0") as e:
        check("v2.13-rc", RunnerVersions(probe="v2.13-rc", files=versions), "r", "phone")
    assert e.value.nb_version == "v2.13-rc" and e.value.runner_versions["--version"] == "v2.13-rc"


def test_a_script_has_no_file_version_and_nothing_known_is_refused() -> None:
    bundle = RunnerBundle("r", (("benchmark_bin", b"#!/bin/sh\n", 0o755),), None)
    assert file_versions(bundle) == {}
    with pytest.raises(VersionMismatch, match="does not say which Paddle-Lite it is"):
        check("v2.13-rc", RunnerVersions(), "r", "phone")
    check("v2.13-rc", RunnerVersions(allow_unknown=True), "r", "phone")  # the user's explicit escape
    check("v2.13-rc", RunnerVersions(first_round="v2.13-rc"), "r", "phone")  # the first round named it
