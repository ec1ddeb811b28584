"""Latency-only stand-ins: a model's official graph with random weights, for zoo models whose weights cannot be
had (only on request: --fallback architecture). Every output made from one says weights "random".

Random weights need care (../shared/docs/host-performance.md, pitfalls 1 and 6): BatchNorm statistics of (0, 1)
and unscaled classifiers give logits in the hundreds, and Paddle-Lite x86's softmax, which subtracts one maximum
over the whole C*H*W block, then returns inf/NaN and runs slower. So after a He-normal fill the BatchNorm statistics
are re-estimated, layer by layer, on natural-looking images, and the classifier is scaled and centred so that the
logits stay within +-8, the range of trained PP-HumanSeg models.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from converter.base import atomic_files
from converter.program.read import read_program
from converter.schema.manifest_types import InputPreprocess
from converter.sources.model_files import sha256_file
from converter.standins.store import STANDIN_MARK, TARGET_MAX_LOGIT, StandinError, publish

log = logging.getLogger(__name__)


def _fill(shape: list[int], role: str | None, rng: np.random.Generator) -> NDArray[np.float32]:
    if role in ("scale", "var"):
        return np.ones(shape, np.float32)
    if role in ("bias", "mean") or len(shape) != 4:
        return np.zeros(shape, np.float32)
    fan_in = max(1, int(np.prod(shape[1:])))
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape).astype(np.float32)


def build_standin(
    graph_dir: Path, dest: Path, calibration: list[NDArray[Any]], *, seed: int = 0, label: str = ""
) -> dict[str, Any]:
    """Write dest/{model.pdmodel, model.pdiparams, deploy.yaml, STANDIN.json} from graph_dir's official program."""
    # One linear recipe in one Paddle static scope (fill, BatchNorm re-estimation layer by layer, classifier
    # scaling, save): split, it would pass the program, scope and executor around for no clarity.
    import paddle
    from paddle.base import core

    program_file = graph_dir / "model.pdmodel"
    info = read_program(program_file)  # checks the program before paddle runs it
    feed = info.inputs[0].name
    paddle.enable_static()
    try:
        prog = paddle.static.Program.parse_from_string(program_file.read_bytes())
        block = prog.global_block()
        params = sorted(
            (v for v in prog.list_vars() if v.persistable and v.type == core.VarDesc.VarType.LOD_TENSOR),
            key=lambda v: v.name,
        )
        bn_ops = [op for op in block.ops if op.type == "batch_norm"]
        roles = {
            op.input(slot)[0]: role
            for op in bn_ops
            for slot, role in (("Scale", "scale"), ("Bias", "bias"), ("Mean", "mean"), ("Variance", "var"))
        }
        scope = paddle.static.Scope()
        place = paddle.CPUPlace()
        rng = np.random.default_rng(seed)
        for v in params:
            scope.var(v.name).get_tensor().set(_fill([int(d) for d in v.shape], roles.get(v.name), rng), place)
        x = np.concatenate(calibration, axis=0).astype(np.float32)
        exe = paddle.static.Executor(place)
        with paddle.static.scope_guard(scope):
            _batch_statistics(prog, exe, feed={feed: x})
            max_logit = _calibrate_classifier(prog, scope, exe, feed=feed, x=x, place=place)
            atomic_dir = atomic_files.partial_dir(dest)
            paddle.static.save_vars(exe, str(atomic_dir), main_program=prog, vars=params, filename="model.pdiparams")
    finally:
        paddle.disable_static()
    shutil.copy(program_file, atomic_dir / "model.pdmodel")
    if (graph_dir / "deploy.yaml").is_file():
        shutil.copy(graph_dir / "deploy.yaml", atomic_dir / "deploy.yaml")
    for f in atomic_dir.iterdir():
        f.chmod(0o644)
    meta = {
        "weights": "random",
        "graph": str(program_file),
        "graph_sha256": sha256_file(program_file),
        "parameters": int(sum(int(np.prod(v.shape)) for v in params)),
        "batch_norms_recalibrated": len(bn_ops),
        "max_abs_logit": max_logit,
        "seed": seed,
        "why": "latency-only stand-in: the official weights were not available; accuracy is meaningless",
    }
    publish(atomic_dir, dest, meta)
    log.info(
        "stand-in %s: %d parameters, %d BatchNorms recalibrated, max |logit| %.1f",
        dest.name,
        meta["parameters"],
        len(bn_ops),
        max_logit,
    )
    return meta


def _batch_statistics(prog: Any, exe: Any, *, feed: dict[str, Any]) -> None:
    """Every BatchNorm's mean and variance := its input's statistics over the calibration batch, each layer seeing
    its calibrated predecessors: one forward of a copy of the program whose BatchNorms are in training mode with
    momentum 0 (they normalise by, and store, the batch statistics) instead of one forward per layer."""
    training = prog.clone()
    block = training.global_block()
    for i, op in enumerate(block.ops):
        if op.type == "batch_norm":
            if "ReserveSpace" not in op.output_names:  # the training kernel writes it; inference exports drop it
                reserve = block.create_var(name=f"standin_bn_reserve_{i}", dtype="float32")
                op.desc.set_output("ReserveSpace", [reserve.name])
            op._set_attr("is_test", False)
            op._set_attr("use_global_stats", False)
            op._set_attr("momentum", 0.0)
    exe.run(training, feed=feed, fetch_list=[])


