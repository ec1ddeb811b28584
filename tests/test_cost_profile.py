"""The ARM cost profile and the latency estimate: attribution of plugin segments to ops and families, the cost model
fit (recovering known rates, leave-one-out), calibrate with and without phone records, and end to end on the real ARM
runtime under QEMU: a paddle.vision classifier with random weights converted in fp32/fp16/int8 and profiled on the
sd855-arm phone, whose families add up to the instruction count and which gets an estimate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchmark.cli import main as bench_main
from benchmark.profile import plugin
from benchmark.profile.attribution import CostProfileError, attribute
from benchmark.profile.cost_model import CostModel, FitPoint, group_of, load_cost_model
from benchmark.profile.estimate import estimate_latency
from benchmark.profile.fit import FitError, fit
from benchmark.profile.kernel_map import KernelMap, Marker, kernel_map
from benchmark.records.run_files import write_run
from benchmark.records.runs import LatencyRun
from benchmark.records.types import LatencyRecord
from converter.cli.main import main as convert_main
from converter.nb.program import NbOp, NbProgram
from tests.runs import read_as

REPO = Path(__file__).resolve().parents[1]
RUN, CONV, GEMM, ADD, API, HELPER = 0x10, 0x20, 0x30, 0x40, 0x50, 0x60
KMAP = KernelMap(
    "lib",
    "sha",
    {
        RUN: Marker("program_run", ("RuntimeProgram::Run",)),
        CONV: Marker("kernel", ("arm::ConvCompute<1,1>",)),
        GEMM: Marker("kernel", ("arm::GemmLikeConv<1,1>",)),
        ADD: Marker("kernel", ("arm::ElementwiseAddCompute<1>",)),
        API: Marker("api", ("GetOutput",)),
        HELPER: Marker("helper", ("_ZN6paddle4lite3arm4math7softmax",)),
    },
)


def _op(i: int, type_: str, out: str, **inputs: tuple[str, ...]) -> NbOp:
    return NbOp(i, type_, f"{type_}/def/4/1/1", inputs, {"Out": (out,)}, {"groups": 1})


PROGRAM = NbProgram(
    (
        NbOp(0, "feed", "feed/def/1/4/2", {}, {"Out": ("x",)}),
        _op(1, "conv2d", "c1", Filter=("w",)),
        _op(2, "elementwise_add", "a1"),
        NbOp(3, "fetch", "", {}, {"Out": ("y",)}),
    ),
    {"w": (16, 8, 1, 1)},
)


def _segments(*segs: tuple[int | None, int]) -> str:
    return "".join(f"seg {'-' if m is None else format(m, 'x')} {n}\n" for m, n in segs)


def _three_runs(body: list[tuple[int | None, int]]) -> str:
    return _segments((None, 5000), *([(RUN, 10), *body] * 3), (API, 900))


def test_segments_are_attributed_to_ops_and_families() -> None:
    text = _three_runs([(CONV, 5), (GEMM, 1000), (HELPER, 300), (ADD, 200), (API, 7)])
    p = attribute(text, KMAP, PROGRAM, per_inference=1522)
    assert p.ops_matched and [o.name for o in p.ops] == ["c1", "a1"]
    conv, add = p.ops
    assert conv.insns == 1305 and conv.algorithm == "arm::GemmLikeConv<1,1>" and conv.family == "conv 1x1"
    assert add.insns == 200 and add.family == "elementwise"
    assert p.families == {"conv 1x1": 1305, "elementwise": 200, "runtime": 17}
    assert p.profiled_insns == 1522 and p.sum_error == 0.0


def test_unmatched_kernels_keep_the_families_and_a_far_sum_fails() -> None:
    text = _three_runs([(ADD, 100), (ADD, 100), (ADD, 100)])
    p = attribute(text, KMAP, PROGRAM, per_inference=310)
    assert not p.ops_matched and p.ops == [] and "3 kernels ran for the program's 2 ops" in (p.note or "")
    assert p.families["unmatched arm::ElementwiseAddCompute"] == 300
    with pytest.raises(CostProfileError, match="away from the count"):
        attribute(text, KMAP, PROGRAM, per_inference=400)
    with pytest.raises(CostProfileError, match="2 time"):
        attribute(_segments((RUN, 1), (ADD, 1), (RUN, 1), (ADD, 1)), KMAP, PROGRAM, per_inference=2)


def _point(name: str, groups: dict[str, int], ipc: dict[str, float], clock_mhz: float) -> FitPoint:
    ms = sum(n / (ipc[g] * clock_mhz * 1000) for g, n in groups.items())
    return FitPoint(model=name, precision="fp32", phone_ms=ms, source="synthetic", groups=groups)


def test_the_fit_recovers_known_rates_and_reports_leave_one_out() -> None:
    ipc = {"dense fp32": 2.5, "depthwise fp32": 0.8, "memory": 0.4}
    groups = [(60e6, 10e6, 8e6), (20e6, 15e6, 2e6), (90e6, 2e6, 20e6), (30e6, 30e6, 30e6), (5e6, 1e6, 9e6)]
    points = [
        _point(f"m{i}", {"dense fp32": int(a), "depthwise fp32": int(b), "memory": int(c)}, ipc, 2841.6)
        for i, (a, b, c) in enumerate(groups)
    ]
    template = CostModel(name="t", device_class="X", soc="s", core="c", clock_mhz=2841.6, ipc={})
    model = fit(template, points, prior={"dense fp16": 3.0})
    assert {g: model.ipc[g] for g in ipc} == pytest.approx(ipc, rel=1e-3)
    assert model.ipc["dense fp16"] == 3.0  # no figure exercises it: the prior's rate
    assert model.ipc["dense int8"] == pytest.approx(0.4, rel=1e-3)  # no prior either: the slowest fitted rate
    assert model.fit_rms_pct is not None and model.fit_rms_pct < 0.1
    assert model.loo_rms_pct is not None and model.loo_rms_pct < 0.1
    # a group no figure exercises gets the slowest fitted rate, never an infinite one
    noisy = [
        p.model_copy(update={"phone_ms": p.phone_ms * f})
        for p, f in zip(points, (1.1, 0.9, 1.05, 1, 0.95), strict=True)
    ]
    model = fit(template, noisy)
    assert all(v > 0 for v in model.ipc.values()) and (model.loo_max_pct or 0) > 0
    with pytest.raises(FitError, match="at least 2"):
        fit(template, points[:1])
    # figures the profiles cannot explain: the fit is kept for reading but makes no estimate
    wild = [
        p.model_copy(update={"phone_ms": p.phone_ms * f}) for p, f in zip(points, (3, 0.3, 1, 2.5, 0.4), strict=True)
    ]
    model = fit(template, wild)
    assert (
        not model.calibrated and "uncalibrated" in (model.note or "") and model.estimate_ms({"memory": 10**6}) is None
    )


def test_the_fit_recovers_a_fixed_cost_per_op_and_each_op_gets_a_time() -> None:
    """Small many-op networks: time that does not grow with instructions is a fixed cost per op, which the fit
    recovers beside the rates when the points record their ops; each op's time is its share plus that cost."""
    ipc, clock, op_us = {"dense fp32": 2.5, "depthwise fp32": 0.8, "memory": 0.4}, 2841.6, 8.0
    shapes = [(60e6, 10e6, 8e6, 30), (20e6, 15e6, 2e6, 120), (90e6, 2e6, 20e6, 60), (5e6, 1e6, 2e6, 150),
              (30e6, 30e6, 30e6, 40), (8e6, 4e6, 3e6, 90)]  # fmt: skip
    points = []
    for i, (a, b, c, ops) in enumerate(shapes):
        groups = {"dense fp32": int(a), "depthwise fp32": int(b), "memory": int(c)}
        p = _point(f"m{i}", groups, ipc, clock)
        points.append(p.model_copy(update={"phone_ms": p.phone_ms + ops * op_us / 1000, "ops": ops}))
    template = CostModel(name="t", device_class="X", soc="s", core="c", clock_mhz=clock, ipc={})
    model = fit(template, points)
    assert model.op_us == pytest.approx(op_us, rel=1e-3) and model.loo_rms_pct is not None and model.loo_rms_pct < 0.1
    assert {g: model.ipc[g] for g in ipc} == pytest.approx(ipc, rel=1e-3)
    without = fit(template, points, per_op=False)  # the same figures through rates alone miss the small networks
    assert without.op_us == 0 and (without.loo_max_pct or 0) > 5 * (model.loo_max_pct or 0) + 1
    us = model.op_us_of("conv depthwise", 1_000_000)
    assert us == pytest.approx(1e6 / (0.8 * clock) + op_us, rel=1e-3)


