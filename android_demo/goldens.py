"""Golden files for the Android demo's Java unit tests, produced by the Python pipeline the toolkit trusts:
per image its decoded RGB pixels, the zoo's preprocessed NCHW tensor, desktop Paddle Inference's output and the
person mask at image size (converter.images.compare.prediction_at_size); camera-like YUV_420_888 frames (planar and
semi-planar, padded rows) with the RGB expected after full-range BT.601 conversion and each rotation; and a short
stream through the temporal smoothing (converter/images/temporal.py) with its output per frame.
Little-endian raw arrays plus index.json describing them."""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from converter.artifacts import manifest
from converter.artifacts.app_spec import SPEC_NAME
from converter.base import atomic_files
from converter.base.errors import ExitCode, ToolkitError, UsageError
from converter.cli.args import setup_logging
from converter.images.compare import foreground, prediction_at_size
from converter.images.generated import generated_images
from converter.images.motion_fusion import MotionFusion
from converter.images.preprocess import load_image, preprocess
from converter.images.temporal import TemporalSmoother, luminance
from converter.reference.desktop import Reference, open_reference
from converter.schema.manifest_types import Manifest

MAX_SIDE = 640  # keeps the goldens small; the Java side works at any size
YUV_SIZE = (160, 120)  # W x H of the camera-like frames (even, as YUV 4:2:0 needs)


def _save(folder: Path, name: str, array: NDArray[Any]) -> str:
    atomic_files.write_bytes(folder / name, np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())
    return name


