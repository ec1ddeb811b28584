"""Host side, in the toolkit's own venv: the model's ONNX at its fixed input shape, made exactly as the toolkit's ncnn
conversion makes it (converter.program.static_shapes.static_program, then converter.ncnn.export.to_onnx on the
program opt converts), the photos preprocessed as the app does, and desktop Paddle Inference fp32 on each photo: the
reference every other runtime is compared with.

Usage: .venv/bin/python tools/other_runtimes/prepare.py --model NAME --out DIR --images DIR [--max-images N]
Writes DIR/model.onnx, DIR/input_<i>.npy, DIR/reference_<i>.npy and DIR/prepared.json. Exit 2 when the model is
not in the zoo or not converted, with one `error:` line."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from converter.artifacts import manifest as manifests  # noqa: E402 (the repository onto sys.path first)
from converter.base.errors import ToolkitError  # noqa: E402
from converter.images.preprocess import load_image, preprocess  # noqa: E402
from converter.ncnn.export import PADDLE2ONNX_VERSION, installed, to_onnx  # noqa: E402
from converter.program.static_shapes import static_program  # noqa: E402
from converter.reference.desktop import open_reference  # noqa: E402
from converter.schema.zoo import load_zoo  # noqa: E402

FIXED_DIR = "fixed_model"  # converter/pipeline/graph_fix_check.py: the program opt converts, graph fixes applied
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
FORMAT = 1  # bump when what this script writes changes


class PrepareError(ToolkitError):
    """The model or the photos cannot be prepared; exit 2."""


def program_folder(model_dir: Path, manifest: Any) -> tuple[Path, Path]:
    """The program the toolkit's ncnn conversion exports: the graph-fixed one when the fixes were applied, else the
    program opt converts (a PIR export's translation, or the export itself)."""
    fixes = manifest.graph_fixes
    if fixes is not None and fixes.status == "applied":
        folder = model_dir / FIXED_DIR
        files = folder / "model.pdmodel", folder / "model.pdiparams"
        if all(f.is_file() for f in files):
            return files
        raise PrepareError(f"{folder}: the graph-fixed program is missing: run `make convert MODELS={manifest.model}`")
    return manifest.program_files()


def photos(folder: Path, limit: int) -> list[Path]:
    if not folder.is_dir():
        raise PrepareError(f"{folder}: no such folder of photos: pass IMAGES=DIR")
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not found:
        raise PrepareError(f"{folder}: no photos (.jpg, .png, ...) in it: pass IMAGES=DIR")
    return found


def digest(paths: list[Path], extra: list[Any]) -> str:
    h = hashlib.sha256(json.dumps([FORMAT, *extra]).encode())
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def prepare(model: str, out: Path, images: Path, max_images: int, models_dir: Path) -> dict[str, Any]:
    zoo = load_zoo()
    if model not in zoo.names():
        raise PrepareError(f"unknown model {model!r}: pick from {', '.join(zoo.names())}")
    model_dir = models_dir / model
    manifest = manifests.read(model_dir)
    if manifest is None:
        raise PrepareError(f"{model_dir}: not converted: run `make convert MODELS={model}`")
    model_file, params_file = program_folder(model_dir, manifest)
    pre = manifest.preprocess
    shape = (1, 3, pre.height, pre.width)
    shots = photos(images, max_images)
    key = digest([model_file, params_file, *shots], [list(shape), PADDLE2ONNX_VERSION, pre.model_dump(mode="json")])
    done = out / "prepared.json"
    if done.is_file() and json.loads(done.read_text()).get("key") == key and (out / "model.onnx").is_file():
        print(f"{model}: ONNX, inputs and references up to date in {out}", file=sys.stderr)
        return dict(json.loads(done.read_text()))
    if installed("paddle2onnx") != PADDLE2ONNX_VERSION:
        have = installed("paddle2onnx")
        raise PrepareError(f"paddle2onnx {have} in the toolkit venv, want {PADDLE2ONNX_VERSION}: run `make setup`")
    out.mkdir(parents=True, exist_ok=True)
    try:
        program, rewrites = static_program(model_file.read_bytes(), shape)
    except ValueError as e:
        raise PrepareError(f"{model}: the program cannot be fixed at {list(shape)}: {e}") from None
    with tempfile.TemporaryDirectory(prefix="other-runtimes-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "program").mkdir()
        (tmp / "program" / "model.pdmodel").write_bytes(program)
        shutil.copyfile(params_file, tmp / "program" / "model.pdiparams")
        to_onnx(model, tmp / "program", tmp / "model.onnx")
        shutil.copyfile(tmp / "model.onnx", out / "model.onnx")
    for stale in [*out.glob("input_*.npy"), *out.glob("reference_*.npy")]:  # of another photo list
        stale.unlink()
    reference = open_reference(*manifest.reference_files())
    for i, path in enumerate(shots):
        x = preprocess(load_image(path), pre)
        np.save(out / f"input_{i}.npy", x)
        np.save(out / f"reference_{i}.npy", reference.run([x])[manifest.output_name])
    runtime = str(reference.runtime)  # a property of the Reference protocol
    reference.close()
    info = {
        "key": key,
        "model": model,
        "input_shape": list(shape),
        "program": str(model_file),
        "rewrites": rewrites,
        "reference": runtime,
        "paddle2onnx": PADDLE2ONNX_VERSION,
        "images": [str(p) for p in shots],
    }
    done.write_text(json.dumps(info, indent=2) + "\n")
    print(f"{model}: ONNX {list(shape)} ({rewrites or 'no rewrites'}), {len(shots)} photo(s) and their "
          f"{info['reference']} references in {out}", file=sys.stderr)  # fmt: skip
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--max-images", type=int, default=3)
    ap.add_argument("--models-dir", type=Path, default=REPO / "build" / "models", help="converted models")
    ap.add_argument("--check", action="store_true", help="only check that the model is in the zoo")
    args = ap.parse_args(argv)
    try:
        if args.check:
            names = load_zoo().names()
            if args.model not in names:
                raise PrepareError(f"unknown model {args.model!r}: pick from {', '.join(names)}")
            return 0
        prepare(args.model, args.out, args.images, args.max_images, args.models_dir)
    except ToolkitError as e:
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
