"""Every published phone class has its ARM emulated phone: the class's figures in configs/phone_figures.yaml (Paddle-
Lite's own table), and a phone on which the real Paddle-Lite ARM runtime takes that SoC's path. Paddle-Lite picks its
kernels, fp16 and dot-product paths and GEMM blocking from the SoC it recognises in /proc/cpuinfo (or, for a SoC it
does not know, from the cores' MIDR and sysfs caches), so the check is what the runtime itself logs on each phone:
the big core it found is the class's core."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmark.emulated.phone import PHONES_DIR, load_phone
from benchmark.profile.calibrate import published
from benchmark.records.run_files import read_latency_records
from benchmark.records.runs import LatencyRun
from converter.cli.main import main as convert_main
from converter.schema.zoo import load_zoo
from tests.conftest import HUMAN_V1, built_once
from tests.runs import latest

bench_cli = importlib.import_module("benchmark.cli.main")
ARM_PHONES = sorted(p.stem for p in PHONES_DIR.glob("*-arm.yaml"))
NO_FP16 = ("cortex-a53", "cortex-a72")  # QEMU CPU models without ARMv8.2 FP16 arithmetic


def _core(text: str) -> str:
    """'Cortex-A77 (Kryo 585 Prime), ...' -> 'A77'."""
    found = re.search(r"Cortex-(A\d+)", text)
    assert found is not None, text
    return found.group(1)


def test_every_published_class_has_its_phone_and_the_phone_its_figures() -> None:
    classes = published(load_zoo())
    phones = {load_phone(p).props["ro.soc.model"]: load_phone(p) for p in ARM_PHONES}
    assert set(classes) == set(phones), "a published class without an emulated phone, or a phone without figures"
    for soc, phone in phones.items():
        assert phone.qemu is not None
        fp16 = [f for f in classes[soc].figures if f.precision == "fp16"]
        assert not (fp16 and phone.qemu.cpu in NO_FP16), f"{soc}: fp16 figures on a CPU model without FP16"
        big = max(phone.clusters, key=lambda c: c.max_khz)
        if (
            soc != "MSM8953"
        ):  # sd625-arm is shaped like a Redmi Note 4 (2.02 GHz), the table's phone a Redmi 6 Pro (1.8)
            assert abs(big.max_khz / 1000 - classes[soc].clock_mhz) < 1, f"{soc}: the phone's clock is not the table's"
        assert big.caches and big.caches[0].type == "Data" or soc in ("SM8150", "MSM8953"), soc


@pytest.fixture(scope="module")
def small(tiny_models: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    def build(out: Path) -> None:
        argv = ["model", str(tiny_models("small")), "--name", "small", "--out", str(out), "--precision", "fp32"]
        assert convert_main(argv) == 0

    return built_once(tmp_path_factory, "phone-classes-small", build)


@pytest.mark.slow
@pytest.mark.parametrize("phone", ARM_PHONES)
def test_the_runtime_takes_the_class_path_on_its_phone(  # type: ignore[no-untyped-def]
    phone: str, arm_runtime, small: Path, tmp_path: Path, capsys
) -> None:
    spec = load_phone(phone)
    core = _core(published(load_zoo())[spec.props["ro.soc.model"]].core)
    argv = ["bench-emulated", "--phone", phone, "--converted", "small", "--out", str(small), "--precision", "fp32"]
    argv += ["--rounds", "1", "--repeats", "1", "--warmup", "0", "--no-parity", "--reports", str(tmp_path)]
    assert bench_cli.main(argv) == 0, capsys.readouterr().err
    (rec,) = latest(tmp_path, LatencyRun).records
    assert rec.runtime_cpu is not None and rec.instructions_per_inference
    archs = rec.runtime_cpu.core_archs
    big = max(spec.clusters, key=lambda c: c.max_khz)
    assert [archs[c].lstrip("A-") for c in big.cpus] == [core.lstrip("A")] * len(big.cpus), (phone, archs)


@pytest.mark.slow
def test_profile_arm_estimates_one_model_on_every_class_it_ran(  # type: ignore[no-untyped-def]
    arm_runtime, models_dir: Path, bench_out: Path, tmp_path: Path, capsys
) -> None:
    """`profile-arm --phone a,b,c`: the same variant profiled on each class's phone, then one row with the estimate
    on every class; a class without a calibrated cost model says so (nothing is ever shown as measured)."""
    from benchmark.profile.cost_model import load_cost_model

    phones = ["sd855-arm", "sd625-arm", "kirin980-arm"]
    argv = ["profile-arm", "--phone", ",".join(phones), "--models", HUMAN_V1, "--models-dir", str(models_dir)]
    argv += ["--out", str(bench_out), "--offline", "--precision", "fp32", "--reports", str(tmp_path)]
    assert bench_cli.main(argv) == 0  # a real model: the tiny one is too small for its profile to cover its count
    lines = capsys.readouterr().out.split("estimated phone latency by class", 1)[1].splitlines()
    classes = lines[1].split()[2:]  # "model variant" then the classes, sorted
    row = next(ln for ln in lines if ln.strip().startswith(f"{HUMAN_V1} fp32"))
    cells = [row[2 + 44 + 23 * i : 2 + 44 + 23 * (i + 1)].strip() for i in range(len(classes))]
    assert sorted(classes) == sorted(load_phone(p).props["ro.soc.model"] for p in phones)
    for soc, cell in zip(classes, cells, strict=True):
        model = load_cost_model(soc)
        if model is None or not model.calibrated:
            assert cell == "no cost model yet", (soc, cell)
        else:
            assert re.fullmatch(r"\d+\.\d±\d+% \d+fps (yes|likely|no)", cell), (soc, cell)
    # the SD625's model counts memory: its profile simulated the caches by itself, and its estimate says so
    recs = [r for f in sorted(tmp_path.glob("latency-*.json")) for r in read_latency_records(f)]
    (a53,) = [r for r in recs if r.device.soc == "MSM8953"]
    assert a53.memory_traffic is not None and a53.memory_traffic.dram_lines
    assert a53.estimate is not None and a53.estimate.cost_model.endswith("+ memory")
    others = [r for r in recs if r.device.soc != "MSM8953"]
    assert others and all(r.memory_traffic is None for r in others)  # no simulation where no model needs it
