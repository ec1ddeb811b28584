"""The Android-looking file tree an emulated device serves: /data/local/tmp, /sdcard, /system/bin (sh, getprop,
taskset, pm and am shims), /sys cpufreq/thermal/battery entries and an ARM-like /proc/cpuinfo."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

from benchmark.emulated import arm_runtime
from benchmark.emulated.phone import Cluster, PhoneSpec
from benchmark.profile.plugin import CACHE_SOURCE, LIB_NAME, profile_plugin
from converter.base.errors import ToolkitError

log = logging.getLogger(__name__)

EMULATION_FILE = "system/etc/emulated_device.json"
QEMU_CPU_PROP = "ro.toolkit.qemu.cpu"
PLUGIN_PATH = "/system/emulator/libinsncount.so"  # QEMU's (x86-64) plugin, inside the device root
PROFILE_PLUGIN_PATH = "/system/emulator/libinsnprofile.so"  # the cost profile's plugin (benchmark/profile)
CACHE_PLUGIN_PATH = "/system/emulator/libcachesim.so"  # the data-cache simulator (cachecount)

_GETPROP = """#!/bin/sh
# getprop shim: reads /system/fake.prop (key=value lines)
props="$ANDROID_EMU_ROOT/system/fake.prop"
if [ $# -eq 0 ]; then
  while IFS='=' read -r k v; do printf '[%s]: [%s]\\n' "$k" "$v"; done < "$props"
  exit 0
fi
while IFS='=' read -r k v; do
  if [ "$k" = "$1" ]; then printf '%s\\n' "$v"; exit 0; fi
done < "$props"
printf '\\n'
"""

# The host has fewer CPUs than the emulated phone, so a real taskset would refuse the phone's masks.
_TASKSET = """#!/bin/sh
# taskset shim: accepts the phone's affinity mask, notes it, and runs the command unpinned on the host.
mask="$1"; shift
echo "$mask" > "$ANDROID_EMU_ROOT/data/local/tmp/.last_taskset_mask" 2>/dev/null
exec "$@"
"""


# pm / am shims: enough of the package manager and activity manager for `pm install -r -t APK`, `pm list
# packages`, `pm path PKG` and `am start -n PKG/.Activity`. The shim cannot read the binary manifest: it takes the
# package name from the APK's file name (PKG.apk, as android_demo.install pushes it); installs go to /data/app.
_PM = """#!/bin/sh
root="$ANDROID_EMU_ROOT"; db="$root/data/system/packages.list"
mkdir -p "$root/data/system" "$root/data/app"; touch "$db"
case "$1" in
  install)
    shift; while [ "${1#-}" != "$1" ]; do shift; done
    apk="$1"; [ -f "$apk" ] || apk="$root$1"
    if [ ! -f "$apk" ]; then
      echo "Error: Unable to open file: $1"; echo "Failure [INSTALL_FAILED_INVALID_URI]"; exit 1
    fi
    if [ "$(head -c 2 "$apk")" != "PK" ]; then echo "Failure [INSTALL_PARSE_FAILED_NOT_APK]"; exit 1; fi
    pkg=$(basename "$apk" .apk)
    mkdir -p "$root/data/app/$pkg-1" && cp "$apk" "$root/data/app/$pkg-1/base.apk"
    grep -v "^$pkg " "$db" > "$db.new"; echo "$pkg /data/app/$pkg-1/base.apk" >> "$db.new"; mv "$db.new" "$db"
    echo "Success";;
  list) while read -r pkg path; do echo "package:$pkg"; done < "$db";;
  path) grep "^$2 " "$db" | while read -r pkg path; do echo "package:$path"; done;;
  *) echo "pm shim: unsupported: $*" >&2; exit 1;;
esac
"""

_AM = """#!/bin/sh
root="$ANDROID_EMU_ROOT"; db="$root/data/system/packages.list"
if [ "$1" != start ] || [ "$2" != -n ]; then echo "am shim: unsupported: $*" >&2; exit 1; fi
pkg="${3%%/*}"
if ! grep -q "^$pkg " "$db" 2>/dev/null; then
  echo "Error: Activity not started, unable to resolve Intent { cmp=$3 }"; exit 1
