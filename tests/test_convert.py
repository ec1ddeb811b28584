"""End-to-end conversion through the CLI with real opt on the shared models."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from converter.cli.main import main
from converter.images.motion_fusion import FusionParams
from converter.nb.inspect import inspect_nb
from tests.conftest import HUMAN_V1, PORTRAIT_V2, REAL_MODELS, SUFFIX, closed_port_url
from tests.runs import manifest_of

pytestmark = pytest.mark.slow


def _zoo_args(zoo: Path, models_dir: Path, out: Path) -> list[str]:
    return ["zoo", "--zoo", str(zoo), "--models-dir", str(models_dir), "--out", str(out)]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err + cap.out
    return rc, cap.out, cap.err


def test_zoo_converts_available_models_and_reports_the_rest(
    models_dir: Path, tmp_path: Path, write_zoo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    zoo = write_zoo(url_base=closed_port_url())
    out = tmp_path / "out"
    args = [
        "zoo",
        "--zoo",
        str(zoo),
        "--models-dir",
        str(models_dir),
        "--out",
        str(out),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    rc, stdout, stderr = _run(capsys, *args)
    assert rc == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(REAL_MODELS)
    for name in REAL_MODELS:
        d = out / name
        # every real model gets a graph fix (V1: static channel-shuffle shapes; V2: the fp16 gemv gates): the fixed
        # program and the unfixed .nb op counts are kept beside the outputs
        files = ["arm-fp32.nb", "fixed_model", "manifest.json", "model_spec.json", "unfixed", "x86-fp32.nb"]
        assert sorted(p.name for p in d.iterdir()) == sorted(files)
        assert inspect_nb(d / "arm-fp32.nb").target == "arm"
        assert inspect_nb(d / "x86-fp32.nb").target == "x86"
        m = manifest_of(d)
        assert m.model == name and m.source.checksum_status == "verified"
        assert (m.output_name, m.output_dtype, m.output_op) == (
            "softmax_0.tmp_0",
            "float32",
            "softmax",
        )
        for file_name, e in m.files.items():
            assert e.target == file_name.split("-")[0] and e.precision == "fp32"
            assert e.size_bytes == (d / file_name).stat().st_size and len(e.sha256) == 64
            assert e.input_shape[:2] == [1, 3] and e.op_counts["feed"] == 1
            assert e.opt_version == "2.13rc0" and e.nb_opt_version == "v2.13-rc"
            assert set(e.inputs_sha256) == {"model.pdmodel", "model.pdiparams"}
    portrait = manifest_of(out / PORTRAIT_V2)
    assert portrait.input_shape == [1, 3, 144, 256]
    assert portrait.model_stats.parameters == 937_006 and portrait.model_stats.conv_flops > 1e8
    human = manifest_of(out / HUMAN_V1).model_stats
    assert human.parameters == 137_466  # PP-HumanSeg-Lite's published 0.137 M parameters
    for missing in ("human_pp_humansegv2_lite_192x192", "human_pp_humansegv1_server_512x512"):
        assert f"{missing}: not available" in stderr
        assert f"{missing}_inference_model_with_softmax/" in stderr  # says where to put the files
    assert "4 model(s) ... " not in stdout and "3/7 model(s) ready (3 converted" in stdout

    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.nb")}
    # a model_spec.json from an earlier toolkit (older temporal defaults, no `contradict`) is rewritten from the
    # manifest even though the model is up to date; the current ones are left alone
    stale = out / PORTRAIT_V2 / "model_spec.json"
    old = json.loads(stale.read_text())
    old["temporal"]["fusion"]["light"] = 0.1
    del old["temporal"]["fusion"]["contradict"]
    stale.write_text(json.dumps(old))
    kept = {p: p.stat().st_mtime_ns for p in out.glob("*/model_spec.json") if p != stale}
    rc, stdout, _ = _run(capsys, *args, "--models", ",".join(REAL_MODELS))
    assert rc == 0
    assert "3/3 model(s) ready (0 converted, 3 up to date)" in stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.nb")} == mtimes
    fusion = json.loads(stale.read_text())["temporal"]["fusion"]
    assert (fusion["light"], fusion["contradict"]) == (FusionParams().light, FusionParams().contradict)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept


def test_truncated_params_fail_cleanly_and_others_convert(
    copy_model: Callable[[str], Path],
    tmp_path: Path,
    write_zoo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = copy_model(PORTRAIT_V2)
    copy_model(HUMAN_V1)
    params = broken / "model.pdiparams"
    params.write_bytes(params.read_bytes()[:1_000_000])
    zoo = write_zoo(models=[PORTRAIT_V2, HUMAN_V1], url_base=closed_port_url())
    out = tmp_path / "out"
    rc, _, stderr = _run(capsys, *_zoo_args(zoo, tmp_path / "models", out), "--cache-dir", str(tmp_path / "cache"))
    assert rc == 1
    # the graph fixes' parity check (desktop Paddle Inference) reads the parameters before opt does
    assert f"{PORTRAIT_V2}: Paddle Inference cannot load" in stderr and "complete or damaged" in stderr
    assert "does not match the official files" in stderr  # the local checksum warning
    assert not (out / PORTRAIT_V2).exists()  # nothing partial left
    assert (out / HUMAN_V1 / "arm-fp32.nb").is_file()


def test_local_checksum_mismatch_is_used_with_warning(
    copy_model: Callable[[str], Path],
    tmp_path: Path,
    write_zoo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = copy_model(HUMAN_V1)
    params = bytearray((folder / "model.pdiparams").read_bytes())
    params[-1] ^= 0x01  # a fine-tune under the same name: same structure, other weights
    (folder / "model.pdiparams").write_bytes(bytes(params))
    zoo = write_zoo(models=[HUMAN_V1], url_base=closed_port_url())
    out = tmp_path / "out"
    rc, _, stderr = _run(capsys, *_zoo_args(zoo, tmp_path / "models", out), "--targets", "x86")
    assert rc == 0
    assert "model.pdiparams: sha256" in stderr and "using it as given" in stderr
    m = manifest_of(out / HUMAN_V1)
    assert m.source.checksum_status == "mismatch" and m.source.warnings
    assert sorted(m.files) == ["x86-fp32.nb"]


def test_incomplete_local_folder_does_not_fall_through_to_cache(
    copy_model: Callable[[str], Path],
    models_dir: Path,
    tmp_path: Path,
    write_zoo: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = copy_model(HUMAN_V1)
    (folder / "model.pdiparams").unlink()
    cache = tmp_path / "cache"
    shutil.copytree(models_dir / (HUMAN_V1 + SUFFIX), cache / (HUMAN_V1 + SUFFIX))
    zoo = write_zoo(models=[HUMAN_V1], url_base=closed_port_url())
    rc, _, stderr = _run(capsys, *_zoo_args(zoo, tmp_path / "models", tmp_path / "out"), "--cache-dir", str(cache))
    assert rc == 1
    assert "model.pdiparams is missing" in stderr and str(folder) in stderr
    assert not (tmp_path / "out").exists()


def test_bad_zoo_entry_is_reported_and_others_convert(
    models_dir: Path, tmp_path: Path, write_zoo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    def edit(entries: list[dict]) -> None:
        entries[0]["resolution"] = "high"

    zoo = write_zoo(models=[PORTRAIT_V2, HUMAN_V1], edit=edit, url_base=closed_port_url())
    out = tmp_path / "out"
    rc, _, stderr = _run(capsys, *_zoo_args(zoo, models_dir, out), "--targets", "x86")
    assert rc == 1
    assert "models[0]" in stderr and "'resolution': unknown key" in stderr and str(zoo) in stderr
    assert (out / HUMAN_V1 / "x86-fp32.nb").is_file()
    assert not (out / PORTRAIT_V2).exists()


def test_unknown_model_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, stderr = _run(capsys, "zoo", "--models", "no_such_model")
    assert rc == 2 and "unknown model(s) no_such_model" in stderr


def test_own_folder_with_deploy_yaml(
    tiny_models: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    rc, stdout, _ = _run(capsys, "model", str(tiny_models("small")), "--name", "tiny_net", "--out", str(out))
    assert rc == 0, stdout
    m = manifest_of(out / "tiny_net")
    assert m.input_shape == [1, 3, 16, 16] and m.output_op == "softmax"
    assert inspect_nb(out / "tiny_net" / "arm-fp32.nb").target == "arm"


@pytest.mark.parametrize("name", ["my model", "a;rm -rf x", "$(id)", "../escape"])
def test_unsafe_names_are_refused(
    tiny_models: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    out = tmp_path / "out"
    rc, _, stderr = _run(capsys, "model", str(tiny_models("small")), "--name", name, "--out", str(out))
    assert rc == 1 and "is not allowed" in stderr and repr(name) in stderr
    assert not out.exists()


def test_folder_name_with_spaces_asks_for_name(
    tiny_models: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "My Model (v2)"
    shutil.copytree(tiny_models("small"), folder)
    rc, _, stderr = _run(capsys, "model", str(folder), "--out", str(tmp_path / "out"))
    assert rc == 1 and "pass --name NAME" in stderr


def test_unsupported_ops_are_listed(
    tiny_models: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    rc, _, stderr = _run(capsys, "model", str(tiny_models("unsupported")), "--name", "cum", "--out", str(out))
    assert rc == 1
    assert "not supported by Paddle-Lite" in stderr and "cumprod" in stderr
    assert not (out / "cum").exists()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("empty", "is empty"),
        ("pir", "not a PIR program"),
        ("no_params", "model.pdiparams is missing"),
        ("train", "training program"),
        ("garbage", "not a Paddle program"),
    ],
)
def test_bad_model_folders(
    setup: str,
    expected: str,
    tiny_models: Callable[[str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    if setup == "pir":
        (folder / "model.json").write_text("{}")
        (folder / "model.pdiparams").write_bytes(b"\0")
    elif setup == "no_params":
        shutil.copy(tiny_models("small") / "model.pdmodel", folder)
    elif setup == "train":
        shutil.copytree(tiny_models("train"), folder, dirs_exist_ok=True)
    elif setup == "garbage":
        (folder / "model.pdmodel").write_bytes(bytes(range(256)) * 20)
        (folder / "model.pdiparams").write_bytes(b"\0" * 64)
    out = tmp_path / "out"
    rc, _, stderr = _run(capsys, "model", str(folder), "--name", "m", "--input-shape", "1,3,16,16", "--out", str(out))
    assert rc == 2 and expected in stderr, stderr  # the one folder cannot be read: the command could not start
    assert not (out / "m").exists()


@pytest.mark.parametrize(("model", "params"), [("__model__", "__params__"), ("model", "params")])
def test_old_layouts_convert(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, params: str
) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    src = models_dir / (HUMAN_V1 + SUFFIX)
    shutil.copy(src / "model.pdmodel", folder / model)
    shutil.copy(src / "model.pdiparams", folder / params)
    out = tmp_path / "out"
    rc, stdout, _ = _run(
        capsys,
        "model",
        str(folder),
        "--name",
        "old",
        "--input-shape",
        "1,3,192,192",
        "--targets",
        "x86",
        "--out",
        str(out),
    )
    assert rc == 0, stdout
    assert inspect_nb(out / "old" / "x86-fp32.nb").target == "x86"


def test_a_fresh_clone_converts_from_the_shared_models_without_any_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from converter.base.locations import SHARED_DIR
    from converter.sources.fetch import default_models_dir

    if not (SHARED_DIR / "models").is_dir():
        pytest.skip(f"{SHARED_DIR / 'models'} is not beside this checkout")
    monkeypatch.delenv("MODELS_DIR", raising=False)
    assert default_models_dir() == SHARED_DIR / "models"
    out = tmp_path / "out"
    rc, _, err = _run(
        capsys, "zoo", "--models", HUMAN_V1, "--targets", "x86", "--out", str(out), "--cache-dir", str(tmp_path / "c")
    )
    assert rc == 0, err
    source = manifest_of(out / HUMAN_V1).source
    assert source.kind == "local"
    assert Path(source.folder).parent.resolve() == (SHARED_DIR / "models").resolve()  # ../shared may be a link
    monkeypatch.setenv("MODELS_DIR", str(tmp_path / "elsewhere"))
    assert default_models_dir() == tmp_path / "elsewhere"


def test_a_manifest_edited_by_hand_is_rebuilt_by_converting_again(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the error of a reader says to do (convert again) works: the converter rebuilds that model."""
    from converter.artifacts import manifest

    out = tmp_path / "out"
    argv = ["zoo", "--models-dir", str(models_dir), "--models", HUMAN_V1, "--targets", "x86", "--out", str(out)]
    assert _run(capsys, *argv)[0] == 0
    path = out / HUMAN_V1 / "manifest.json"
    data = json.loads(path.read_text())  # to edit it by hand
    data["preprocess"]["channel_order"] = "rgba"
    path.write_text(json.dumps(data))
    with pytest.raises(manifest.ManifestError, match="convert the model again"):
        manifest.read(out / HUMAN_V1)
    rc, stdout, stderr = _run(capsys, *argv)
    assert rc == 0 and "does not match this toolkit's manifest type" in stderr and " converted " in stdout
    read = manifest.read(out / HUMAN_V1)
    assert read is not None and read.preprocess.channel_order == "rgb"


