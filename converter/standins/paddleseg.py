"""Stand-ins for zoo models without any official graph here (General V1-Server): the architecture is built from
PaddleSeg 2.8's model classes (the zoo entry names them), given random weights, calibrated, and exported with
paddle.jit.save at the fixed best input shape with a softmax head.

Calibration is one forward pass in dygraph: BatchNorm layers in training mode with momentum 0 take each layer's
batch statistics on the calibration images (every layer already sees its calibrated predecessors), then the
classifier is scaled so the logits stay within +-8 (see converter/standins/build.py for why)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from converter.base import atomic_files
from converter.base.progress import Progress
from converter.standins.store import TARGET_MAX_LOGIT, StandinError, publish


def build_paddleseg_standin(
    arch: Any,
    input_shape: tuple[int, ...],
    dest: Path,
    calibration: list[NDArray[Any]],
    *,
    seed: int = 0,
    label: str = "",
) -> dict[str, Any]:
    # One linear recipe in one dygraph session (build, calibrate BatchNorm, scale the head, export): kept whole.
    try:
        import paddle
        import paddleseg.models as psm
    except ImportError as e:
        raise StandinError(
            f"building {arch.model} needs the paddleseg package ({e}); `make setup` installs it "
            "(pip install --no-deps paddleseg==2.8.0 plus its light dependencies)"
        ) from None
    paddle.disable_static()
    paddle.seed(seed)
    try:
        kwargs = {"backbone": getattr(psm, arch.backbone)(**arch.backbone_args)} if arch.backbone else {}
        model = getattr(psm, arch.model)(num_classes=2, **kwargs, **arch.model_args)
    except (AttributeError, TypeError, ValueError) as e:
        raise StandinError(f"paddleseg cannot build {arch.model}/{arch.backbone} with {arch.model_args}: {e}") from None
    norms = [m for m in model.sublayers() if isinstance(m, paddle.nn.layer.norm._BatchNormBase)]
    x = paddle.to_tensor(np.concatenate(calibration, axis=0).astype(np.float32))
    progress = Progress(f"{label or arch.model}: random-weight stand-in", unit="steps")
    progress.update(0, 3, "BatchNorm statistics")
    with paddle.no_grad():
        for bn in norms:
            bn._momentum = 0.0  # running statistics := this batch's statistics
        model.train()
        model(x)
        progress.update(1, 3, "BatchNorm statistics")
        model.eval()
        convs = [m for m in model.sublayers() if isinstance(m, paddle.nn.Conv2D) and m._out_channels == 2]
        if not convs:
            raise StandinError(f"{arch.model}: no classifier conv with 2 outputs")
        head = convs[-1]
        logits = model(x)[0].numpy()
        means = logits.mean(axis=(0, 2, 3), keepdims=True)
        scale = TARGET_MAX_LOGIT / max(float(np.abs(logits - means).max()), 1e-6)
        head.weight.set_value(head.weight * scale)
        # The head is followed only by a resize, whose weights sum to one: the new logits are exactly
        # (logits - means) * scale (or logits * scale without a bias), so no second forward is needed.
        if head.bias is not None:
            head.bias.set_value((head.bias - paddle.to_tensor(means.reshape(-1).astype(np.float32))) * scale)
            max_logit = float(np.abs((logits - means) * scale).max())
        else:
            max_logit = float(np.abs(logits * scale).max())
        progress.update(2, 3, "classifier scaling")

    class Softmaxed(paddle.nn.Layer):  # type: ignore[misc]  # paddle ships no type information
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, image: Any) -> Any:
            return paddle.nn.functional.softmax(self.inner(image)[0], axis=1)

    partial = atomic_files.partial_dir(dest)
    spec = [paddle.static.InputSpec(list(input_shape), "float32", "x")]
    wrapped = Softmaxed(model)
    wrapped.eval()
    static = paddle.jit.to_static(wrapped, input_spec=spec, full_graph=True)
    paddle.jit.save(static, str(partial / "model"))
    h, w = input_shape[2], input_shape[3]
    (partial / "deploy.yaml").write_text(
        f"Deploy:\n  input_shape: {list(input_shape)}\n  model: model.pdmodel\n  output_dtype: float32\n"
        f"  output_op: softmax\n  params: model.pdiparams\n  transforms:\n  - target_size: [{w}, {h}]\n"
        "    type: Resize\n  - type: Normalize\n"
    )
    meta = {
        "weights": "random",
        "graph": f"paddleseg 2.8 {arch.model} / {arch.backbone}",
        "graph_sha256": arch.fingerprint(),
        "parameters": int(sum(int(np.prod(p.shape)) for p in model.parameters())),
        "batch_norms_recalibrated": len(norms),
        "max_abs_logit": max_logit,
        "seed": seed,
        "why": "latency-only stand-in: no official weights or graph available; accuracy is meaningless",
    }
    publish(partial, dest, meta)
    progress.update(3, 3, "export")
    progress.close()
    return meta
