"""Exports a network with random weights, in a child process, as a user would: `paddle.jit.save` with a fixed
1x3xHxW InputSpec (Paddle 2.6's inference program and parameters). ARCH is a `paddle.vision.models` function
(1x3x224x224), or `seg:NAME`, a PaddleSeg 2.8 architecture of the zoo (SEG: its classes and best input shape,
as in PaddleSeg's contrib/PP-HumanSeg configs), exported with the zoo's softmax head.

python tests/vision_exports.py ARCH OUT_DIR
"""

from __future__ import annotations

import sys

SEG = {  # name: (model class, backbone class or None, model arguments, [N, C, H, W])
    "pphumanseg_v1_lite_192": ("PPHumanSegLite", None, {}, [1, 3, 192, 192]),
    "pphumanseg_v1_lite_398x224": ("PPHumanSegLite", None, {}, [1, 3, 224, 398]),
    "pphumanseg_v1_mobile_192": ("FCN", "HRNet_W18_Small_V1", {"align_corners": False}, [1, 3, 192, 192]),
    "pphumanseg_v2_lite_192": ("MobileSeg", "MobileNetV3_large_x1_0", {
        "cm_bin_sizes": [1, 2, 4], "backbone_indices": [0, 1, 2, 3], "cm_out_ch": 128,
        "arm_out_chs": [32, 64, 96, 128], "seg_head_inter_chs": [16, 32, 32, 32], "use_last_fuse": True,
    }, [1, 3, 192, 192]),
    "pphumanseg_v1_server_512": ("DeepLabV3P", "ResNet50_vd", {
        "backbone_indices": [0, 3], "aspp_ratios": [1, 12, 24, 36], "aspp_out_channels": 256, "align_corners": False,
    }, [1, 3, 512, 512]),
}  # fmt: skip


def export(arch: str, out: str) -> None:
    import paddle
    from paddle.static import InputSpec

    paddle.seed(0)
    shape = [1, 3, 224, 224]
    if arch.startswith("seg:"):
        import paddleseg.models as psm

        model_cls, backbone_cls, args, shape = SEG[arch[4:]]
        kwargs = {"backbone": getattr(psm, backbone_cls)()} if backbone_cls else {}
        seg = getattr(psm, model_cls)(num_classes=2, **kwargs, **args)

        class Softmaxed(paddle.nn.Layer):  # type: ignore[misc]  # the zoo's *_with_softmax head
            def __init__(self) -> None:
                super().__init__()
                self.seg = seg

            def forward(self, x: paddle.Tensor) -> paddle.Tensor:
                return paddle.nn.functional.softmax(self.seg(x)[0], axis=1)

        net = Softmaxed()
    else:
        net = getattr(paddle.vision.models, arch)()
    net.eval()
    paddle.jit.save(net, f"{out}/model", input_spec=[InputSpec(shape, "float32", "x")])


if __name__ == "__main__":
    export(sys.argv[1], sys.argv[2])
