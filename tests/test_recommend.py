"""The recommendation from synthetic records: which variant to ship per model and device class, what is not
eligible, the manifest entry it leaves, and the variant the Android demo packages by default."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from android_demo.variant import choose_variant
from benchmark.records.parts import GroundTruth, GroundTruthFigures, ParitySummary
from benchmark.records.rows import VideoRecord
from benchmark.records.types import LatencyRecord
from benchmark.report.recommend import candidates, device_class, flicker_gate, recommend, write_to_manifests
from converter.artifacts import manifest
from converter.sources.model_files import sha256_file

M = "portrait_pp_humansegv2_lite_256x144"
SD855 = {"serial": "emu-1", "soc": "SM8150", "model": "MI 9 (emulated ARM)", "qemu_cpu": "max"}
A53 = {"serial": "emu-2", "soc": "MSM8953", "model": "Redmi Note 4 (emulated ARM)", "qemu_cpu": "cortex-a53"}
PHONE = {"serial": "R58M", "soc": "SM8150", "model": "SM-G973F"}


def _lat(precision: str, device: dict[str, Any], *, insns: float | None = None, ms: float | None = None,
         target: str = "arm", status: str = "ok", sha: str = "", model: str = M,
         run_id: str = "run-1") -> LatencyRecord:  # fmt: skip
    emulated = "qemu_cpu" in device
    return LatencyRecord.from_json({
        "run_id": run_id,
        "input_shape": [1, 3, 144, 256],
        "model": model,
        "precision": precision,
        "status": status,
        "target": target,
        "device": device,
        "emulated": emulated,
        "emulated_cpu": device.get("qemu_cpu"),
        "instructions_per_inference": insns,
        "median_ms": ms,
        "nb": {"path": f"arm-{precision}.nb", "opt_version": "v2.13-rc", "size_bytes": 1000,
               "sha256": sha or f"sha-{precision}"},
    })  # fmt: skip


def _par(precision: str, device: dict[str, Any], passed: bool, *, problems: tuple[str, ...] = (),
         miou: float | None = 0.81, model: str = M, sha: str = "",
         run_id: str = "run-1") -> ParitySummary:  # fmt: skip
    return ParitySummary(
        model=model,
        precision=precision,
        device=device["serial"],
        nb_sha256=sha or f"sha-{precision}",
        run_id=run_id,
        verdict="pass" if passed else "fail",
        passed=passed,
        task_problems=list(problems),
        mean_argmax_agreement=0.99,
        ground_truth=GroundTruth(
            candidate=GroundTruthFigures(miou=miou),
            reference=GroundTruthFigures(miou=None if miou is None else 0.8122),
        ),
    )


def test_fewest_instructions_among_passing_variants() -> None:
    latency = [_lat("fp32", SD855, insns=77.7e6), _lat("fp16", SD855, insns=50.9e6), _lat("int8", SD855, insns=60.4e6)]
    parity = [
        _par("fp32", SD855, True),
        _par("fp16", SD855, False, problems=("max abs diff",)),
        _par("int8", SD855, True),
    ]
    (rec,) = recommend(candidates(latency, parity))
    assert rec.device_class == "SM8150 (emulated ARM, QEMU max)" and rec.metric == "instructions"
    assert rec.chosen is not None and rec.chosen.precision == "int8"  # fp16 is cheaper but failed its gate
    assert [c.precision for c in rec.candidates] == ["fp16", "int8", "fp32"]  # ranked by the figure
    assert rec.candidates[0].status == "fails its accuracy gate: max abs diff"


def test_a_failing_int8_is_not_recommended() -> None:
    latency = [_lat("fp32", SD855, insns=77.7e6), _lat("int8", SD855, insns=60.4e6)]
    parity = [_par("fp32", SD855, True), _par("int8", SD855, False, problems=("mIoU drop 0.58 points",), miou=0.806)]
    (rec,) = recommend(candidates(latency, parity))
    assert rec.chosen is not None and rec.chosen.precision == "fp32"
    entry = rec.manifest_entry()
    assert entry.precision == "fp32" and entry.file == "arm-fp32.nb" and entry.metric == "instructions"
    int8 = next(c for c in entry.candidates if c.precision == "int8")
    assert int8.gate is False and "mIoU drop 0.58 points" in int8.status and int8.miou == 0.806


def _video(variant: str, flicker: float, sequence: str = "s1") -> VideoRecord:
    return VideoRecord(
        model=M, variant=variant, runtime="r", sequence=sequence, source="clip", frames=6, flicker=flicker,
        flicker_smoothed=flicker / 2, temporal_iou=0.95, temporal_iou_smoothed=0.97,
    )  # fmt: skip


def test_a_variant_whose_mask_flickers_clearly_more_than_fp32_is_not_recommended() -> None:
    latency = [_lat("fp32", SD855, insns=77.7e6), _lat("fp16", SD855, insns=50.9e6), _lat("int8", SD855, insns=60.4e6)]
    parity = [_par("fp32", SD855, True), _par("fp16", SD855, True), _par("int8", SD855, True)]
    video = [_video("reference", 0.10), _video("fp32", 0.10), _video("fp32", 0.12, "s2"), _video("fp16", 0.112),
             _video("int8", 0.16), _video("int8", 0.20, "s2")]  # fmt: skip
    (rec,) = recommend(flicker_gate(candidates(latency, parity), video))
    assert rec.chosen is not None and rec.chosen.precision == "fp16"  # within the margin of fp32's 0.110
    int8 = next(c for c in rec.candidates if c.precision == "int8")
    assert int8.gate is False and "flickers clearly more than fp32's in video-check: 0.180 vs 0.110" in int8.status
    video[3] = _video("fp16", 0.15)  # 0.15 > 0.11 + max(0.01, 0.25 * 0.11): fp16 too; fp32 is left
    (rec,) = recommend(flicker_gate(candidates(latency, parity), video))
    assert rec.chosen is not None and rec.chosen.precision == "fp32"
    (rec,) = recommend(flicker_gate(candidates(latency, parity), []))  # no video-check: the gate is untouched
    assert rec.chosen is not None and rec.chosen.precision == "fp16"


def test_classes_metrics_and_what_is_not_eligible() -> None:
    latency = [
        _lat("fp32", A53, insns=80.0e6),
        _lat("int8", A53, insns=81.4e6),  # no dot product: int8 costs more there
        _lat("fp32", PHONE, ms=40.0),
        _lat("fp16", PHONE, ms=22.0),
        _lat("int8", PHONE, ms=25.0),  # never parity-checked on this phone
        _lat("fp32", {"serial": "x86-emu", "soc": "SM8150"}, ms=9.0, target="x86"),  # x86 kernels: not the phone's
        _lat("fp16", SD855, insns=50.0e6, status="failed"),
    ]
    parity = [_par("fp32", A53, True), _par("int8", A53, True), _par("fp32", PHONE, True), _par("fp16", PHONE, True)]
    recs = {r.device_class: r for r in recommend(candidates(latency, parity))}
    sd855 = "SM8150 (emulated ARM, QEMU max)"
    assert set(recs) == {"MSM8953 (emulated ARM, QEMU cortex-a53)", "SM8150 (SM-G973F)", sd855}
    assert recs[sd855].chosen is None and "its newest run failed" in recs[sd855].candidates[0].status
    a53, phone = recs["MSM8953 (emulated ARM, QEMU cortex-a53)"], recs["SM8150 (SM-G973F)"]
    assert a53.chosen is not None and a53.chosen.precision == "fp32"
    assert phone.metric == "median_ms" and phone.chosen is not None and phone.chosen.precision == "fp16"
    int8 = next(c for c in phone.candidates if c.precision == "int8")
    assert int8.gate is None and int8.status == "accuracy not measured on this device class"
    (uncounted,) = candidates([_lat("fp32", SD855, insns=None)], [_par("fp32", SD855, True)])
    assert uncounted.gate is False  # an ARM emulated run without a count ranks nothing
    assert device_class(_lat("fp32", {"serial": "x86-emu", "soc": "SM8150"}, ms=9.0, target="x86")) is None


def test_a_verdict_stands_only_for_its_own_nb_and_run() -> None:
    """Emulated serials repeat across runs and failed records used to be skipped: an older passing verdict must never
    stand for the newest .nb."""
    old_pass = [_lat("int8", SD855, insns=60.0e6, sha="old", run_id="r1"), _lat("fp32", SD855, insns=77.7e6)]
    parity = [_par("int8", SD855, True, sha="old", run_id="r1"), _par("fp32", SD855, True)]
    (rec,) = recommend(candidates(old_pass, parity))
    assert rec.chosen is not None and rec.chosen.precision == "int8"
    # a newer run of a rebuilt int8 .nb that failed: the old pass does not stand for it
    newest_failed = [*old_pass, _lat("int8", SD855, status="failed", sha="new", run_id="r2")]
    (rec,) = recommend(candidates(newest_failed, parity))
    assert rec.chosen is not None and rec.chosen.precision == "fp32"
    int8 = next(c for c in rec.candidates if c.precision == "int8")
    assert int8.gate is False and "its newest run failed" in int8.status
    # the newest int8 ran, but its parity verdict is of the old file (or of another run): not judged
    for sha, run_id in (("old", "r2"), ("new", "r1")):
        newer = [*old_pass, _lat("int8", SD855, insns=59.0e6, sha="new", run_id="r2")]
        (rec,) = recommend(candidates(newer, [*parity, _par("int8", SD855, True, sha=sha, run_id=run_id)]))
        assert rec.chosen is not None and rec.chosen.precision == "fp32", (sha, run_id)


def test_a_reduced_precision_variant_needs_labelled_images() -> None:
    """Without DATASET= the task gate of fp16 and int8 judged argmax only: neither is recommended, fp32 is kept."""
    latency = [_lat("fp32", SD855, insns=77.7e6), _lat("fp16", SD855, insns=50.9e6), _lat("int8", SD855, insns=40.0e6)]
    parity = [
        _par("fp32", SD855, True, miou=None),
        _par("fp16", SD855, True, miou=None),
        _par("int8", SD855, True, miou=None),
    ]
    (rec,) = recommend(candidates(latency, parity))
    assert rec.chosen is not None and rec.chosen.precision == "fp32"  # judged element-wise: needs no labels
    for precision in ("fp16", "int8"):
        reduced = next(c for c in rec.candidates if c.precision == precision)
        assert reduced.gate is None and reduced.status.startswith("accuracy not judged")
    parity[1] = _par("fp16", SD855, True)  # judged on labelled images: now it may be shipped
    (rec,) = recommend(candidates(latency, parity))
    assert rec.chosen is not None and rec.chosen.precision == "fp16"
    parity[2] = _par("int8", SD855, True)
    (rec,) = recommend(candidates(latency, parity))
    assert rec.chosen is not None and rec.chosen.precision == "int8"


def test_nothing_passes_nothing_recommended() -> None:
    latency = [_lat("fp32", SD855, insns=77.7e6), _lat("int8", SD855, insns=60.4e6)]
    (rec,) = recommend(candidates(latency, []))
    assert rec.chosen is None and "nothing is recommended" in rec.why
    assert rec.manifest_entry().precision is None


def _entry(precision: str, data: bytes) -> dict[str, Any]:
    return {
        "target": "arm", "precision": precision, "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data),
        "opt_version": "2.13rc0", "nb_opt_version": "v2.13-rc", "conversion_format": 3, "source_kind": "local",
        "inputs_sha256": {}, "input_shape": [1, 3, 144, 256], "output_name": "out", "output_dtype": "float32",
        "op_counts": {}, "conversion_time_s": 0.1, "weights": precision, "converted_at": "t",
        "settings": {"valid_targets": "arm", "enable_fp16": precision == "fp16", "quant_model": False},
        "requires": "ARMv8.2 fp16" if precision == "fp16" else None,
    }  # fmt: skip


def _model_dir(tmp_path: Path) -> Path:
    """A converted model folder as the converter leaves it (a manifest of converter.schema.manifest_types.Manifest)."""
    d = tmp_path / M
    d.mkdir()
    files = {}
    for p in ("fp32", "fp16", "int8"):
        data = f"nb {p}".encode()
        (d / f"arm-{p}.nb").write_bytes(data)
        files[f"arm-{p}.nb"] = _entry(p, data)
    manifest = {
        "schema_version": 1, "model": M, "toolkit_version": "t", "input_name": "x",
        "source": {"kind": "local", "folder": str(d), "model_file": "model.pdmodel", "params_file": "model.pdiparams",
                   "layout": "pdmodel", "sha256": {}, "checksum_status": "unknown"},
        "input_shape": [1, 3, 144, 256], "output_name": "out", "output_dtype": "float32", "output_op": "softmax",
        "outputs": [], "weights": "trained",
        "preprocess": {"width": 256, "height": 144, "mean": [0.5] * 3, "std": [0.5] * 3, "channel_order": "rgb",
                       "scale": 1 / 255}, "warnings": [], "files": files,
    }  # fmt: skip
    (d / "manifest.json").write_text(json.dumps(manifest))
    return d


def test_manifest_entry_and_the_demo_variant(tmp_path: Path) -> None:
    d = _model_dir(tmp_path)
    assert choose_variant(d).precision == "fp32" and "no recommendation recorded yet" in choose_variant(d).why
    sha = {p: sha256_file(d / f"arm-{p}.nb") for p in ("fp32", "fp16", "int8")}
    latency = [
        _lat("fp32", SD855, insns=77.7e6, sha=sha["fp32"]),
        _lat("fp16", SD855, insns=50.9e6, sha=sha["fp16"]),
        _lat("fp32", A53, insns=80.0e6, sha=sha["fp32"]),
        _lat("int8", A53, insns=79.0e6, sha=sha["int8"]),
    ]
    parity = [
        _par("fp32", SD855, True, sha=sha["fp32"]),
        _par("fp16", SD855, True, sha=sha["fp16"]),
        _par("fp32", A53, True, sha=sha["fp32"]),
        _par("int8", A53, True, sha=sha["int8"]),
    ]
    recs = recommend(candidates(latency, parity))
    assert write_to_manifests(recs, tmp_path) == []
    data = manifest.read(d)
    assert data is not None and {c: r.precision for c, r in data.recommended.items()} == {
        "SM8150 (emulated ARM, QEMU max)": "fp16",
        "MSM8953 (emulated ARM, QEMU cortex-a53)": "int8",
    }
    # one vote each: the variant every arm64 phone runs (int8) wins over fp16, which needs ARMv8.2 fp16
    v = choose_variant(d)
    assert v.precision == "int8" and v.nb == d / "arm-int8.nb" and "MSM8953" in v.why
    assert choose_variant(d, "fp16").precision == "fp16"
    (d / "arm-int8.nb").write_bytes(b"re-converted")  # the measured file is gone: its recommendation is void
    assert choose_variant(d).precision == "fp16"
    assert write_to_manifests(recs, tmp_path / "missing") and not (tmp_path / "missing").exists()


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_a_manifest_that_does_not_match_its_type_is_never_written(tmp_path: Path) -> None:
    d = _model_dir(tmp_path)
    data = manifest.read(d)
    assert data is not None
    manifest.write(d, data)  # the valid one is written (and its model_spec.json derived)
    data.files["arm-fp32.nb"].size_bytes = "three"  # type: ignore[assignment]  # a value of the wrong type
    before = (d / "manifest.json").read_bytes()
    with pytest.raises(manifest.ManifestError, match=r"files\.arm-fp32\.nb\.size_bytes: Input should be a valid int"):
        manifest.write(d, data)
    assert (d / "manifest.json").read_bytes() == before


def test_a_manifest_edited_by_hand_is_refused_when_read_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    import converter

    d = _model_dir(tmp_path)
    read = converter.read_manifest(d)  # the public API's name for manifest.read
    assert isinstance(read, converter.Manifest) and read.preprocess.width == 256 and read.files["arm-fp16.nb"].requires
    data = json.loads((d / "manifest.json").read_text())  # to edit it by hand
    data["preprocess"]["channel_order"] = "rgba"
    (d / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(manifest.ManifestError, match=r"manifest\.json: not a manifest this toolkit wrote .*"
                       r"preprocess\.channel_order.*convert the model again \(make convert\)"):  # fmt: skip
        manifest.read(d)
    assert manifest.read(tmp_path / "not-converted") is None


def test_fp16_is_judged_on_the_task_like_int8() -> None:
    """The zoo's fp16 gate: a softmax moved by 0.064 with 98.65 % of the pixels agreeing passes (the max abs diff is
    reported, not gated); a photo under 90 %, 98 % over all images, or 0.5 mIoU points lost fails."""
    from benchmark.parity.gates import image_problems, task_problems
    from converter.images.compare import OutputComparison
    from converter.schema.zoo import load_zoo

    zoo = load_zoo()
    fp16, int8 = zoo.tolerance(None, "fp16"), zoo.tolerance(None, "int8")
    assert fp16.max_abs_diff is None and fp16 == int8.model_copy(update={"reason": fp16.reason})
    moved = OutputComparison("photo", 0.064, 1e-3, 0.9865, 0.97, ())
    assert image_problems(moved, fp16) == []
    worse = OutputComparison("photo", 0.2, 1e-2, 0.85, 0.8, ())
    assert image_problems(worse, fp16) == ["argmax agreement 0.85000 < 0.9"]
    assert (
        task_problems(fp16, mean_mask_iou=0.97, miou=0.8108, fp32_desktop_miou=0.8122, mean_argmax_agreement=0.9978)
        == []
    )
    problems = task_problems(fp16, mean_mask_iou=0.9, miou=0.80, fp32_desktop_miou=0.8122, mean_argmax_agreement=0.97)
    assert len(problems) == 2 and "mIoU drop 1.22 points" in problems[1]


def _ncnn(rec: LatencyRecord) -> LatencyRecord:
    """The same record as if ncnn's pair had run: another runtime, another file."""
    assert rec.nb is not None
    nb = rec.nb.model_copy(update={"sha256": "ncnn-" + rec.nb.sha256})
    return rec.model_copy(update={"runtime": "ncnn", "nb": nb})