def _strip_attr(folder: Path, op_type: str, attr: str) -> None:
    """Remove an attribute from every `op_type` op of the folder's program (as a foreign exporter might write it)."""
    from paddle.base.proto import framework_pb2

    path = folder / "model.pdmodel"
    desc = framework_pb2.ProgramDesc()
    desc.ParseFromString(path.read_bytes())
    for op in desc.blocks[0].ops:
        if op.type == op_type:
            keep = [a for a in op.attrs if a.name != attr]
            del op.attrs[:]
            op.attrs.extend(keep)
    path.write_bytes(desc.SerializeToString())


def test_an_attribute_with_no_default_is_named_and_the_other_models_convert(
    tiny_models: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """opt 2.13 reads conv2d's `groups` unconditionally; Paddle documents no default for it to fill in, so opt fails:
    the converter names the op and the attribute (not 'truncated files'), exit 1, and the next folder converts."""
    bad, good = tmp_path / "nogroups", tmp_path / "fine"
    shutil.copytree(tiny_models("small"), bad)
    shutil.copytree(tiny_models("small"), good)
    _strip_attr(bad, "conv2d", "groups")
    out = tmp_path / "out"
    rc, stdout, stderr = _run(capsys, "model", str(bad), str(good), "--out", str(out), "--targets", "x86")
    assert rc == 1, stdout + stderr
    assert "its conv2d op has no attribute 'groups'" in stderr and "Paddle documents no default" in stderr
    assert "truncated or corrupt" not in stderr
    assert (out / "fine" / "x86-fp32.nb").is_file() and not (out / "nogroups" / "x86-fp32.nb").exists()
    assert "failed: nogroups" in stdout


def test_an_attribute_paddle_26_leaves_out_is_filled_with_its_default(
    tiny_models: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Paddle 2.6 writes relu6 without `threshold`; opt 2.13 aborts without it. The graph fixes add Paddle's own
    default (6.0), say so in the manifest, and the model converts; with --no-graph-fixes the failure names it."""
    from paddle.base.proto import framework_pb2

    folder = tmp_path / "relu6net"
    shutil.copytree(tiny_models("small"), folder)
    path = folder / "model.pdmodel"
    desc = framework_pb2.ProgramDesc()
    desc.ParseFromString(path.read_bytes())
    conv = next(op for op in desc.blocks[0].ops if op.type == "conv2d")
    conv_out = next(s for s in conv.outputs if s.parameter == "Output").arguments[0]
    for op in desc.blocks[0].ops:  # the reader of the conv's output now reads relu6's
        for s in op.inputs:
            if conv_out in s.arguments and op is not conv:
                s.arguments[list(s.arguments).index(conv_out)] = conv_out + ".relu6"
    block = desc.blocks[0]
    v = block.vars.add()
    v.CopyFrom(next(x for x in block.vars if x.name == conv_out))
    v.name = conv_out + ".relu6"
    relu6 = block.ops.add()
    relu6.type = "relu6"
    relu6.inputs.add(parameter="X", arguments=[conv_out])
    relu6.outputs.add(parameter="Out", arguments=[conv_out + ".relu6"])
    ops = list(block.ops)  # relu6 right after the conv
    at = next(i for i, op in enumerate(ops) if op.type == "conv2d") + 1
    reordered = ops[:at] + [ops[-1]] + ops[at:-1]
    del block.ops[:]
    block.ops.extend(reordered)
    path.write_bytes(desc.SerializeToString())

    out = tmp_path / "out"
    rc, stdout, stderr = _run(capsys, "model", str(folder), "--out", str(out), "--no-graph-fixes", "--targets", "x86")
    assert rc == 1 and "its relu6 op has no attribute 'threshold'" in stderr, stdout + stderr
    rc, stdout, stderr = _run(capsys, "model", str(folder), "--out", str(out), "--targets", "arm,x86")
    assert rc == 0, stdout + stderr
    fixes = manifest_of(out / "relu6net").graph_fixes
    assert fixes.status == "applied" and fixes.rewrites_by_kind["attribute_default"] == 1
    assert [a.model_dump() for a in fixes.attribute_defaults] == [
        {"op": "relu6", "attribute": "threshold", "value": 6.0, "ops": 1}
    ]
    assert "relu6" in fixes.unfixed_errors["x86"]  # the unfixed program cannot be converted at all
    assert fixes.parity_max_abs_diff == 0.0
