"""Emulated phones (configs/emulated/*.yaml): what the device reports, and fault/behaviour knobs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from converter.base.errors import ToolkitError
from converter.base.strict import Frozen
from converter.base.yaml_files import problems, read_mapping

PHONES_DIR = Path(__file__).resolve().parents[2] / "configs" / "emulated"


class PhoneSpecError(ToolkitError):
    """An emulated phone's description is invalid."""


class CpuPart(Frozen):
    """What /proc/cpuinfo says of a cluster's cores (ARM's MIDR fields, as a phone's kernel prints them)."""

    implementer: str = Field(pattern=r"^0x[0-9a-f]+$")
    variant: str = Field(pattern=r"^0x[0-9a-f]+$")
    part: str = Field(pattern=r"^0x[0-9a-f]+$")
    revision: int = Field(ge=0)


class CacheLevel(Frozen):
    """One cache of a cluster's cores, as Linux lists it under cpuN/cache/indexK (and a cache simulator needs it):
    from the core's technical reference manual and the SoC's configuration."""

    level: int = Field(ge=1, le=3)
    type: Literal["Data", "Instruction", "Unified"]
    size_kb: int = Field(gt=0)
    ways: int = Field(gt=0)
    line_bytes: int = Field(default=64, gt=0)
    shared_by: int = Field(
        default=1, ge=1, description="cores sharing it: 1 private, the cluster's size for a shared L2"
    )


class Cluster(Frozen):
    cpus: list[int] = Field(min_length=1)
    min_khz: int = Field(gt=0)
    max_khz: int = Field(gt=0)
    governor: str = "schedutil"
    cpuinfo: CpuPart | None = None
    caches: list[CacheLevel] = []  # the cores' caches: sysfs entries (unless sysfs_caches is off) and cachecount's


class Zone(Frozen):
    type: str
    temp_mc: int  # millidegrees Celsius, as Android reports them
    cpu: bool = True  # heated by the runner


class Thermal(Frozen):
    zones: list[Zone]
    ambient_mc: int = 35000
    heat_mc_per_s: float = Field(default=0.0, ge=0, description="how fast CPU zones heat while a runner works")
    cool_tau_s: float = Field(default=5.0, gt=0, description="time constant of the cooling back to ambient")


class Battery(Frozen):
    level: int = 80
    temp_dc: int = 300  # tenths of a degree, as /sys/class/power_supply/battery/temp


class Runner(Frozen):
    """Behaviour of the emulated benchmark_bin (benchmark.emulated.runner)."""

    slowdown: float = Field(default=1.0, ge=1.0, description="each inference takes this many times longer")
    fixed_latency_ms: float | None = Field(default=None, gt=0, description="sleep this long instead of computing")
    hang: bool = False  # ignore SIGHUP and never finish
    exit_code: int = 0  # exit with this code after printing
    output: Literal["normal", "garbage", "truncated_perf", "no_perf"] = "normal"
    skip_output_files: bool = False  # accept --output_data_path/--result_path but write nothing
    version: str | None = None  # report this Paddle-Lite version instead of the runtime's
    silent_version: bool = False  # say no version at all: --version prints nothing, the report has no version line


class Storage(Frozen):
    free_bytes: int | None = Field(default=None, ge=0, description="pushes beyond this fail: no space left")
    read_only: bool = False
    hangup_on_stat_suffix: str | None = Field(
        default=None, min_length=1, description="close the sync stream unanswered on a STAT of such a path (unplugged)"
    )
    # Deterministic faults at a known point of a run (no test races a timer): when the harness starts pushing a
    # file whose path ends so, the device process exits (the phone is unplugged), or a process is killed (a farm
    # host's adb server going away).
    unplug_on_push_suffix: str | None = Field(default=None, min_length=1)
    kill_pid_on_push_suffix: tuple[int, str] | None = None


class Qemu(Frozen):
    """The device runs aarch64 programs through qemu-aarch64 (user mode), registered in its own binfmt_misc, with
    this CPU model (`max` has FP16 and dot product; `cortex-a53` has neither) and the aarch64 runtime libraries of
    Debian's cross packages as its sysroot."""

    cpu: str = Field(default="max", pattern=r"^[a-z0-9][a-z0-9.-]*$")
    sysroot: str = "/usr/aarch64-linux-gnu"


class BenchDefaults(Frozen):
    """Measurement defaults that fit the device (under QEMU one inference takes seconds, not milliseconds)."""

    rounds: int = Field(ge=1)
    repeats: int = Field(ge=1)
    warmup: int = Field(ge=0)


class PhoneSpec(Frozen):
    name: str
    state: Literal["device", "recovery", "unauthorized"] = "device"
    props: dict[str, str]
    clusters: list[Cluster]
    thermal: Thermal
    battery: Battery = Battery()
    runner: Runner = Runner()
    storage: Storage = Storage()
    cpu_features: str = "fp asimd evtstrm aes pmull sha1 sha2 crc32"  # /proc/cpuinfo Features
    sysfs_caches: bool = Field(
        default=True, description="list the clusters' caches in sysfs (off: the runtime sees none, as before)"
    )
    hardware: str | None = Field(
        default=None,
        description="/proc/cpuinfo's Hardware line, which Paddle-Lite matches against the SoCs it knows (default: "
        "Qualcomm Technologies, Inc <ro.soc.model>)",
    )
    qemu: Qemu | None = None  # None: the x86 device, whose runner is Paddle-Lite x86 on this host
    bench_defaults: BenchDefaults | None = None


def load_phone(path_or_name: str | Path) -> PhoneSpec:
    path = Path(path_or_name)
    if not path.suffix:
        path = PHONES_DIR / f"{path_or_name}.yaml"
    known = ", ".join(sorted(p.stem for p in PHONES_DIR.glob("*.yaml")))
    raw = read_mapping(path, PhoneSpecError, missing=f"known emulated phones: {known}", top="name, props, ...")
    try:
        return PhoneSpec.model_validate(raw)
    except ValidationError as e:
        raise PhoneSpecError(f"{path}: {problems(e)}") from None


def with_changes(phone: PhoneSpec, **changes: object) -> PhoneSpec:
    """A copy with nested changes, e.g. with_changes(p, runner={"hang": True}); validated again."""
    data = phone.model_dump()
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return PhoneSpec.model_validate(data)
