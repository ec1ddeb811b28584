from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from converter.schema.zoo import DEFAULT_ZOO, ZooError, load_zoo

SEED = {
    "portrait_pp_humansegv1_lite_398x224": ([1, 3, 224, 398], 29.68),
    "portrait_pp_humansegv2_lite_256x144": ([1, 3, 144, 256], 15.86),
    "human_pp_humansegv1_lite_192x192": ([1, 3, 192, 192], 12.3),
    "human_pp_humansegv2_lite_192x192": ([1, 3, 192, 192], 15.3),
    "human_pp_humansegv1_mobile_192x192": ([1, 3, 192, 192], None),
    "human_pp_humansegv2_mobile_192x192": ([1, 3, 192, 192], None),
    "human_pp_humansegv1_server_512x512": ([1, 3, 512, 512], None),
}


def _zoo_text(**entry_changes: object) -> str:
    raw = yaml.safe_load(DEFAULT_ZOO.read_text())
    raw["models"][1].update(entry_changes)
    return yaml.safe_dump(raw, sort_keys=False)


def test_real_zoo_has_the_seven_seed_models() -> None:
    zoo = load_zoo()
    assert zoo.entry_errors == ()
    assert sorted(zoo.names()) == sorted(SEED)
    for m in zoo.models:
        shape, ms = SEED[m.name]
        assert list(m.input_shape) == shape
        assert m.published.sd855_latency_ms == ms
        assert m.archive_folder == m.name + "_inference_model_with_softmax"
        assert m.url.startswith("https://paddleseg.bj.bcebos.com/dygraph/pp_humanseg_v2/")
    assert zoo.tolerance(zoo.get("portrait_pp_humansegv2_lite_256x144"), "fp32").max_abs_diff == 1e-4
    server = zoo.tolerance(zoo.get("human_pp_humansegv1_server_512x512"), "fp32")
    assert server.max_abs_diff > 2.6e-4 and server.reason


def test_unknown_key_names_file_entry_and_key(tmp_path: Path) -> None:
    path = tmp_path / "zoo.yaml"
    path.write_text(_zoo_text(colour="blue"))
    zoo = load_zoo(path)
    assert len(zoo.models) == 6  # the other entries stay usable
    (err,) = zoo.entry_errors
    assert str(path) in err.message and "models[1]" in err.message
    assert "portrait_pp_humansegv2_lite_256x144" in err.message and "'colour': unknown key" in err.message
    with pytest.raises(ZooError, match="colour"):
        zoo.get("portrait_pp_humansegv2_lite_256x144")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"input_shape": [1, 3, "wide", 256]}, "input_shape.2"),
        ({"input_shape": [1, 3, 144]}, "input_shape"),
        ({"published": {"sd855_latency_ms": 3.0}}, "published.miou_percent': missing required key"),
        ({"name": "my model; rm -rf /"}, "no spaces or shell metacharacters"),
        ({"name": "$(reboot)"}, "not allowed"),
        ({"sha256": {"model.pdmodel": "xyz"}}, "sha256.model.pdmodel"),
        ({"tolerances": {"fp32": {"max_abs_diff": 1e-3}}}, "reason': missing required key"),
        ({"url": "ftp://example.org/x.zip"}, "url"),
    ],
)
def test_bad_entries_are_reported_precisely(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    path = tmp_path / "zoo.yaml"
    path.write_text(_zoo_text(**change))
    zoo = load_zoo(path)
    (err,) = zoo.entry_errors
    assert expected in err.message, err.message
    assert str(path) in err.message


def test_numbers_written_as_strings_are_coerced(tmp_path: Path) -> None:
    # PyYAML reads 1e-4 (no dot) as a string; the schema must still accept it as a number.
    text = DEFAULT_ZOO.read_text().replace("max_abs_diff: 1.0e-4", "max_abs_diff: 1e-4")
    path = tmp_path / "zoo.yaml"
    path.write_text(text)
    zoo = load_zoo(path)
    assert zoo.defaults.tolerances["fp32"].max_abs_diff == pytest.approx(1e-4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models: [\n", "cannot be read as YAML"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("schema_version: 1\nmodels: []\n", "defaults: key 'tolerances': missing required key"),
        (
            "schema_version: 1\ndefaults: {tolerances: {fp32: {max_abs_diff: 1.0e-4, min_argmax_agreement: 0.99}}}\n"
            "models: []\n",
            "non-empty list",
        ),
        ("schema_version: 1\nextras: 1\nmodels: [{}]\n", "unknown top-level key"),
        ("schema_version: 2\nmodels: [{}]\n", "schema_version must be 1"),
    ],
)
def test_broken_files_are_rejected(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "zoo.yaml"
    path.write_text(text)
    with pytest.raises(ZooError, match=expected) as e:
        load_zoo(path)
    assert str(path) in str(e.value)


def test_missing_zoo_file(tmp_path: Path) -> None:
    with pytest.raises(ZooError, match="does not exist"):
        load_zoo(tmp_path / "nope.yaml")


def test_duplicate_names(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_ZOO.read_text())
    raw["models"].append(dict(raw["models"][0]))
    path = tmp_path / "zoo.yaml"
    path.write_text(yaml.safe_dump(raw))
    zoo = load_zoo(path)
    assert any("duplicate model name" in e.message for e in zoo.entry_errors)
