"""The device farm file (configs/farm.yaml) -> frozen, validated settings: adb servers, remote devices to
`adb connect`, device selectors and per-device settings, what to run, thresholds, history and lock settings.
Unknown keys are rejected; every error names the file and the key. Relative paths are relative to the current
directory (the repository root when run through make)."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from benchmark.device.info import DeviceInfo
from benchmark.latency.run import BenchSettings
from converter.base.errors import ToolkitError
from converter.base.strict import Frozen
from converter.base.yaml_files import problems, read_mapping
from converter.schema.zoo import Precision, check_model_name

DEFAULT_FARM = Path(__file__).resolve().parents[2] / "configs" / "farm.yaml"
HOST_PORT_RE = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")
SAFE_DIR_RE = re.compile(r"^/[A-Za-z0-9_./-]+$")


_DEFAULTS = BenchSettings()


class FarmError(ToolkitError):
    """The farm file is invalid, or the farm cannot run at all."""


def _host_port(value: str) -> str:
    if not HOST_PORT_RE.match(value):
        raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:5037)")
    return value


class Connect(Frozen):
    """A device exposed over TCP (a farm manager such as DeviceFarmer/OpenSTF hands these out)."""

    address: str
    server: str | None = None  # the adb server that connects it; default: the first server

    _addr = field_validator("address", "server")(lambda v: v if v is None else _host_port(v))


class Selector(Frozen):
    """A device is selected when it matches every key given; each key takes shell-style patterns (any may match)."""

    serial: list[str] = []  # adb serial or ro.serialno
    model: list[str] = []  # ro.product.model
    soc: list[str] = []
    abi: list[str] = []  # primary ABI
    labels: list[str] = []  # every label listed must be on the device

    def matches(self, info: DeviceInfo, labels: tuple[str, ...]) -> bool:
        summary = info.summary()

        def any_of(patterns: list[str], *values: object) -> bool:
            return not patterns or any(fnmatch.fnmatchcase(str(v), p) for p in patterns for v in values)

        return (
            any_of(self.serial, info.serial, summary.serialno)
            and any_of(self.model, summary.model)
            and any_of(self.soc, summary.soc)
            and any_of(self.abi, summary.abi)
            and all(label in labels for label in self.labels)
        )


class DeviceSettings(Frozen):
    labels: list[str] = []
    runner: Path | None = None  # benchmark_bin for this device (default: the farm's runner)
    work_dir: str | None = None  # where the per-run folder and the lock live (default: the farm's work_dir)
    allow_unknown_runner_version: bool = False  # run a runner that names no Paddle-Lite version (recorded)

    _dir = field_validator("work_dir")(lambda v: v if v is None else _safe_dir(v))


def _safe_dir(value: str) -> str:
    if not SAFE_DIR_RE.match(value) or "/../" in f"{value}/":
        raise ValueError(f"{value!r} must be an absolute device path of letters, digits, '_', '.', '-', '/'")
    return value.rstrip("/") or "/"


class Measurement(Frozen):
    """The farm's measurement settings; defaults are BenchSettings' (benchmark.latency.run), defined once there."""

    rounds: int = Field(default=_DEFAULTS.rounds, ge=1)
    repeats: int = Field(default=_DEFAULTS.repeats, ge=1)
    warmup: int = Field(default=_DEFAULTS.warmup, ge=0)
    round_timeout_s: float = Field(default=_DEFAULTS.round_timeout_s, gt=0)
    cooldown_s: float = Field(default=_DEFAULTS.cooldown_s, ge=0)
    cv_limit: float = Field(default=_DEFAULTS.cv_limit, gt=0)
    pin: Literal["none", "big", "prime"] = "none"


class Parity(Frozen):
    enabled: bool = True
    images: Path | None = None  # a folder of images; default: generated images
    max_images: int = Field(default=4, ge=1)


class Thresholds(Frozen):
    """A latency regression fails the gate when it exceeds both figures (the second accounts for the spread). Where
    both records count instructions (ARM emulated phones), those are gated instead: they are deterministic to about
    1e-6, so a rise beyond `instructions_percent` is a real change of the work done."""

    regression_percent: float = Field(default=5.0, gt=0)
    cv_factor: float = Field(default=3.0, ge=0)  # x the pooled coefficient of variation of the two records
    instructions_percent: float = Field(default=1.0, gt=0)


class LockSettings(Frozen):
    wait_s: float = Field(default=3600.0, ge=0)  # how long a worker waits for a device another run holds
    poll_s: float = Field(default=2.0, gt=0)
    stale_after_s: float = Field(default=7200.0, gt=0)  # older locks are broken (a holder that died elsewhere)


class FarmConfig(Frozen):
    servers: list[str] = Field(min_length=1)
    connect: list[Connect] = []
    select: Selector = Selector()
    devices: dict[str, DeviceSettings] = {}  # by ro.serialno or adb serial
    runner: Path | None = None
    work_dir: str = "/data/local/tmp"
    models: list[str] | None = None  # default: the whole zoo
    precisions: list[Precision] | None = None  # default: the zoo's per model
    measurement: Measurement = Measurement()
    parity: Parity = Parity()
    thresholds: Thresholds = Thresholds()
    history: str = "build/history.sqlite"  # a file path, sqlite:///PATH or postgresql://USER@HOST/DB
    lock: LockSettings = LockSettings()

    _servers = field_validator("servers")(lambda v: [_host_port(s) for s in v])
    _work = field_validator("work_dir")(_safe_dir)
    _models = field_validator("models")(lambda v: v if v is None else [check_model_name(m) for m in v])

    def settings_for(self, info: DeviceInfo) -> DeviceSettings:
        """Per-device settings by ro.serialno, else by adb serial; runner and work_dir filled from the defaults."""
        summary = info.summary()
        own = self.devices.get(str(summary.serialno)) or self.devices.get(info.serial) or DeviceSettings()
        return DeviceSettings(
            labels=own.labels,
            runner=own.runner or self.runner,
            work_dir=own.work_dir or self.work_dir,
            allow_unknown_runner_version=own.allow_unknown_runner_version,
        )


def load_farm(path: Path = DEFAULT_FARM) -> FarmConfig:
    raw = read_mapping(
        path,
        FarmError,
        missing="pass --farm PATH (see configs/farm.yaml)",
        top="servers, connect, select, devices, ...",
    )
    try:
        return FarmConfig.model_validate(raw)
    except ValidationError as e:
        raise FarmError(f"{path}: {problems(e)}") from None
