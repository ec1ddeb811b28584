"""Writes the small Paddle 3 PIR exports under tests/data/pir/ that the fast tests read (committed: a few KB
each), with the Paddle 3 environment's Python (converter/reference/paddle3_env.py):

    .venv-paddle3/bin/python tests/pir_fixtures.py tests/data/pir

`mobile`: a 1x3x32x48 segmentation-like network with the ops the PIR exports of the zoo architectures use (conv
with bias, batch norm, depthwise conv, hardswish, a squeeze-excitation gate, a channel shuffle reshaped at run time,
split/concat, bilinear resize to the input's size, softmax). `extra`: every other op of configs/pir_ops.yaml that
those exports do not use, in one network, so that each mapping is checked against Paddle 3 Inference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import paddle
import paddle.nn.functional as F  # noqa: N812 - Paddle's own idiom
from paddle import nn


class Mobile(nn.Layer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2D(3, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2D(8)
        self.dw = nn.Conv2D(8, 8, 3, padding=1, groups=8, bias_attr=False)
        self.se_down = nn.Conv2D(8, 4, 1)
        self.se_up = nn.Conv2D(4, 8, 1)
        self.branch = nn.Conv2D(4, 4, 1)
        self.head = nn.Conv2D(8, 2, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        y = F.hardswish(self.bn(self.stem(x)))
        y = F.relu(self.dw(y))
        gate = F.hardsigmoid(self.se_up(F.relu(self.se_down(F.adaptive_avg_pool2d(y, 1)))))
        y = y * gate
        a, b = paddle.split(y, 2, axis=1)
        y = paddle.concat([a, F.relu(self.branch(b))], axis=1)
        n, c, h, w = paddle.shape(y)[0], y.shape[1], paddle.shape(y)[2], paddle.shape(y)[3]
        y = paddle.reshape(y, [n, 2, c // 2, h, w]).transpose([0, 2, 1, 3, 4]).reshape([n, c, h, w])
        y = F.interpolate(self.head(y), size=paddle.shape(x)[2:], mode="bilinear", align_corners=False)
        return F.softmax(y, axis=1)


class Extra(nn.Layer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2D(3, 6, 3, padding=1)
        self.up = nn.Conv2DTranspose(6, 4, 2, stride=2)
        self.prelu = nn.PReLU(4)
        self.norm = nn.LayerNorm([4])
        self.fc = nn.Linear(4, 3)

    def forward(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        y = self.conv(x)
        y = paddle.clip(F.leaky_relu(y, 0.1), -2.0, 2.0) * 0.5 + 0.25
        y = paddle.maximum(F.sigmoid(y), paddle.tanh(y)) / (paddle.abs(y) + 1.0)
        y = paddle.minimum(y, paddle.sqrt(paddle.exp(y))) - F.gelu(y)
        y = self.prelu(self.up(y))
        y = F.pad(y, [1, 1, 1, 1], mode="reflect")
        y = F.interpolate(y, scale_factor=0.5, mode="nearest")
        pooled = paddle.mean(y, axis=[2, 3]) + paddle.max(y, axis=[2, 3]) + paddle.sum(y, axis=[2, 3]) * 0.1
        z = self.fc(self.norm(pooled))
        part = paddle.unsqueeze(paddle.squeeze(z[:, 1:3], axis=0), axis=0)
        return [F.softmax(z, axis=-1), paddle.argmax(y, axis=1), part]


def main(out: Path) -> None:
    paddle.seed(2026)
    for name, net, shape in (("mobile", Mobile(), [1, 3, 32, 48]), ("extra", Extra(), [1, 3, 16, 16])):
        net.eval()
        spec = [paddle.static.InputSpec(shape, "float32", "x")]
        paddle.jit.save(net, str(out / name / "model"), input_spec=spec)
        print(out / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
