"""Device facts from one batched shell call: props, CPU clusters, thermal zones, battery (each adb call costs
~25 ms, so nothing is read one file at a time)."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field

from benchmark.records.parts import CpuFacts, DeviceSummary, ThermalZoneFacts

PROPS = (
    "ro.serialno",
    "ro.product.brand",
    "ro.product.model",
    "ro.product.device",
    "ro.board.platform",
    "ro.soc.model",
    "ro.soc.manufacturer",
    "ro.build.version.release",
    "ro.build.version.sdk",
    "ro.product.cpu.abi",
    "ro.product.cpu.abilist",
    "ro.toolkit.emulated",
    "ro.toolkit.qemu.cpu",
)

_CPU_LOOP = (
    "for c in /sys/devices/system/cpu/cpu[0-9]*; do n=${c##*/cpu}; "
    'echo "cpu|$n|$(cat $c/cpufreq/cpuinfo_min_freq 2>/dev/null)|$(cat $c/cpufreq/cpuinfo_max_freq 2>/dev/null)'
    '|$(cat $c/cpufreq/scaling_governor 2>/dev/null)"; done'
)
THERMAL_SCRIPT = (
    "for z in /sys/class/thermal/thermal_zone*; do "
    'echo "zone|${z##*thermal_zone}|$(cat $z/type 2>/dev/null)|$(cat $z/temp 2>/dev/null)"; done'
)
_BATTERY = (
    'echo "battery|$(cat /sys/class/power_supply/battery/capacity 2>/dev/null)'
    '|$(cat /sys/class/power_supply/battery/temp 2>/dev/null)"'
)


def info_script() -> str:
    props = "; ".join(f'echo "prop|{p}|$(getprop {shlex.quote(p)})"' for p in PROPS)
    return "; ".join([props, _CPU_LOOP, THERMAL_SCRIPT, _BATTERY])


@dataclass(frozen=True)
class Cpu:
    id: int
    min_khz: int | None
    max_khz: int | None
    governor: str | None


@dataclass(frozen=True)
class ThermalZone:
    id: int
    type: str
    temp_c: float | None


@dataclass(frozen=True)
class DeviceInfo:
    serial: str  # the adb connection serial
    props: dict[str, str]
    cpus: tuple[Cpu, ...]
    zones: tuple[ThermalZone, ...]
    battery_level: int | None
    battery_temp_c: float | None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def abis(self) -> list[str]:
        text = self.props.get("ro.product.cpu.abilist") or self.props.get("ro.product.cpu.abi", "")
        return [a for a in text.split(",") if a]

    @property
    def emulated(self) -> bool:
        return self.props.get("ro.toolkit.emulated") == "1"

    @property
    def qemu_cpu(self) -> str | None:
        """The QEMU CPU model of an ARM emulated phone (its programs run under qemu-aarch64); None elsewhere."""
        return self.props.get("ro.toolkit.qemu.cpu") or None

    @property
    def soc(self) -> str:
        return self.props.get("ro.soc.model") or self.props.get("ro.board.platform", "")

    def prime_cpus(self) -> list[int]:
        freqs = [c.max_khz for c in self.cpus if c.max_khz]
        top = max(freqs, default=None)
        return [c.id for c in self.cpus if top is not None and c.max_khz == top]

    def big_cpus(self) -> list[int]:
        """Cores with max freq >= (highest + lowest max) / 2, Paddle-Lite's own rule for unknown SoCs."""
        freqs = [c.max_khz for c in self.cpus if c.max_khz]
        if not freqs:
            return []
        cut = (max(freqs) + min(freqs)) / 2
        return [c.id for c in self.cpus if c.max_khz and c.max_khz >= cut]

    def summary(self) -> DeviceSummary:
        return DeviceSummary(
            serial=self.serial,
            serialno=self.props.get("ro.serialno", ""),
            brand=self.props.get("ro.product.brand", ""),
            model=self.props.get("ro.product.model", ""),
            device=self.props.get("ro.product.device", ""),
            soc=self.soc,
            soc_manufacturer=self.props.get("ro.soc.manufacturer", ""),
            board_platform=self.props.get("ro.board.platform", ""),
            abi=self.abis[0] if self.abis else "",
            abis=self.abis,
            android=self.props.get("ro.build.version.release", ""),
            sdk=self.props.get("ro.build.version.sdk", ""),
            emulated=self.emulated,
            qemu_cpu=self.qemu_cpu,
            cpus=[CpuFacts(**asdict(c)) for c in self.cpus],
            big_cpus=self.big_cpus(),
            prime_cpus=self.prime_cpus(),
            thermal_zones=[ThermalZoneFacts(**asdict(z)) for z in self.zones],
            battery_level=self.battery_level,
            battery_temp_c=self.battery_temp_c,
        )


def _num(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def celsius(raw: str) -> float | None:
    """Thermal zones report millidegrees on most devices and degrees on some old ones."""
    value = _num(raw)
    if value is None:
        return None
    return value / 1000.0 if abs(value) >= 1000 else float(value)


def parse_zones(text: str) -> tuple[ThermalZone, ...]:
    zones = []
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) == 4 and parts[0] == "zone" and (zid := _num(parts[1])) is not None:
            zones.append(ThermalZone(zid, parts[2].strip(), celsius(parts[3])))
    return tuple(sorted(zones, key=lambda z: z.id))


def parse_info(serial: str, text: str) -> DeviceInfo:
    props: dict[str, str] = {}
    cpus = []
    battery_level = None
    battery_temp = None
    for line in text.splitlines():
        parts = line.split("|")
        if parts[0] == "prop" and len(parts) >= 3:
            props[parts[1]] = "|".join(parts[2:]).strip()
        elif parts[0] == "cpu" and len(parts) == 5 and (cid := _num(parts[1])) is not None:
            cpus.append(Cpu(cid, _num(parts[2]), _num(parts[3]), parts[4].strip() or None))
        elif parts[0] == "battery" and len(parts) == 3:
            battery_level = _num(parts[1])
            t = _num(parts[2])
            battery_temp = t / 10.0 if t is not None else None
    return DeviceInfo(
        serial, props, tuple(sorted(cpus, key=lambda c: c.id)), parse_zones(text), battery_level, battery_temp
    )


def hottest_cpu_c(zones: tuple[ThermalZone, ...]) -> float | None:
    """The hottest CPU zone (types containing 'cpu'), else the hottest zone that is not the battery."""
    cpu = [z.temp_c for z in zones if z.temp_c is not None and "cpu" in z.type.lower()]
    if not cpu:
        cpu = [z.temp_c for z in zones if z.temp_c is not None and "batt" not in z.type.lower()]
    return max(cpu) if cpu else None
