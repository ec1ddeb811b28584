"""The graph-fixes benchmark: a Paddle 2.6 re-export of the general V2-Lite architecture, fixed vs unfixed .nb,
interleaved on the host and on an emulated device; ratios printed and written (no timing asserted); the report
shows them. A zoo model without the pattern has nothing to compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.host.perf import perf_usable
from benchmark.records.run_files import read_run
from benchmark.records.runs import GraphFixesRun
from tests.conftest import PORTRAIT_V2
from tests.runs import manifest_of, read_as

pytestmark = pytest.mark.slow
EXPORT = "human_pp_humansegv2_lite_192x192_paddle26"
V2_LITE = "human_pp_humansegv2_lite_192x192"


def test_fixed_vs_unfixed_on_host_and_emulated_device(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports, out = tmp_path / "reports", tmp_path / "models"
    argv = ["graph-fixes", "--paddle26", EXPORT, "--offline", "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    argv += ["--reports", str(reports), "--rounds", "2", "--repeats", "3", "--warmup", "1", "--no-arm"]
    # The old-form arm is the official graph of the same architecture (--models-dir has graph_only/; random weights).
    assert main([*argv, "--models-dir", str(models_dir), "--emulated"]) == 0
    printed = capsys.readouterr().out
    (run_file,) = reports.glob("graph-fixes-*.json")
    rows = read_run(run_file).records  # type: ignore[attr-defined]
    assert [r.where.split(" ")[0] for r in rows][0] == "host" and "emulated" in rows[1].where
    for r in rows:
        assert r.model == EXPORT and len(r.ratios) == 2 and r.ratio_median > 0
        assert r.x86_ops_before > r.x86_ops_after > 0
        assert r.rewrites["conv_bias_reshape"] > 20
        assert f"{r.ratio_median:.2f}" in printed
        assert r.old_form_model == V2_LITE and r.old_form_weights == "random" and len(r.old_form_ratios) == 2
        assert f"fixed {r.ratio_median:.2f}, old form {r.old_form_ratio_median:.2f}" in printed
    assert rows[0].lite_max_abs_diff_fixed_vs_unfixed <= 1e-5  # Paddle-Lite agrees with itself
    manifest = manifest_of(out / EXPORT)
    assert manifest.graph_fixes.status == "applied"
    assert manifest.weights == "random" and manifest.source.kind == "standin"  # labelled as such
    old_form = manifest_of(out / V2_LITE)
    # the official export has nothing of the Paddle 2.5+ forms, only the gates of the ARM fp16 rule (as the export)
    gates = manifest.graph_fixes.rewrites_by_kind["fp16_gemv_tail"]
    assert gates > 0 and old_form.graph_fixes.rewrites_by_kind == {"fp16_gemv_tail": gates}
    assert manifest.model_stats == old_form.model_stats  # same architecture: parameters, conv FLOPs, layers

    assert main(["report", "--reports", str(reports), "--models-out", str(out)]) == 0
    md = (reports / "report.md").read_text()
    section = md.split("## Graph fixes", 1)[1].split("\n## ", 1)[0]
    assert f"| {EXPORT} | applied |" in section and "host (Paddle-Lite x86)" in section
    assert f"Old form: {V2_LITE}" in section

    # Without the official files (offline, a models dir without them) the old form cannot be had: the run says why
    # and goes on.
    # --profile: where the host's time goes per variant; the fixes leave no batch_norm kernel to run.
    before = set(reports.glob("graph-fixes-*.json"))
    argv[argv.index(str(out))] = str(tmp_path / "models2")
    argv[argv.index("--rounds") + 1] = "1"  # this run checks the warning and the profile, not the ratio
    argv += ["--models-dir", str(tmp_path)]  # no official files there (CI also sets MODELS_DIR: overridden)
    profile = perf_usable()
    assert main([*argv, "--profile"] if profile else argv) == 0
    cap = capsys.readouterr()
    assert f"warning: {EXPORT}: old-form export {V2_LITE} not timed: {V2_LITE}: not available" in cap.err
    (new_file,) = set(reports.glob("graph-fixes-*.json")) - before
    (row,) = read_run(new_file).records  # type: ignore[attr-defined]
    assert row.old_form_model is None and row.old_form_ratio_median is None and row.ratio_median > 0
    if profile:
        shares = row.kernel_shares_percent
        assert set(shares) == {"unfixed", "fixed"} and shares["unfixed"]["batch_norm"] > 0
        assert "batch_norm" not in shares["fixed"] and "where the host's time goes" in cap.out
        assert main(["report", "--reports", str(reports), "--models-out", str(tmp_path / "models2")]) == 0
        section = (reports / "report.md").read_text().split("## Graph fixes", 1)[1].split("\n## ", 1)[0]
        assert f"| kernel family | {EXPORT} unfixed | {EXPORT} fixed |" in section
        assert f"| batch_norm | {shares['unfixed']['batch_norm']:.1f} | 0.0 |" in section


def test_nothing_to_compare(models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["graph-fixes", "--models", PORTRAIT_V2, "--models-dir", str(models_dir), "--out", str(tmp_path / "m")]
    assert main([*argv, "--offline", "--no-graph-fixes", "--reports", str(tmp_path)]) == 2
    cap = capsys.readouterr()
    assert f"{PORTRAIT_V2}: graph fixes disabled: nothing to compare" in cap.out
    assert "no model with graph fixes applied" in cap.err


def test_portrait_export_against_the_official_trained_model(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The portrait recipe re-exports exactly the official portrait V2-Lite architecture, whose shared file (trained
    weights, an older export) is its old form."""
    export, official = "portrait_pp_humansegv2_lite_256x144_paddle26", "portrait_pp_humansegv2_lite_256x144"
    out, reports = tmp_path / "models", tmp_path / "reports"
    argv = ["graph-fixes", "--paddle26", export, "--offline", "--out", str(out), "--cache-dir", str(tmp_path / "c")]
    argv += ["--models-dir", str(models_dir), "--reports", str(reports), "--rounds", "2", "--repeats", "3"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    (row,) = read_as(next(reports.glob("graph-fixes-*.json")), GraphFixesRun).records
    # ARM work, counted on the ARM emulated phone (real Paddle-Lite ARM runtime under QEMU): the fixed .nb does less
    # of it than the unfixed one, and the fixes recover the official old form's count
    arm = row.arm_instructions
    assert set(arm) == {"unfixed", "fixed", "old_form"} and arm["fixed"] < arm["unfixed"]
    assert row.arm_instruction_ratio == arm["fixed"] / arm["unfixed"] < 1
    assert abs(arm["fixed"] / arm["old_form"] - 1) < 0.01
    assert f"{row.arm_instruction_ratio:.3f} ({row.arm_old_form_instruction_ratio:.3f})" in printed
    assert row.old_form_model == official and row.old_form_weights == "trained"
    assert row.rewrites["conv_bias_reshape"] == 24 and row.x86_ops_before > row.x86_ops_after
    assert f"{official}, the official Paddle <= 2.4 export" in printed and "random weights: timing only" not in printed
    fixed, old = (manifest_of(out / n) for n in (export, official))
    assert fixed.model_stats.parameters == old.model_stats.parameters == 937_006
    assert fixed.model_stats == old.model_stats
