from __future__ import annotations

from benchmark.device.info import celsius, hottest_cpu_c, info_script, parse_info

SAMPLE = """prop|ro.serialno|a1b2c3
prop|ro.product.model|Pixel 6
prop|ro.product.cpu.abilist|arm64-v8a,armeabi-v7a,armeabi
prop|ro.soc.model|
prop|ro.board.platform|gs101
cpu|0|300000|1803000|sched_pixel
cpu|1|300000|1803000|sched_pixel
cpu|4|400000|2253000|sched_pixel
cpu|5|400000|2253000|sched_pixel
cpu|6|500000|2802000|sched_pixel
cpu|7|500000|2802000|sched_pixel
zone|0|BIG|48125
zone|1|MID|41000
zone|2|battery|31000
zone|3|cpu_therm|39
battery|73|312
"""


def test_parse_batched_output() -> None:
    info = parse_info("R5CT", SAMPLE)
    assert info.abis == ["arm64-v8a", "armeabi-v7a", "armeabi"]
    assert info.soc == "gs101"  # ro.soc.model is empty before Android 12: fall back to the platform
    assert info.prime_cpus() == [6, 7]
    assert info.big_cpus() == [6, 7]  # >= (2802000 + 1803000) / 2
    assert [z.temp_c for z in info.zones] == [48.125, 41.0, 31.0, 39.0]  # millidegrees and plain degrees
    assert (info.battery_level, info.battery_temp_c) == (73, 31.2)
    assert hottest_cpu_c(info.zones) == 39.0  # only zones typed as CPU count when there are any
    assert not info.emulated


def test_zone_fallback_and_units() -> None:
    info = parse_info("x", "zone|0|tsens_tz_sensor1|52000\nzone|1|battery|60000\n")
    assert hottest_cpu_c(info.zones) == 52.0  # no "cpu" zone: hottest non-battery zone
    assert celsius("35") == 35.0 and celsius("35000") == 35.0 and celsius("n/a") is None


def test_info_is_one_command() -> None:
    script = info_script()
    assert "getprop 'ro.product.model'" in script or "getprop ro.product.model" in script
    assert "/sys/class/thermal/thermal_zone*" in script and "cpuinfo_max_freq" in script