fi
echo "$3" >> "$root/data/system/am_starts.log"
echo "Starting: Intent { cmp=$3 }"
"""


# insncount: the ARM emulated phone's instruction counter (a real phone would use simpleperf and the PMU). QEMU
# reads its options from QEMU_* variables, also when binfmt_misc starts it: -plugin, -d plugin, -D OUT.
_INSNCOUNT = f"""#!/bin/sh
# insncount OUT CMD [ARG...]: run CMD, an aarch64 program, with QEMU's instruction-count plugin, which writes
# "insns: N" (guest instructions executed by the whole process) to OUT.
if [ $# -lt 2 ]; then echo "usage: insncount OUT CMD [ARG...]" >&2; exit 2; fi
out="$1"; shift
QEMU_PLUGIN={PLUGIN_PATH} QEMU_LOG=plugin QEMU_LOG_FILENAME="$out" exec "$@"
"""


# insnprofile: the same, with the cost profile's plugin, which also splits the count at the markers (file offsets
# of kernel entry points in the runtime library, one hex number per line in MARKERS).
_INSNPROFILE = f"""#!/bin/sh
# insnprofile OUT MARKERS CMD [ARG...]: run CMD with QEMU's profile plugin; it writes "seg OFFSET N" lines and
# "insns: N" to OUT.
if [ $# -lt 3 ]; then echo "usage: insnprofile OUT MARKERS CMD [ARG...]" >&2; exit 2; fi
out="$1"; markers="$2"; shift 2
QEMU_PLUGIN="{PROFILE_PLUGIN_PATH},markers=$markers,lib={LIB_NAME}" QEMU_LOG=plugin QEMU_LOG_FILENAME="$out" exec "$@"
"""


# cachecount: the same counter with the data-cache simulator (benchmark/profile/cachesim.c) and the geometry of the
# phone's big core (its fastest cluster's L1D, L2 and L3): what a memory-aware cost model needs beside the count.
_CACHECOUNT = """#!/bin/sh
# cachecount OUT CMD [ARG...]: run CMD with QEMU's cache-simulating plugin; it writes "insns: N", "accesses: N" and
# "l1_misses: N" .. "l3_misses: N" (demand misses) and "dram_lines: N" (whole process, this phone's big core:
# {geometry}) to OUT.
if [ "$1" = --geometry ]; then echo "{geometry}"; exit 0; fi
if [ $# -lt 2 ]; then echo "usage: cachecount OUT CMD [ARG...] | cachecount --geometry" >&2; exit 2; fi
out="$1"; shift
QEMU_PLUGIN="{plugin},{geometry}" QEMU_LOG=plugin QEMU_LOG_FILENAME="$out" exec "$@"
"""


# The simulated stride prefetcher (cachesim.c): 8 streams, each filling 4 lines ahead. The A53's L1D prefetcher
# detects strides of up to 4 lines either way (its TRM); bigger cores prefetch more aggressively than this, so the
# demand misses it leaves are an upper bound. DRAM lines (demand and prefetched) count the traffic either way.
PREFETCHER = "pf=8:4"


def cache_geometry(phone: PhoneSpec) -> str | None:
    """cachesim's arguments for the big core (l1=KB:WAYS:LINE,l2=...,l3=...,pf=STREAMS:DEGREE), or None without
    listed caches."""
    big = max(phone.clusters, key=lambda c: c.max_khz)
    data = sorted((c for c in big.caches if c.type != "Instruction"), key=lambda c: c.level)
    if not data:
        return None
    return ",".join([*(f"l{c.level}={c.size_kb}:{c.ways}:{c.line_bytes}" for c in data), PREFETCHER])


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _install_profiler(root: Path) -> None:
    """`insnprofile` on an ARM emulated phone, when the host can build its plugin (else the phone has none and a
    profile request says so)."""
    try:
        plugin = profile_plugin()
    except ToolkitError as e:
        log.warning("warning: no cost profile on this emulated phone: %s", e)
        return
    shutil.copyfile(plugin, root / PROFILE_PLUGIN_PATH.lstrip("/"))
    _write(root / "system/bin/insnprofile", _INSNPROFILE, 0o755)


def _install_cache_counter(root: Path, phone: PhoneSpec) -> None:
    """`cachecount` on an ARM emulated phone that lists its caches (and whose host can build the plugin)."""
    geometry = cache_geometry(phone)
    if geometry is None:
        return
    try:
        plugin = profile_plugin(source=CACHE_SOURCE)
    except ToolkitError as e:
        log.warning("warning: no cache counter on this emulated phone: %s", e)
        return
    shutil.copyfile(plugin, root / CACHE_PLUGIN_PATH.lstrip("/"))
    _write(root / "system/bin/cachecount", _CACHECOUNT.format(plugin=CACHE_PLUGIN_PATH, geometry=geometry), 0o755)


def cpu_zone_paths(root: Path, phone: PhoneSpec) -> list[Path]:
    return [root / f"sys/class/thermal/thermal_zone{i}/temp" for i, z in enumerate(phone.thermal.zones) if z.cpu]


def build_tree(root: Path, phone: PhoneSpec) -> None:
    # Long but flat: one write per file of the device's tree, in the order a reader of /system, /proc, /sys expects.
    for d in ("data/local/tmp", "sdcard", "system/bin", "system/etc", "vendor", "proc"):
        (root / d).mkdir(parents=True, exist_ok=True)
    props = {**phone.props, **({QEMU_CPU_PROP: phone.qemu.cpu} if phone.qemu else {})}
    _write(root / "system/fake.prop", "".join(f"{k}={v}\n" for k, v in props.items()))
    _write(root / "system/bin/getprop", _GETPROP, 0o755)
    _write(root / "system/bin/taskset", _TASKSET, 0o755)
    _write(root / "system/bin/pm", _PM, 0o755)
    _write(root / "system/bin/am", _AM, 0o755)
    sh = root / "system/bin/sh"
    if not sh.exists():
        sh.symlink_to("/bin/sh")
    _write(root / EMULATION_FILE, json.dumps(phone.model_dump(), indent=2))
    plugin = arm_runtime.insn_plugin()
    if phone.qemu and plugin is not None:
        target = root / PLUGIN_PATH.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plugin, target)
        _write(root / "system/bin/insncount", _INSNCOUNT, 0o755)
        _install_profiler(root)
        _install_cache_counter(root, phone)

    cpus = sorted(c for cl in phone.clusters for c in cl.cpus)
    cpu_dir = root / "sys/devices/system/cpu"
    for name in ("possible", "present", "online"):
        _write(cpu_dir / name, f"{cpus[0]}-{cpus[-1]}\n")
    for cluster_id, cl in enumerate(phone.clusters):
        related = " ".join(map(str, cl.cpus))
        for c in cl.cpus:
            base = cpu_dir / f"cpu{c}"
            _write(base / "online", "1\n")
            # Paddle-Lite counts cores by these files (get_cpu_num), as ncnn does
            _write(
                base / "uevent",
                f"OF_NAME=cpu\nOF_FULLNAME=/cpus/cpu@{c}\nOF_COMPATIBLE_0=arm,armv8\nOF_COMPATIBLE_N=1\n",
            )
            _write(base / "topology/cluster_id", f"{cluster_id}\n")
            freq = base / "cpufreq"
            for key, value in (
                ("cpuinfo_min_freq", cl.min_khz),
                ("cpuinfo_max_freq", cl.max_khz),
                ("scaling_min_freq", cl.min_khz),
                ("scaling_max_freq", cl.max_khz),
                ("scaling_cur_freq", cl.max_khz),
            ):
                _write(freq / key, f"{value}\n")
            _write(freq / "scaling_governor", f"{cl.governor}\n")
            _write(freq / "related_cpus", f"{related}\n")
            if phone.sysfs_caches:
                _write_caches(base / "cache", cl, c)
    for i, zone in enumerate(phone.thermal.zones):
        zdir = root / f"sys/devices/virtual/thermal/thermal_zone{i}"
        _write(zdir / "type", f"{zone.type}\n")
        _write(zdir / "temp", f"{zone.temp_mc}\n")
        link = root / f"sys/class/thermal/thermal_zone{i}"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(f"../../devices/virtual/thermal/thermal_zone{i}")
    bat = root / "sys/class/power_supply/battery"
    _write(bat / "capacity", f"{phone.battery.level}\n")
    _write(bat / "temp", f"{phone.battery.temp_dc}\n")
    text = cpuinfo_text(phone)
    _write(root / "system/etc/cpuinfo", text)  # bind-mounted over /proc/cpuinfo in namespace mode
    if not (root / "proc/cpuinfo").is_mount():
        _write(root / "proc/cpuinfo", text)


def cpuinfo_text(phone: PhoneSpec) -> str:
    """/proc/cpuinfo as an arm64 Android kernel prints it: one block per core (with the cluster's MIDR fields when
    the phone gives them), then the Hardware line that Paddle-Lite matches against the SoCs it knows."""
    lines = []
    for cl in phone.clusters:
        for c in cl.cpus:
            lines += [f"processor\t: {c}", "BogoMIPS\t: 38.40", f"Features\t: {phone.cpu_features}"]
            if cl.cpuinfo is not None:
                p = cl.cpuinfo
                lines += [
                    f"CPU implementer\t: {p.implementer}",
                    "CPU architecture: 8",
                    f"CPU variant\t: {p.variant}",
                    f"CPU part\t: {p.part}",
                    f"CPU revision\t: {p.revision}",
                ]
            else:
                lines += ["CPU implementer\t: 0x51", "CPU architecture: 8"]
            lines.append("")
    hardware = phone.hardware or f"Qualcomm Technologies, Inc {phone.props.get('ro.soc.model', 'SM8150')}"
    lines.append(f"Hardware\t: {hardware}")
    return "\n".join(lines) + "\n"


def _write_caches(folder: Path, cl: Cluster, cpu: int) -> None:
    """cpuN/cache/indexK as Linux lists a core's caches (runtimes that do not know the SoC read these)."""
    for k, cache in enumerate(cl.caches):
        first = cl.cpus.index(cpu) // cache.shared_by * cache.shared_by
        shared = cl.cpus[first : first + cache.shared_by]
        index = folder / f"index{k}"
        for key, value in (
            ("level", cache.level),
            ("type", cache.type),
            ("size", f"{cache.size_kb}K"),
            ("ways_of_associativity", cache.ways),
            ("coherency_line_size", cache.line_bytes),
            ("number_of_sets", cache.size_kb * 1024 // (cache.ways * cache.line_bytes)),
            ("shared_cpu_list", ",".join(map(str, shared))),
        ):
            _write(index / key, f"{value}\n")


def read_temp(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def heat(root: Path, phone: PhoneSpec, seconds: float) -> None:
    """Runner work: raise CPU zones by heat_mc_per_s x seconds."""
    rate = phone.thermal.heat_mc_per_s
    if rate <= 0 or seconds <= 0:
        return
    for path in cpu_zone_paths(root, phone):
        t = read_temp(path)
        if t is not None:
            path.write_text(f"{int(t + rate * seconds)}\n")


def cool(root: Path, phone: PhoneSpec, seconds: float) -> None:
    """Exponential decay of CPU zones toward ambient."""
    ambient = phone.thermal.ambient_mc
    k = math.exp(-seconds / phone.thermal.cool_tau_s)
    for path in cpu_zone_paths(root, phone):
        t = read_temp(path)
        if t is not None and t != ambient:
            new = ambient + (t - ambient) * k
            path.write_text(f"{int(round(new))}\n")
