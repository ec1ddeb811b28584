"""Calibration images for full-int8 post-training quantization: a folder of photos (`--calib DIR` / $CALIB, by
default the shared PP-HumanSeg demo photos, which are not part of any labelled evaluation set), each expanded into
deterministic augmentations (mirror, crop, brightness and contrast). The set's hash (file contents, augmentation,
sample count) keys the quantized program's cache, so a changed set re-quantizes; the manifest records it, and every
accuracy figure leaves out images that show a calibration photo (same bytes, or the same picture re-encoded or
resized: a perceptual hash of the decoded image)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from converter.base.errors import UsageError
from converter.base.locations import SHARED_DIR
from converter.images.image_hash import perceptual_hash, same_picture
from converter.images.preprocess import ImageError, load_image
from converter.sources.model_files import sha256_file

ENV = "CALIB"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
AUGMENTATIONS_PER_IMAGE = 8
SEED = 0


def default_calibration_dir() -> Path:
    """$CALIB, else the demo photos of $DATA_DIR (../shared/data beside the repository)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    data = Path(os.environ["DATA_DIR"]) if os.environ.get("DATA_DIR") else SHARED_DIR / "data"
    return data / "pphumanseg_demo_images"


@dataclass(frozen=True)
class CalibrationImage:
    name: str
    sha256: str  # of the file's bytes: keys the quantized program's cache
    phash: str | None = None  # of the decoded picture: recognises re-encoded or resized copies (None: old manifest)

    def matches(self, sha256: str | None, phash: str | None) -> bool:
        """Is an evaluation image with these hashes this calibration photo, whatever its file's encoding or size?"""
        if sha256 is not None and sha256 == self.sha256:
            return True
        return self.phash is not None and phash is not None and same_picture(self.phash, phash)


@dataclass(frozen=True)
class CalibrationSet:
    folder: Path
    images: tuple[CalibrationImage, ...]
    per_image: int  # augmented samples per image
    seed: int = SEED

    @property
    def samples(self) -> int:
        return len(self.images) * self.per_image

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        for img in sorted(self.images, key=lambda i: i.sha256):
            h.update(img.sha256.encode())
        h.update(f"per_image={self.per_image};seed={self.seed};augment=v1".encode())
        return h.hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "images": [asdict(i) for i in self.images],
            "samples": self.samples,
            "augmentation": f"{self.per_image} per image: mirror, crop, brightness, contrast (seed {self.seed})",
            "sha256": self.sha256,
        }


def load_calibration(folder: Path | None, per_image: int = AUGMENTATIONS_PER_IMAGE) -> CalibrationSet:
    folder = folder or default_calibration_dir()
    if not folder.is_dir():
        raise UsageError(
            f"full int8 needs calibration images: {folder} is not a folder. Give --calib DIR (or CALIB=DIR): photos "
            "like the ones the model will see, never the labelled images its accuracy is measured on"
        )
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise UsageError(f"calibration folder {folder} holds no jpg/png image")
    if per_image < 1:
        raise UsageError("--calib-per-image must be >= 1")
    images = []
    for p in files:
        try:
            images.append(CalibrationImage(p.name, sha256_file(p), perceptual_hash(load_image(p))))
        except ImageError as e:
            raise UsageError(f"calibration image {p}: {e}") from None
    return CalibrationSet(folder, tuple(images), per_image)


def augmented(calib: CalibrationSet) -> list[NDArray[Any]]:
    """The calibration samples as BGR images: each photo `per_image` times, deterministically varied."""
    rng = np.random.RandomState(calib.seed)
    out: list[NDArray[Any]] = []
    for img in calib.images:
        try:
            bgr = load_image(calib.folder / img.name)
        except ImageError as e:
            raise UsageError(f"calibration image {calib.folder / img.name}: {e}") from None
        for k in range(calib.per_image):
            a = bgr[:, ::-1] if k % 2 else bgr
            h, w = a.shape[:2]
            s = 0.8 + 0.2 * rng.rand()
            ch, cw = max(8, int(h * s)), max(8, int(w * s))
            y, x = rng.randint(0, h - ch + 1), rng.randint(0, w - cw + 1)
            a = a[y : y + ch, x : x + cw].astype(np.float32)
            a = np.clip(a * (0.8 + 0.4 * rng.rand()) + rng.uniform(-20, 20), 0, 255).astype(np.uint8)
            out.append(np.ascontiguousarray(a))
    return out