def _image_entry(
    folder: Path, i: int, item: tuple[str, NDArray[Any]], data: Manifest, ref: Reference
) -> dict[str, Any]:
    name, bgr = item
    scale = MAX_SIDE / max(bgr.shape[:2])
    if scale < 1:
        bgr = cv2.resize(bgr, (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    h, w = bgr.shape[:2]
    x = preprocess(bgr, data.preprocess)
    out = ref.run([x])[data.output_name]
    mask = prediction_at_size(out, (h, w))
    return {
        "name": name,
        "width": w,
        "height": h,
        "rgb": _save(folder, f"img{i}.rgb.u8", cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)),
        "input": _save(folder, f"img{i}.nchw.f32", x.astype(np.float32)),
        "output": _save(folder, f"img{i}.out.f32", out.astype(np.float32)),
        "output_shape": list(out.shape),
        "mask": _save(folder, f"img{i}.mask.u8", mask.astype(np.uint8)),
        "mask_fraction": float(mask.mean()),
    }


def rgb_to_yuv420(rgb: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Full-range BT.601 (JFIF) Y at full resolution, Cb/Cr averaged over 2x2 blocks."""
    f = rgb.astype(np.float64)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    h, w = y.shape

    def sub(c: NDArray[Any]) -> NDArray[Any]:
        return np.asarray(c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)))

    def q(c: NDArray[Any]) -> NDArray[Any]:
        return np.asarray(np.clip(np.floor(c + 0.5), 0, 255).astype(np.uint8))

    return q(y), q(sub(cb)), q(sub(cr))


def yuv420_to_rgb(y: NDArray[Any], u: NDArray[Any], v: NDArray[Any]) -> NDArray[Any]:
    """The conversion the app must do: each pixel with its 2x2 block's chroma, rounded half up, clamped."""
    yy = y.astype(np.float64)
    cb = np.repeat(np.repeat(u.astype(np.float64), 2, axis=0), 2, axis=1) - 128.0
    cr = np.repeat(np.repeat(v.astype(np.float64), 2, axis=0), 2, axis=1) - 128.0
    chans = [yy + 1.402 * cr, yy - 0.344136 * cb - 0.714136 * cr, yy + 1.772 * cb]
    return np.asarray(np.stack([np.clip(np.floor(c + 0.5), 0, 255) for c in chans], axis=-1).astype(np.uint8))


def _yuv_entries(folder: Path, bgr: NDArray[Any]) -> list[dict[str, Any]]:
    w, h = YUV_SIZE
    rgb = cv2.cvtColor(cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    y, u, v = rgb_to_yuv420(rgb)
    expected = yuv420_to_rgb(y, u, v)
    rotations = {str(k * 90): _save(folder, f"yuv.rot{k * 90}.rgb.u8", np.rot90(expected, k=-k)) for k in range(4)}
    entries = []
    y_stride = w + 16  # camera buffers pad their rows
    y_plane = np.zeros((h, y_stride), np.uint8)
    y_plane[:, :w] = y
    # planar (I420): separate U and V planes, pixel stride 1
    uv_stride = w // 2 + 8
    u_plane = np.zeros((h // 2, uv_stride), np.uint8)
    v_plane = np.zeros((h // 2, uv_stride), np.uint8)
    u_plane[:, : w // 2], v_plane[:, : w // 2] = u, v
    entries.append(
        {
            "layout": "planar",
            "y": _save(folder, "yuv.planar.y.u8", y_plane),
            "u": _save(folder, "yuv.planar.u.u8", u_plane),
            "v": _save(folder, "yuv.planar.v.u8", v_plane),
            "uv_row_stride": uv_stride,
            "uv_pixel_stride": 1,
        }
    )
    # semi-planar NV21 (V first, interleaved): camera2's U plane starts one byte after the V plane in one buffer
    vu_stride = w + 16
    vu = np.zeros((h // 2, vu_stride), np.uint8)
    vu[:, 0:w:2], vu[:, 1:w:2] = v, u
    flat = vu.reshape(-1)
    entries.append(
        {
            "layout": "nv21",
            "y": "yuv.planar.y.u8",
            "u": _save(folder, "yuv.nv21.u.u8", flat[1:]),
            "v": _save(folder, "yuv.nv21.v.u8", flat[:-1]),
            "uv_row_stride": vu_stride,
            "uv_pixel_stride": 2,
        }
    )
    for e in entries:
        e.update(width=w, height=h, y_row_stride=y_stride, expected=rotations)
    return entries


TEMPORAL_FRAMES = 5


def _temporal_entry(folder: Path, bgr: NDArray[Any], data: Manifest, ref: Reference) -> dict[str, Any]:
    """A short stream for the temporal smoothing: the first image's probability and luminance at model resolution,
    then frames with noise on the probability and a bright square moving across the luminance (pixels that move
    are not smoothed, the still ones are), and the Python smoother's output for each (SpecTemporal of the spec)."""
    from converter.artifacts.app_spec import app_spec

    params = app_spec(data).temporal.params()
    w, h = data.preprocess.width, data.preprocess.height
    rgb = cv2.cvtColor(cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    out = ref.run([preprocess(bgr, data.preprocess)])[data.output_name]
    prob0 = (
        np.asarray(foreground(out), np.float32)
        if np.issubdtype(out.dtype, np.integer)
        else np.asarray(out[0, 1], np.float32)
    )
    y0 = luminance(rgb)
    rng = np.random.default_rng(11)
    smoother = TemporalSmoother(params)
    frames = []
    for t in range(TEMPORAL_FRAMES):
        prob = np.clip(prob0 + rng.normal(0, 0.1, prob0.shape).astype(np.float32) * (t > 0), 0, 1).astype(np.float32)
        y = y0.copy()
        side = max(2, min(w, h) // 4)
        x0 = (t * side) % max(1, w - side)
        y[:side, x0 : x0 + side] = np.float32(255.0) - y[:side, x0 : x0 + side]
        smoothed = smoother.step(prob, y)
        frames.append(
            {
                "prob": _save(folder, f"temporal{t}.prob.f32", prob),
                "luma": _save(folder, f"temporal{t}.luma.f32", np.asarray(y, np.float32)),
                "smoothed": _save(folder, f"temporal{t}.smoothed.f32", smoothed),
            }
        )
    return {
        "width": w,
        "height": h,
        "alpha": params.alpha,
        "gate": params.gate,
        "rgb": _save(folder, "temporal.rgb.u8", rgb),
        "frames": frames,
    }


def _fusion_entry(folder: Path, bgr: NDArray[Any], data: Manifest, ref: Reference) -> dict[str, Any]:
    """A short stream for the motion-compensated fusion: the first image moved by a sub-pixel random walk, a little
    rotation and a brightness change per frame (a jump of 15 % at frame 3), then a fast pan (a move of 8 % of the
    width in one frame, which starts over: fusion.jump) and one more frame; the model's probability of each frame
    with noise, turned over (1 - p) in one block at frame 2, where the model then contradicts the history
    (fusion.contradict), and the Python fusion's output for each. The parameters are the spec's (temporal.fusion),
    but `light` at most 0.1, so that the jump takes the light term's path: a larger change of light confuses the
    whole-cell search on this smooth picture and the step starts over, so the stream would not reach it."""
    from converter.artifacts.app_spec import app_spec

    params = app_spec(data).temporal.fusion.params()
    params = replace(params, light=min(params.light, 0.1))
    fusion = MotionFusion(params)
    w, h = data.preprocess.width, data.preprocess.height
    base = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(12)
    pan_at = TEMPORAL_FRAMES
    frames, resets = [], []
    for t in range(TEMPORAL_FRAMES + 2):
        m = np.asarray(cv2.getRotationMatrix2D((w / 2, h / 2), 0.4 * t, 1.0), np.float64)
        pan = 0.08 * w if t >= pan_at else 0.0
        m[:, 2] = m[:, 2] + np.array([1.3 * t + pan, -0.6 * t])
        moved = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        gain = (1.0 + 0.03 * t) * (1.15 if t == 3 else 1.0)  # frame 3: the light jumps (fusion.light)
        moved = np.clip(moved.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        out = ref.run([preprocess(moved, data.preprocess)])[data.output_name]
        prob = np.asarray(out[0, 1], np.float32) if not np.issubdtype(out.dtype, np.integer) else foreground(out)
        prob = np.clip(prob + rng.normal(0, 0.05, prob.shape).astype(np.float32) * (t > 0), 0, 1).astype(np.float32)
        if t == 2:  # the model now says the opposite in one block (fusion.contradict)
            prob[h // 4 : h // 2, w // 4 : w // 2] = 1.0 - prob[h // 4 : h // 2, w // 4 : w // 2]
        rgb = cv2.cvtColor(moved, cv2.COLOR_BGR2RGB)
        fused = fusion.step(prob, rgb)
        if fusion.last is not None and fusion.last.reset:
            resets.append(t)
        frames.append(
            {
                "rgb": _save(folder, f"fusion{t}.rgb.u8", rgb),
                "prob": _save(folder, f"fusion{t}.prob.f32", prob),
                "fused": _save(folder, f"fusion{t}.fused.f32", fused),
            }
        )
    fused_frames = len(frames) - 1 - len(resets)
    if pan_at not in resets or fused_frames < 3:  # a smooth generated texture may take the light jump for a move
        raise ToolkitError(
            f"goldens: the fusion stream started over at frame(s) {resets or 'none'} (the fast pan is frame {pan_at}) "
            f"and fused {fused_frames} frame(s); it would not exercise the fusion as meant"
        )
    return {"width": w, "height": h, **asdict(params), "frames": frames}


def write_goldens(model_dir: Path, images: list[Path], out: Path) -> Path:
    data = manifest.read(model_dir)
    if data is None or not (model_dir / SPEC_NAME).is_file():
        raise ToolkitError(f"{model_dir}: no manifest/model_spec.json; convert the model first (make convert)")
    ref = open_reference(*data.reference_files())
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copyfile(model_dir / SPEC_NAME, out / SPEC_NAME)
    named = [(p.name, load_image(p)) for p in images] or generated_images()[:2]
    entries = [_image_entry(out, i, item, data, ref) for i, item in enumerate(named)]
    atomic_files.write_json(
        out / "index.json",
        {
            "model": data.model,
            "images": entries,
            "yuv": _yuv_entries(out, named[0][1]),
            "temporal": _temporal_entry(out, named[0][1], data, ref),
            "fusion": _fusion_entry(out, named[0][1], data, ref),
        },
    )
    return out


def image_files(folder: Path | None, max_images: int) -> list[Path]:
    """The first jpg/png files of `folder` (sorted); none when no folder is given (then generated images are used)."""
    if folder is None:
        return []
    if not folder.is_dir():
        raise UsageError(f"images folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:max_images]


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m android_demo.goldens`."""
    p = argparse.ArgumentParser(prog="python -m android_demo.goldens", description=__doc__)
    p.add_argument("--model-dir", type=Path, required=True, help="a converted model folder (build/models/NAME)")
    p.add_argument("--images", type=Path, help="folder of images (default: two generated images)")
    p.add_argument("--max-images", type=int, default=3)
    p.add_argument("--out", type=Path, default=Path("build/android/goldens"))
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """`python -m android_demo.goldens`: the golden files alone (make android-demo writes them itself)."""
    args = parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        images = image_files(args.images, args.max_images)
        out = write_goldens(args.model_dir, images, args.out)
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"demo goldens: {out} ({len(images) or 2} image(s) + camera frames)")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
