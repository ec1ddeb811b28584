"""Exports that Paddle 2.6 writes and opt 2.13 can run: networks `paddle.vision.models` builds (random weights,
exported with paddle.jit.save at 1x3x224x224, as a user would) convert with `python -m converter model DIR` for arm
and x86 in fp32 and fp16, and the x86 .nb computes what desktop Paddle Inference computes on generated images.
The CI list covers each repair: relu6's threshold (MobileNetV2), swish's beta (ShuffleNetV2-swish), the XShape of
flatten (all of them), hard_swish/SE blocks (MobileNetV3), concat/fire modules (SqueezeNet), residuals (ResNet18).
PPLITE_ALL_VISION=1 runs every architecture of docs/converting.md's table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.host.lite import LiteHostRunner
from converter.artifacts import manifest
from converter.cli.main import main as convert_main
from converter.images.generated import generated_images
from converter.images.preprocess import preprocess
from converter.reference.desktop import ReferenceRunner
from tests.conftest import REPO
from tests.runs import manifest_of
from tests.vision_exports import SEG, TOLERANCE

pytestmark = pytest.mark.slow
CI = ["mobilenet_v2", "shufflenet_v2_swish", "mobilenet_v3_small", "squeezenet1_1", "resnet18",
      "seg:pphumanseg_v1_lite_192", "seg:pphumanseg_v2_lite_192"]  # fmt: skip
ALL = CI + [
    "mobilenet_v1", "mobilenet_v3_large", "shufflenet_v2_x0_25", "shufflenet_v2_x1_0", "squeezenet1_0", "googlenet",
    "alexnet", "densenet121", "resnet50", "resnext50_32x4d", "inception_v3", "vgg11", "vgg16", "wide_resnet50_2",
    *(f"seg:{name}" for name in SEG if f"seg:{name}" not in CI),
]  # fmt: skip
REL_TOL = 1e-4  # the fp32 tolerance, relative to the output's largest magnitude (classifier logits are unbounded)


@pytest.mark.parametrize("arch", ALL if os.environ.get("PPLITE_ALL_VISION") == "1" else CI)
def test_a_vision_export_converts_and_matches(arch: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short = arch.removeprefix("seg:")
    src, out = tmp_path / short, tmp_path / "out"
    subprocess.run([sys.executable, str(REPO / "tests" / "vision_exports.py"), arch, str(src)], check=True,
                   capture_output=True, timeout=900)  # fmt: skip
    name = short.replace("_", "-")
    # no deploy.yaml and no --input-shape: the shape comes from the program's fixed input
    rc = convert_main(["model", str(src), "--name", name, "--out", str(out), "--precision", "fp32,fp16"])
    cap = capsys.readouterr()
    assert rc == 0, cap.out + cap.err
    folder = out / name
    assert sorted(p.name for p in folder.glob("*.nb")) == ["arm-fp16.nb", "arm-fp32.nb", "x86-fp32.nb"]
    data = manifest.read(folder)
    assert data is not None and data.input_shape == (SEG[short][3] if arch.startswith("seg:") else [1, 3, 224, 224])
    fixes = manifest_of(folder).graph_fixes
    assert fixes.status in ("applied", "not_needed")  # Inception-v3 needs nothing
    if arch == "mobilenet_v2":
        assert {"op": "relu6", "attribute": "threshold", "value": 6.0, "ops": 35} in [
            a.model_dump() for a in fixes.attribute_defaults
        ]
    if arch == "shufflenet_v2_swish":
        assert any(f.op == "swish" and f.attribute == "beta" and f.value == 1.0 for f in fixes.attribute_defaults)
    xs = [preprocess(img, data.preprocess) for _, img in generated_images()]
    ref = ReferenceRunner(src / "model.pdmodel", src / "model.pdiparams")
    refs = [ref.run([x])[data.output_name] for x in xs]
    got = LiteHostRunner(folder / "x86-fp32.nb").run_batch([[x] for x in xs]).outputs
    assert max(float(np.std(r)) for r in refs) > 0, "a constant output would make the comparison say nothing"
    for r, g in zip(refs, got, strict=True):
        diff = float(np.max(np.abs(r - g[data.output_name])))
        if arch.startswith("seg:"):  # softmax probabilities: the zoo's absolute fp32 tolerance, argmax per pixel
            assert diff <= TOLERANCE.get(short, 1e-4), (arch, diff)
            assert float(np.mean(r.argmax(1) == g[data.output_name].argmax(1))) >= 0.999
        else:  # logits: the same tolerance relative to their largest magnitude, and the same top-1 class
            assert diff <= REL_TOL * max(float(np.max(np.abs(r))), 1e-30), (arch, diff)
            assert int(np.argmax(r)) == int(np.argmax(g[data.output_name]))
