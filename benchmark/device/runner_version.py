"""Which Paddle-Lite version a runner really is, from every source there is, compared with the opt version that wrote
the .nb. A runner of another version runs a .nb to completion (Paddle-Lite 2.13 only logs a warning) with kernels and
op definitions other than those opt planned for, so its figures would be recorded as if they were the model's.

Sources, each of which can be absent or disagree with the others:
- `probe`: `benchmark_bin --version` (gflags; benchmark_bin's own compile-time string)
- `files`: the version tag compiled into each ELF file pushed (the runner and libpaddle_*.so), read without running:
  Paddle-Lite's version.h puts the tag string right before the short commit hash in .rodata
- `first_round`: the `benchmark_bin version:` line of the first round's Runtime Info block
- `runtime_log`: the runtime's own warning at model load, `version of current Paddle-Lite:X` (the library's version,
  logged only when it differs from the .nb's opt)
The runner is refused when any source names another version than the .nb's, and when no source names one at all
(unless the user passes --allow-unknown-runner-version, which the record keeps)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from benchmark.device.bundle import RunnerBundle
from benchmark.device.elf import read_elf
from converter.base.errors import ToolkitError

EXPECTED_VERSION_HELP = (
    "a runner built from a git checkout of the Paddle-Lite tag that matches opt (`git describe --tags --exact-match`)"
)
ALLOW_FLAG = "--allow-unknown-runner-version"
# version.h: paddlelite_tag() then paddlelite_commit() (10 hex digits), adjacent NUL-terminated strings in .rodata
_TAG_RE = re.compile(rb"\x00(v?\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.]+)?)\x00{1,8}([0-9a-f]{10})\x00")


class VersionMismatch(ToolkitError):
    """The runner's Paddle-Lite version differs from the .nb's opt version, or cannot be established."""

    def __init__(self, message: str, *, nb_version: str, runner_versions: dict[str, str]) -> None:
        super().__init__(message)
        self.nb_version = nb_version
        self.runner_versions = runner_versions


def file_versions(bundle: RunnerBundle) -> dict[str, str]:
    """The Paddle-Lite version tag compiled into each ELF file of the bundle (files without one are left out)."""
    out: dict[str, str] = {}
    for name, data, _ in bundle.files:
        if read_elf(data) is None:
            continue
        tags = {m.group(1).decode() for m in _TAG_RE.finditer(data)}
        if len(tags) == 1:
            out[name] = tags.pop()
        elif tags:
            out[name] = " / ".join(sorted(tags))  # several tags in one file never equal a .nb's single version
    return out


@dataclass(frozen=True)
class RunnerVersions:
    """Every version a runner gave of itself, by source; `allow_unknown` is the user's explicit escape."""

    probe: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    first_round: str | None = None
    runtime_log: str | None = None
    allow_unknown: bool = False

    def known(self) -> dict[str, str]:
        out = {f"file {name}": v for name, v in self.files.items()}
        if self.probe is not None:
            out["--version"] = self.probe
        if self.first_round is not None:
            out["first round"] = self.first_round
        if self.runtime_log is not None:
            out["runtime log"] = self.runtime_log
        return out

    @property
    def version(self) -> str | None:
        return shown(self.known())

    def after_round(self, first_round: str | None, runtime_log: str | None) -> RunnerVersions:
        """With what the first round said: its report's version line and the runtime's load-time warning."""
        return replace(self, first_round=first_round, runtime_log=runtime_log)

    def to_json(self) -> dict[str, Any]:
        """The record's runner fields: the version, every source of it, and whether an unknown one was allowed."""
        return {"version": self.version, "sources": self.known(), "unknown_version_allowed": self.allow_unknown}


def shown(known: dict[str, str]) -> str | None:
    """The one version all sources agree on, else every version named, ' / ' between (what records show)."""
    values = list(dict.fromkeys(known.values()))
    return " / ".join(values) if values else None


def _what(version: str) -> str:
    if version == "":
        return "an empty Paddle-Lite version (it was built from a source tree without git metadata)"
    if all(c in "0123456789abcdef" for c in version.lower()) and len(version) >= 7:
        return f"version {version}, a commit hash: it was built off a tag"
    return f"Paddle-Lite {version}"


def check(nb_version: str, versions: RunnerVersions, runner_label: str, serial: str) -> None:
    """Raise VersionMismatch when any source names another version than the .nb's, or none names any (unless
    allowed)."""
    known = versions.known()
    wrong = {src: v for src, v in known.items() if v != nb_version}
    if wrong:
        said = "; ".join(f"{src} says {_what(v)}" for src, v in wrong.items())
        raise VersionMismatch(
            f"{serial}: version mismatch: the .nb was written by opt {nb_version}, but the runner {runner_label} is "
            f"not: {said}. Use {EXPECTED_VERSION_HELP}: {nb_version} here (or convert with the opt of the runner's "
            "version)",
            nb_version=nb_version,
            runner_versions=known,
        )
    if not known and not versions.allow_unknown:
        raise VersionMismatch(
            f"{serial}: the runner {runner_label} does not say which Paddle-Lite it is (no `--version`, no version in "
            f"its files or its report), so it cannot be checked against the .nb's opt {nb_version}. Use "
            f"{EXPECTED_VERSION_HELP}, or pass {ALLOW_FLAG} to run it anyway (recorded in every record)",
            nb_version=nb_version,
            runner_versions={},
        )
