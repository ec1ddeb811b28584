"""Exports a network with random weights, in a child process, as a user would: `paddle.jit.save` with a fixed
1x3xHxW InputSpec. Run by the toolkit's Python it writes Paddle 2.6's `model.pdmodel`; run by the Paddle 3 environment's
(converter/reference/paddle3_env.py, extra "exports", with PYTHONPATH at the repository) it writes Paddle 3's PIR
`model.json`, and a PaddleSeg architecture gets the deploy.yaml PaddleSeg 2.8's export writes on Paddle 3 (naming
model.pdmodel beside model.json). ARCH is a `paddle.vision.models` function (1x3x224x224), or `seg:NAME`, a PaddleSeg
2.8 architecture of the zoo (SEG: its classes and best input shape, as in PaddleSeg's contrib/PP-HumanSeg configs),
exported with the zoo's softmax head.

python tests/vision_exports.py ARCH OUT_DIR
"""

from __future__ import annotations

import sys

SEG = {  # name: (model class, backbone class or None, model arguments, [N, C, H, W]); backbone arguments in BACKBONE
    "pphumanseg_v1_lite_192": ("PPHumanSegLite", None, {}, [1, 3, 192, 192]),
    "pphumanseg_v1_lite_398x224": ("PPHumanSegLite", None, {}, [1, 3, 224, 398]),
    "pphumanseg_v1_mobile_192": ("FCN", "HRNet_W18_Small_V1", {"align_corners": False}, [1, 3, 192, 192]),
    "pphumanseg_v2_lite_192": ("MobileSeg", "MobileNetV3_large_x1_0", {
        "cm_bin_sizes": [1, 2, 4], "backbone_indices": [0, 1, 2, 3], "cm_out_ch": 128,
        "arm_out_chs": [32, 64, 96, 128], "seg_head_inter_chs": [16, 32, 32, 32], "use_last_fuse": True,
    }, [1, 3, 192, 192]),
    "pp_liteseg_stdc1_256": ("PPLiteSeg", "STDC1", {}, [1, 3, 256, 256]),
    "pphumanseg_v1_server_512": ("DeepLabV3P", "ResNet50_vd", {
        "backbone_indices": [0, 3], "aspp_ratios": [1, 12, 24, 36], "aspp_out_channels": 256, "align_corners": False,
    }, [1, 3, 512, 512]),
}  # fmt: skip
BACKBONE = {"pphumanseg_v1_server_512": {"output_stride": 8, "multi_grid": [1, 2, 4]}}  # as the zoo's stand-in
TOLERANCE = {"pphumanseg_v1_server_512": 5e-4}  # the zoo's fp32 tolerance of that model (default 1e-4)


def export(arch: str, out: str) -> None:
    """A vision classifier as is; a PaddleSeg architecture through the toolkit's own stand-in builder (BatchNorm
    statistics and a head calibrated on generated images, the zoo's softmax head, deploy.yaml), whose logits stay in
    the range of a trained model's."""
    if arch.startswith("seg:"):
        from pathlib import Path

        from converter.images.generated import calibration_images
        from converter.images.preprocess import preprocess
        from converter.schema.manifest_types import InputPreprocess
        from converter.schema.zoo import StandinArchitecture
        from converter.standins.paddleseg import build_paddleseg_standin

        model, backbone, args, shape = SEG[arch[4:]]
        pre = InputPreprocess.standard(shape[3], shape[2])
        spec = StandinArchitecture(
            model=model, backbone=backbone, backbone_args=BACKBONE.get(arch[4:], {}), model_args=args
        )
        build_paddleseg_standin(spec, tuple(shape), Path(out), [preprocess(x, pre) for x in calibration_images()])
        return
    import paddle
    from paddle.static import InputSpec

    paddle.seed(0)
    net = getattr(paddle.vision.models, arch)()
    net.eval()
    paddle.jit.save(net, f"{out}/model", input_spec=[InputSpec([1, 3, 224, 224], "float32", "x")])


if __name__ == "__main__":
    export(sys.argv[1], sys.argv[2])