def _calibrate_classifier(prog: Any, scope: Any, exe: Any, *, feed: str, x: NDArray[Any], place: Any) -> float:
    """Scale and centre the last conv with num_classes outputs so the softmax input stays within +-8."""
    block = prog.global_block()
    softmax = [op for op in block.ops if op.type == "softmax"]
    if not softmax:
        return float("nan")
    logits_name = softmax[-1].input("X")[0]
    (logits,) = exe.run(prog, feed={feed: x}, fetch_list=[logits_name])
    classes = logits.shape[1]
    convs = [op for op in block.ops if op.type in ("conv2d", "depthwise_conv2d")]
    head = next(
        (op for op in reversed(convs) if scope.find_var(op.input("Filter")[0]).get_tensor().shape()[0] == classes), None
    )
    if head is None:
        raise StandinError(f"no classifier conv with {classes} outputs found before the softmax")
    out = head.output("Output")[0]
    bias_name = None
    for op in block.ops:
        if op.type == "elementwise_add" and op.input("X")[0] == out:
            bias_name = op.input("Y")[0]
    centred = logits - logits.mean(axis=(0, 2, 3), keepdims=True)
    scale = TARGET_MAX_LOGIT / max(float(np.abs(centred).max()), 1e-6)
    weight = scope.find_var(head.input("Filter")[0]).get_tensor()
    weight.set((np.array(weight) * scale).astype(np.float32), place)
    if bias_name is not None and scope.find_var(bias_name) is not None:
        bias = scope.find_var(bias_name).get_tensor()
        b = np.array(bias)
        means = logits.mean(axis=(0, 2, 3)).reshape(b.shape)
        bias.set(((b - means) * scale).astype(np.float32), place)
    (after,) = exe.run(prog, feed={feed: x}, fetch_list=[logits_name])
    peak = float(np.abs(after).max())
    if peak > TARGET_MAX_LOGIT:  # centring is not exactly linear through the head: one corrective rescale
        fix = TARGET_MAX_LOGIT / peak
        weight.set((np.array(weight) * fix).astype(np.float32), place)
        if bias_name is not None and scope.find_var(bias_name) is not None:
            bias = scope.find_var(bias_name).get_tensor()
            bias.set((np.array(bias) * fix).astype(np.float32), place)
        (after,) = exe.run(prog, feed={feed: x}, fetch_list=[logits_name])
        peak = float(np.abs(after).max())
    return peak


def standin_source(entry: Any, graphs_dir: Path | None, cache_dir: Path) -> Any:
    """A ModelSource for the zoo entry's random-weight stand-in, built once and cached beside the downloads: from the
    official graph when graphs_dir has it, else from the entry's paddleseg `standin:` recipe."""
    from converter.images.generated import calibration_images
    from converter.images.preprocess import preprocess
    from converter.sources.fetch import ModelSource, checksums
    from converter.sources.model_files import find_model_files

    folder = entry.archive_folder
    graph = graphs_dir / folder if graphs_dir else None
    has_graph = graph is not None and (graph / "model.pdmodel").is_file()
    if not has_graph and entry.standin is None:
        where = f"{graphs_dir / folder}/model.pdmodel" if graphs_dir else "--graphs-dir (default MODELS_DIR/graph_only)"
        raise StandinError(
            f"{entry.name}: no official graph for a random-weight stand-in: {where} does not exist (a stand-in needs "
            "the official model.pdmodel, or a `standin:` architecture in the zoo entry)"
        )
    dest = cache_dir / f"{folder}__random_weights"
    mark = dest / STANDIN_MARK
    fingerprint = sha256_file(graph / "model.pdmodel") if has_graph and graph else entry.standin.fingerprint()
    origin = f"the official graph {graph}" if has_graph else f"paddleseg's {entry.standin.model}"
    if not (mark.is_file() and json.loads(mark.read_text()).get("graph_sha256") == fingerprint):
        _, _, h, w = entry.input_shape
        pre = InputPreprocess(
            width=w,
            height=h,
            mean=list(entry.preprocess.mean),
            std=list(entry.preprocess.std),
            channel_order=entry.preprocess.channel_order,
        )
        log.info("%s: building a random-weight stand-in from %s (latency only)", entry.name, origin)
        cache_dir.mkdir(parents=True, exist_ok=True)
        if has_graph and graph:
            build_standin(graph, dest, [preprocess(img, pre) for img in calibration_images()], label=entry.name)
        else:
            from converter.standins.paddleseg import build_paddleseg_standin

            # 512x512 ResNet-50 forwards in dygraph are slow on a CPU (about 35 s per image here): one textured
            # calibration image (its 512x512 pixels, 4096 per channel at the deepest layers, give the statistics)
            calibration = [preprocess(img, pre) for img in calibration_images(count=1)]
            build_paddleseg_standin(entry.standin, entry.input_shape, dest, calibration, label=entry.name)
    files = find_model_files(dest)
    warning = (
        f"RANDOM WEIGHTS (latency-only stand-in built from {origin}); accuracy figures are meaningless and excluded"
    )
    return ModelSource("standin", files, checksums(files), "random weights", (warning,), entry.url)
