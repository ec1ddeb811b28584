"""Paddle 3.3.1 exports, made inside the test with random weights as a user would (`paddle.jit.save` in the Paddle 3
environment the toolkit makes on first use, tests/vision_exports.py), converted with `python -m converter model DIR`
for arm and x86 in fp32 and fp16 and judged against Paddle 3.3.1 Inference on the `.json` itself: the translation
check of the conversion, host parity (x86 .nb), and, for one PaddleX-layout folder, everything downstream on the
ARM emulated phone (device parity, estimate, cost profile, full int8, layer-diff, report, the demo's spec).
CI runs the networks of CI (one per family of ops); PPLITE_ALL_VISION=1 every one of docs/converting.md's table."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from android_demo.goldens import write_goldens
from benchmark.cli.main import main as bench_main
from benchmark.host.lite import LiteHostRunner
from benchmark.records.runs import LatencyRun, ParityRun
from converter.artifacts import manifest
from converter.artifacts.app_spec import read_spec
from converter.cli.main import main as convert_main
from converter.images.generated import generated_images
from converter.images.preprocess import preprocess
from converter.reference.desktop import open_reference
from converter.reference.paddle3_env import PADDLE3_VERSION, paddle3_python
from tests.conftest import REPO
from tests.runs import read_as
from tests.vision_exports import SEG, TOLERANCE

pytestmark = pytest.mark.slow
# MobileNetV3 (SE gates, hardswish, dropout, flatten), PP-HumanSegV1-Lite (channel shuffles reshaped at run time:
# shape64/slice/stack folded), PP-HumanSegV2-Lite (MobileSeg: the architecture FLAGS_enable_pir_api=0 fails on)
CI = ["mobilenet_v3_small", "seg:pphumanseg_v1_lite_192", "seg:pphumanseg_v2_lite_192"]
ALL = CI + [
    "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2_x0_25", "shufflenet_v2_x1_0",
    "shufflenet_v2_swish", "squeezenet1_0", "squeezenet1_1", "resnet18", "resnet50", "resnext50_32x4d",
    "wide_resnet50_2", "googlenet", "inception_v3", "densenet121", "alexnet", "vgg11", "vgg16",
    *(f"seg:{name}" for name in SEG if f"seg:{name}" not in CI),
]  # fmt: skip
REL_TOL = 1e-4  # classifier logits: the fp32 tolerance relative to their largest magnitude


@pytest.fixture(scope="session")
def paddle3() -> Path:
    """The Paddle 3 environment with what exports need (made once, then reused by every later run)."""
    return paddle3_python(("exports",))


def export(paddle3: Path, arch: str, dest: Path) -> Path:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([str(paddle3), str(REPO / "tests" / "vision_exports.py"), arch, str(dest)], check=True,
                   capture_output=True, timeout=900, env=env)  # fmt: skip
    return dest


@pytest.mark.parametrize("arch", ALL if os.environ.get("PPLITE_ALL_VISION") == "1" else CI)
def test_a_paddle3_export_converts_and_matches_paddle3(
    arch: str, paddle3: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = arch.removeprefix("seg:")
    src, out = export(paddle3, arch, tmp_path / short), tmp_path / "out"
    assert (src / "model.json").is_file() and not (src / "model.pdmodel").exists()
    name = short.replace("_", "-")
    rc = convert_main(["model", str(src), "--name", name, "--out", str(out), "--precision", "fp32,fp16"])
    cap = capsys.readouterr()
    assert rc == 0, cap.out + cap.err
    folder = out / name
    assert sorted(p.name for p in folder.glob("*.nb")) == ["arm-fp16.nb", "arm-fp32.nb", "x86-fp32.nb"]
    data = manifest.read(folder)
    assert data is not None and data.source_format == "pir" and data.translation is not None
    t = data.translation
    assert t.exported_by == "Paddle 3.3 (PIR format 4)" and t.reference_runtime.startswith(
        f"Paddle Inference {PADDLE3_VERSION}"
    )
    assert t.check_max_abs_diff <= t.check_tolerance, t  # the translation itself, op by op: measured 0
    assert data.reference_files()[0] == (src / "model.json").resolve()
    # host parity: the x86 .nb against Paddle 3.3.1 Inference on the .json (never the translation)
    xs = [preprocess(img, data.preprocess) for _, img in generated_images()]
    reference = open_reference(*data.reference_files())
    refs = [reference.run([x])[data.output_name] for x in xs]
    reference.close()
    got = LiteHostRunner(folder / "x86-fp32.nb").run_batch([[x] for x in xs]).outputs
    assert max(float(np.std(r)) for r in refs) > 0, "a constant output would make the comparison say nothing"
    for r, g in zip(refs, got, strict=True):
        diff = float(np.max(np.abs(r - g[data.output_name])))
        if arch.startswith("seg:"):  # softmax: the zoo's absolute fp32 tolerance, argmax per pixel
            assert diff <= TOLERANCE.get(short, 1e-4), (arch, diff)
            assert float(np.mean(r.argmax(1) == g[data.output_name].argmax(1))) >= 0.999
        else:
            assert diff <= REL_TOL * max(float(np.max(np.abs(r))), 1e-30), (arch, diff)
            assert int(np.argmax(r)) == int(np.argmax(g[data.output_name]))


def test_a_paddlex_folder_end_to_end(  # type: ignore[no-untyped-def]
    paddle3, arm_runtime, data_dir, tmp_path, capsys
) -> None:
    """PaddleX 3's layout (inference.json + .pdiparams + inference.yml) of PP-HumanSegV2-Lite: full int8 calibrated
    through the translation; on the ARM emulated phone, device parity against Paddle 3.3.1, the estimate and the
    cost profile; layer-diff; the report; the demo's goldens from Paddle 3. Its ncnn files too: the same device
    parity against Paddle 3.3.1 on ncnn's ARM kernels (fp32 within 1e-4). The bench runs the fp32 variants of both
    runtimes (each variant is some 20 s of emulation); the fp16 .nb's first layers run on the phone in layer-diff
    against Paddle 3.3.1, and the bench's fp16 variants are covered on the 2.6 exports (test_arm_device,
    test_ncnn_device)."""
    src = export(paddle3, "seg:pphumanseg_v2_lite_192", tmp_path / "export")
    pdx = tmp_path / "humanseg_pdx"
    pdx.mkdir()
    shutil.copy(src / "model.json", pdx / "inference.json")
    shutil.copy(src / "model.pdiparams", pdx / "inference.pdiparams")
    (pdx / "inference.yml").write_text(
        "Deploy:\n  input_shape: [null, 3, null, null]\n  model: inference.pdmodel\n  output_dtype: float32\n"
        "  output_op: softmax\n  params: inference.pdiparams\n  transforms:\n  - target_size: [192, 192]\n"
        "    type: Resize\n  - type: Normalize\nGlobal:\n  model_name: PP-HumanSegV2-Lite\n"
    )
    out, reports = tmp_path / "out", tmp_path / "reports"
    calib = data_dir / "pphumanseg_demo_images"
    rc = convert_main(["model", str(pdx), "--out", str(out), "--precision", "fp32,fp16,int8", "--calib", str(calib),
                       "--calib-per-image", "2", "--runtimes", "paddle-lite,ncnn"])  # fmt: skip
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    folder = out / "humanseg_pdx"
    data = manifest.read(folder)
    assert data is not None and data.source_format == "pir" and data.input_shape == [1, 3, 192, 192]
    assert data.files["arm-int8.nb"].int8_kernels and (data.files["arm-int8.nb"].int8_kernels or 0) > 10
    common = ["--out", str(out), "--reports", str(reports)]
    one = ["--rounds", "1", "--repeats", "1", "--warmup", "0"]
    images = tmp_path / "images"  # device parity on one image (an ARM inference under QEMU per variant)
    images.mkdir()
    for name, img in generated_images()[:1]:
        assert cv2.imwrite(str(images / f"{name}.png"), img)
    both = ["--runtimes", "paddle-lite,ncnn"]
    rc = bench_main(["bench-emulated", "--profile", "sd855-arm", "--converted", "humanseg_pdx", "--precision",
                     "fp32", "--images", str(images), *both, *one, *common])  # fmt: skip
    cap = capsys.readouterr()
    assert rc == 0, cap.out + cap.err
    parity = read_as(sorted(reports.glob("parity-*.json"))[-1], ParityRun).records
    assert {(r.runtime, r.precision) for r in parity} == {("paddle-lite", "fp32"), ("ncnn", "fp32")}
    assert all(r.passed for r in parity)
    assert {r.reference_runtime for r in parity} == {f"Paddle Inference {PADDLE3_VERSION} (PIR)"}
    for runtime in ("paddle-lite", "ncnn"):  # the ARM kernels of both runtimes against Paddle 3.3.1 on the .json
        assert max(r.max_abs_diff for r in parity if (r.runtime, r.precision) == (runtime, "fp32")) <= 1e-4
    latency = read_as(sorted(reports.glob("latency-*.json"))[-1], LatencyRun).records
    assert all(r.estimate.est_latency_ms > 0 for r in latency if r.runtime == "paddle-lite")
    assert all(r.status == "ok" and r.instructions_per_inference for r in latency)
    rc = bench_main(["profile-arm", "--converted", "humanseg_pdx", "--precision", "int8", *common])
    cap = capsys.readouterr()
    assert rc == 0 and "conv 1x1 int8" in cap.out, cap.out + cap.err
    rc = bench_main(["layer-diff", "--model", "humanseg_pdx", "--precision", "fp16", "--limit", "3", *common])
    cap = capsys.readouterr()
    assert rc == 0 and "no op departs" in cap.out, cap.out + cap.err
    rc = bench_main(["report", "--reports", str(reports), "--models-out", str(out)])
    cap = capsys.readouterr()
    assert rc == 0
    assert "Paddle 3.3 (PIR format 4), translated" in (reports / "report.md").read_text()
    spec = read_spec((folder / "model_spec.json").read_text())
    assert spec.input_shape == [1, 3, 192, 192] and spec.preprocess.width == 192
    goldens = write_goldens(folder, [], tmp_path / "goldens")  # the demo's Java tests compare against these
    assert (goldens / "model_spec.json").is_file() and len(list(goldens.glob("*.f32"))) >= 2