def _rec(**fields: object) -> LatencyRecord:
    return LatencyRecord.model_validate(
        {"model": "netA", "precision": "fp32", "status": "ok", "input_shape": [1, 3, 224, 224], **fields}
    )


def test_calibrate_without_phone_records_shows_the_shipped_fit(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert bench_main(["calibrate", "--reports", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "no phone records" in out and "SM8150" in out and "leave-one-out RMS" in out
    shipped = load_cost_model("SM8150")
    assert shipped is not None and shipped.calibrated and shipped.loo_rms_pct is not None
    assert len(shipped.points) >= 3 and all(p.loo_est_ms for p in shipped.points)


def test_calibrate_refits_from_a_users_phone_records(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COST_MODELS_DIR", str(tmp_path / "models"))
    reports = tmp_path / "reports"
    reports.mkdir()
    soc = {"serial": "PHONE1", "soc": "SM8150"}
    recs = []
    for name, dense, other, ms in (("netA", 50e6, 20e6, 12.0), ("netB", 100e6, 10e6, 16.0), ("netC", 10e6, 40e6, 20.0)):
        recs.append(_rec(model=name, device=soc, median_ms=ms, finished_at="2026-12-01T00:00:00+00:00"))
        profile = {
            "method": "m", "library_sha256": "s", "per_inference_insns": int(dense + other),
            "profiled_insns": int(dense + other), "sum_error": 0.0, "runtime_insns": 0,
            "families": {"conv 1x1": int(dense), "pool": int(other)}, "ops_matched": False,
        }  # fmt: skip
        recs.append(_rec(model=name, device={**soc, "serial": "EMU"}, emulated=True, cost_profile=profile))
    write_run(reports / "latency-20261201T000000Z.json", LatencyRun(records=recs))
    assert bench_main(["calibrate", "--reports", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "user-fit" in out and "netC" in out and "written" in out
    model = load_cost_model("SM8150")
    assert model is not None and model.name == "user-fit" and len(model.points) == 3
    assert model.points[0].source.startswith("measured: ")


def test_a_broken_cost_model_file_is_one_line_and_keeps_the_record(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COST_MODELS_DIR", str(tmp_path))
    (tmp_path / "SM8150.yaml").write_text("device_class: SM8150\nipc: [unclosed\n")
    assert bench_main(["calibrate", "--reports", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SM8150.yaml is not valid" in err and "delete it" in err
    assert bench_main(["profile-arm", "--converted", "x", "--out", str(tmp_path)]) == 2  # before any device starts
    assert "SM8150.yaml is not valid" in capsys.readouterr().err
    profile = {
        "method": "m", "library_sha256": "s", "per_inference_insns": 10, "profiled_insns": 10, "sum_error": 0.0,
        "runtime_insns": 0, "families": {"pool": 10}, "ops_matched": False,
    }  # fmt: skip
    rec = _rec(model="m", device={"serial": "EMU", "soc": "SM8150"}, emulated=True, cost_profile=profile)
    estimate_latency(rec)  # a measured record is never lost to a bad cost model: it only has no estimate
    assert rec.estimate is None and any("SM8150.yaml is not valid" in w for w in rec.warnings)
    # a refit of the older model (one depthwise rate for every precision) is named as such, not misused
    old = {"dense fp32": 2.0, "dense fp16": 2.0, "dense int8": 2.0, "depthwise": 1.0, "memory": 1.0}
    (tmp_path / "SM8150.yaml").write_text(
        yaml.safe_dump({"name": "user-fit", "device_class": "SM8150", "soc": "s", "core": "c", "clock_mhz": 2841.6,
                        "ipc": old})
    )  # fmt: skip
    assert bench_main(["calibrate", "--reports", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a fit of an older version" in err and "make calibrate" in err


def test_depthwise_and_dense_kernels_have_a_rate_per_precision() -> None:
    assert [group_of(f) for f in ("conv 1x1", "conv 3x3 fp16", "gemm int8")] == [
        "dense fp32",
        "dense fp16",
        "dense int8",
    ]
    assert [group_of(f) for f in ("conv depthwise", "conv depthwise fp16", "conv depthwise int8")] == [
        "depthwise fp32", "depthwise fp16", "depthwise int8"
    ]  # fmt: skip
    assert group_of("pool") == group_of("interp int8") == group_of("runtime") == "memory"


# --- on the real ARM runtime (QEMU) ---------------------------------------------------------------------------


def test_the_runtime_library_maps_its_kernels(arm_runtime: Path) -> None:
    kmap = kernel_map(arm_runtime / "fp16" / "libpaddle_light_api_shared.so")
    names = {n for m in kmap.markers.values() for n in m.names}
    assert {"arm::GemmLikeConv<1,1>", "arm::DepthwiseConv<1,1>", "arm::GemmLikeConv<5,5>"} <= names
    assert sum(m.kind == "program_run" for m in kmap.markers.values()) == 1


def _profile(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = bench_main(["profile-arm", *args])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out, cap.err


@pytest.mark.slow
def test_a_vision_classifier_is_profiled_and_estimated(arm_runtime, data_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    export = tmp_path / "mobilenet_v3_small"
    export.mkdir()
    r = subprocess.run(
        [sys.executable, str(REPO / "tests" / "vision_exports.py"), "mobilenet_v3_small", str(export)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    out, reports = tmp_path / "models", tmp_path / "reports"
    calib = data_dir / "pphumanseg_demo_images"
    rc = convert_main(
        ["model", str(export), "--out", str(out), "--targets", "arm", "--precision", "fp32,fp16,int8",
         "--calib", str(calib), "--calib-per-image", "1"]
    )  # fmt: skip
    assert rc == 0
    args = ["--converted", "mobilenet_v3_small", "--out", str(out), "--reports", str(reports)]
    rc, stdout, _ = _profile(args, capsys)
    assert rc == 0, stdout
    run = read_as(next(reports.glob("latency-*.json")), LatencyRun)
    recs = {r.precision: r for r in run.records}
    assert set(recs) == {"fp32", "fp16", "int8"}
    for precision, rec in recs.items():
        cp = rec.cost_profile
        assert rec.status == "ok" and cp.ops_matched, (precision, cp.note)
        assert abs(sum(cp.families.values()) - rec.instructions_per_inference) <= 0.01 * cp.per_inference_insns
        assert rec.instruction_count.repeats == [1, 3]  # the profiled run: 3 inferences against the count's 1
        est = rec.estimate
        assert est.est_latency_ms > 0 and est.device_class == "SM8150" and est.error_band_pct is not None
        # every op has its own estimated time, and the ops plus the runtime between them are the model's estimate
        model = load_cost_model("SM8150")
        assert all(o.est_us is not None and o.est_us > 0 for o in cp.ops)
        runtime_us = cp.runtime_insns / (model.ipc["memory"] * model.clock_mhz)
        assert (sum(o.est_us for o in cp.ops) + runtime_us) / 1000 == pytest.approx(est.est_latency_ms, rel=1e-3)
    assert any(f.endswith(" int8") for f in recs["int8"].cost_profile.families)
    assert any(f.endswith(" fp16") for f in recs["fp16"].cost_profile.families)
    fp32, int8 = recs["fp32"].instructions_per_inference, recs["int8"].instructions_per_inference
    assert int8 < fp32  # full int8 does less ARM work than fp32
    assert "costliest ops (by estimated phone time)" in stdout and "estimated phone latency" in stdout


def test_profile_arm_bad_input_is_one_line_and_exit_2(arm_runtime, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = _profile(["--profile", "sd855", "--converted", "x", "--out", str(tmp_path)], capsys)
    assert rc == 2 and err.count("\n") == 1 and "not an ARM emulated phone" in err
    rc, _, err = _profile(["--converted", "nothing", "--out", str(tmp_path), "--reports", str(tmp_path / "r")], capsys)
    assert rc == 2 and err.count("\n") == 1 and "nothing: no converted model" in err
    rc, _, err = _profile(["--models", "no_such_model", "--reports", str(tmp_path / "r")], capsys)
    assert rc == 2 and "no_such_model" in err
    monkeypatch.setattr(plugin, "CACHE", tmp_path / "plugins")
    monkeypatch.setattr(plugin.profile_plugin, "__defaults__", (tmp_path / "plugins", 120))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    rc, _, err = _profile(["--converted", "x", "--out", str(tmp_path)], capsys)
    assert rc == 2 and err.count("\n") == 1 and ("gcc" in err or "qemu" in err.lower())
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").glob("latency-*.json"))