def test_the_runtime_is_chosen_per_model_with_its_ratio_to_the_best_paddle_lite() -> None:
    """Runtime x variant candidates: each judged on its own file (a Paddle-Lite verdict never stands for the ncnn
    pair of the same precision); the fewest instructions among those that pass; the ratio said; the first screen
    row names the runtime and what is missing (no estimate for ncnn: the cost model is Paddle-Lite's)."""
    from benchmark.report.decision_view import _row, holds_fps

    lite = [_lat("fp32", SD855, insns=78.0e6), _lat("fp16", SD855, insns=51.3e6)]
    ncnn = [_ncnn(_lat("fp32", SD855, insns=59.6e6)), _ncnn(_lat("fp16", SD855, insns=31.4e6))]
    parity = [_par(p, SD855, True) for p in ("fp32", "fp16")]  # Paddle-Lite's verdicts only
    (rec,) = recommend(candidates([*lite, *ncnn], parity))
    assert rec.chosen is not None and rec.chosen.variant == "fp16"  # ncnn's pair was not judged: not eligible
    ncnn_parity = [p.model_copy(update={"runtime": "ncnn", "nb_sha256": "ncnn-" + str(p.nb_sha256)}) for p in parity]
    (rec,) = recommend(candidates([*lite, *ncnn], parity + ncnn_parity))
    assert rec.chosen is not None and (rec.chosen.runtime, rec.chosen.precision) == ("ncnn", "fp16")
    assert rec.vs_best_paddle_lite == pytest.approx(31.4 / 51.3) and "0.61x the best Paddle-Lite" in rec.why
    entry = rec.manifest_entry()
    assert (entry.runtime, entry.file, entry.precision) == ("ncnn", "ncnn/model.ncnn.param", "fp16")
    row = _row(rec)
    assert row[2] == "ncnn fp16 (0.61x the best Paddle-Lite)" and "no phone estimate" in row[-1]
    assert holds_fps(20.0, 10) == "yes" and holds_fps(32.0, 10) == "likely" and holds_fps(40.0, 5) == "no"
    assert holds_fps(None, None) == "-"
