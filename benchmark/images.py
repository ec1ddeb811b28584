"""The images parity and accuracy run on: every jpg/png under a folder (recursively, except Annotations folders),
with the ground-truth mask of X/Images/name.jpg at X/Annotations/name.png (values 0/1), or a small deterministic
generated set when no folder is given."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from converter.base.errors import ToolkitError
from converter.images.generated import generated_images
from converter.images.image_hash import perceptual_hash
from converter.images.preprocess import ImageError, decode, to_bgr8
from converter.quant.calibration import CalibrationImage
from converter.sources.model_files import sha256_file

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


class ImageSetError(ToolkitError):
    """The image folder is missing or holds no usable image."""


@dataclass(frozen=True)
class ImageItem:
    name: str  # path relative to the images folder, or generated/<name>
    bgr: NDArray[Any]  # HxWx3 uint8
    mask: NDArray[Any] | None  # HxW uint8 {0, 1}, same size as the image
    sha256: str | None = None  # of the file's bytes
    phash: str | None = None  # of the decoded picture: with sha256, how calibration photos are recognised (left out)


@dataclass(frozen=True)
class ImageSet:
    source: str  # the folder, or "generated"
    items: tuple[ImageItem, ...]
    warnings: tuple[str, ...]


def _mask_for(image_path: Path, shape: tuple[int, int], warnings: list[str]) -> NDArray[Any] | None:
    if image_path.parent.name != "Images":
        return None
    annotations = image_path.parent.parent / "Annotations"
    mask_path = annotations / (image_path.stem + ".png")
    if not mask_path.is_file():
        if annotations.is_dir():
            warnings.append(f"{image_path}: no mask {mask_path}; ground-truth IoU skipped for this image")
        return None
    try:
        raw = decode(mask_path, cv2.IMREAD_GRAYSCALE)
    except ImageError as e:
        warnings.append(f"{mask_path}: {e}; ground-truth IoU skipped for {image_path.name}")
        return None
    if raw.shape[:2] != shape:
        warnings.append(
            f"{mask_path}: size {raw.shape[1]}x{raw.shape[0]} differs from the image's {shape[1]}x{shape[0]}; "
            "ground-truth IoU skipped for this image"
        )
        return None
    return (raw > 0).astype(np.uint8)


def load_image_set(folder: Path) -> ImageSet:
    if not folder.is_dir():
        raise ImageSetError(f"images folder {folder} does not exist or is not a folder")
    items: list[ImageItem] = []
    warnings: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if "Annotations" in rel.parts[:-1] or any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            warnings.append(f"skipping {path}: not a jpg/png image")
            continue
        try:
            bgr = to_bgr8(decode(path))
        except ImageError as e:
            warnings.append(f"skipping {path}: {e}")
            continue
        mask = _mask_for(path, (bgr.shape[0], bgr.shape[1]), warnings)
        items.append(ImageItem(rel.as_posix(), bgr, mask, sha256_file(path), perceptual_hash(bgr)))
    if not items:
        raise ImageSetError(f"images folder {folder} holds no jpg/png image that can be decoded")
    return ImageSet(str(folder), tuple(items), tuple(warnings))


def generated_image_set() -> ImageSet:
    """Four deterministic 640x480 images: a person-like silhouette, a gradient, smooth noise, a checkerboard."""
    return ImageSet("generated", tuple(ImageItem(f"generated/{n}.png", a, None) for n, a in generated_images()), ())


def load_dataset(folder: Path) -> ImageSet:
    """A labelled set: folder/Images/*.jpg|png with folder/Annotations/<stem>.png masks (0/1). Images without a
    usable mask are reported and kept for parity only; a set with no labelled image is an error."""
    images, annotations = folder / "Images", folder / "Annotations"
    if not images.is_dir() or not annotations.is_dir():
        raise ImageSetError(f"dataset {folder} must contain Images/ and Annotations/ (the mini_supervisely layout)")
    found = load_image_set(images)
    labelled = [i for i in found.items if i.mask is not None]
    if not labelled:
        raise ImageSetError(f"dataset {folder} has no image with a usable mask in {annotations}: nothing to evaluate")
    return ImageSet(str(folder), found.items, found.warnings)


def held_out(images: ImageSet, calibration: Iterable[CalibrationImage]) -> tuple[ImageSet, list[str]]:
    """The images a quantized variant is judged on: every one that does not show a photo used to calibrate it (a
    calibration image would flatter it), recognised by its bytes or, re-encoded or resized, by its decoded picture.
    Returns the set and what was left out: 'name (calibration photo X)'."""
    photos = list(calibration)
    kept, left_out = [], []
    for item in images.items:
        match = next((c for c in photos if c.matches(item.sha256, item.phash)), None)
        if match is None:
            kept.append(item)
        else:
            left_out.append(f"{item.name} (calibration photo {match.name})")
    return ImageSet(images.source, tuple(kept), images.warnings), left_out
