"""Latency-only stand-ins with random weights, built from an official graph (../shared/models/graph_only)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest

from benchmark.cli import main as bench_main
from benchmark.records.runs import ParityRun
from converter.cli.main import main as convert_main
from converter.images.generated import generated_images
from tests.conftest import closed_port_url, labelled_subset
from tests.runs import manifest_of, read_as

pytestmark = pytest.mark.slow
V2_LITE = "human_pp_humansegv2_lite_192x192"
SERVER = "human_pp_humansegv1_server_512x512"


def test_standin_only_on_request(models_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = convert_main(
        [
            "zoo",
            "--models-dir",
            str(models_dir),
            "--models",
            V2_LITE,
            "--offline",
            "--out",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    assert rc == 1 and "not available" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_no_graph_and_no_recipe_is_a_clear_error(
    models_dir: Path, tmp_path: Path, write_zoo: Callable[..., Path], capsys
) -> None:  # type: ignore[no-untyped-def]
    def edit(entries: list[dict]) -> None:
        entries[0].pop("standin", None)  # neither an official graph nor a paddleseg recipe

    zoo = write_zoo(models=[SERVER], edit=edit, url_base=closed_port_url())
    rc = convert_main(
        [
            "zoo",
            "--zoo",
            str(zoo),
            "--models-dir",
            str(models_dir),
            "--offline",
            "--fallback",
            "architecture",
            "--out",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "no official graph for a random-weight stand-in" in err and SERVER in err
    assert "`standin:` architecture in the zoo entry" in err


def test_standin_built_labelled_cached_and_parity_checked(
    models_dir: Path, data_dir: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    out, cache, reports = tmp_path / "out", tmp_path / "cache", tmp_path / "reports"
    args = [
        "--models-dir",
        str(models_dir),
        "--models",
        V2_LITE,
        "--offline",
        "--fallback",
        "architecture",
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
    ]
    rc = bench_main(
        [
            "parity",
            *args,
            "--images",
            str(labelled_subset(data_dir, tmp_path / "labelled", 4)),  # labelled: accuracy must still be excluded
            "--reports",
            str(reports),
            "--precision",
            "fp32",
        ]
    )
    stdout = capsys.readouterr().out
    assert rc == 0, stdout
    standin = cache / f"{V2_LITE}_inference_model_with_softmax__random_weights"
    meta = json.loads((standin / "STANDIN.json").read_text())
    assert meta["weights"] == "random" and meta["parameters"] == 3_030_358  # the PaddleSeg 2.8 architecture's count
    assert meta["max_abs_logit"] <= 8.0 + 1e-3 and meta["batch_norms_recalibrated"] > 50
    manifest = manifest_of(out / V2_LITE)
    assert manifest.weights == "random" and manifest.source.kind == "standin"
    assert all(e.weights == "random" for e in manifest.files.values())
    run = read_as(next(reports.glob("parity-*.json")), ParityRun)
    (model,) = run.models
    assert model.weights == "random" and model.status == "pass"  # runtime parity still applies...
    assert model.ground_truth.reference.images == 0  # ...accuracy does not
    assert all(r.max_abs_diff is not None for r in run.records)  # no inf/NaN from Paddle-Lite x86's softmax
    mtime = (standin / "model.pdiparams").stat().st_mtime_ns
    assert convert_main(["zoo", *args, "--targets", "x86"]) == 0  # the cached stand-in is reused, not rebuilt
    assert (standin / "model.pdiparams").stat().st_mtime_ns == mtime


def test_server_standin_from_paddleseg(models_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """V1-Server has no graph here: built from paddleseg's DeepLabV3P/ResNet50_vd, converted, and run on a
    handful of images only (about 4 s per 512x512 inference on this host; one image here, the graph-fix check
    runs four more)."""
    images = tmp_path / "images"
    images.mkdir()
    for name, img in generated_images()[:1]:
        cv2.imwrite(str(images / f"{name}.png"), img)
    out, cache, reports = tmp_path / "out", tmp_path / "cache", tmp_path / "reports"
    rc = bench_main(
        [
            "parity",
            "--models-dir",
            str(models_dir),
            "--models",
            SERVER,
            "--offline",
            "--fallback",
            "architecture",
            "--out",
            str(out),
            "--cache-dir",
            str(cache),
            "--images",
            str(images),
            "--reports",
            str(reports),
            "--precision",
            "fp32",
        ]
    )
    stdout = capsys.readouterr().out
    assert rc == 0, stdout
    meta = json.loads(next(cache.glob("*__random_weights/STANDIN.json")).read_text())
    assert meta["graph"] == "paddleseg 2.8 DeepLabV3P / ResNet50_vd" and meta["parameters"] > 2.6e7
    assert meta["max_abs_logit"] <= 8.0 + 1e-3
    manifest = manifest_of(out / SERVER)
    assert manifest.weights == "random" and manifest.input_shape == [1, 3, 512, 512]
    (model,) = read_as(next(reports.glob("parity-*.json")), ParityRun).models
    assert model.status == "pass" and model.comparisons == 1 and model.min_argmax_agreement > 0.999
