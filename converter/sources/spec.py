"""The converter's value types, light enough for every module to import: what a conversion needs to know about a
model (ModelSpec), where models come from and how they are prepared (ModelSources, built once from the command
line), and the graph-fix settings. No Paddle, no I/O."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from converter.schema.manifest_types import InputPreprocess
from converter.schema.zoo import CalibAlgo, Preprocess, WeightScales
from converter.sources.fetch import default_cache_dir
from converter.sources.model_files import ModelFiles


@dataclass(frozen=True)
class ModelSpec:
    """What a conversion needs to know besides the files: the name, the fixed input shape and preprocessing."""

    name: str
    input_shape: tuple[int, int, int, int]
    preprocess: Preprocess
    title: str = ""


@dataclass(frozen=True)
class GraphFixSettings:
    enabled: bool = True
    images: Path | None = None  # extra real images for the parity check
    tolerance: float = 1e-4  # fp32 max abs diff allowed between the fixed and original program


DEFAULT_OUT = Path("build/models")


QUANT_FORMAT = 2  # bump when the quantized program changes for the same inputs (2: original output names kept)


@dataclass(frozen=True)
class QuantSettings:
    """How a full-int8 program is made; every field changes the result, so all of it keys the quantized program's
    cache and the .nb's staleness."""

    algo: CalibAlgo = "hist"
    weights: WeightScales = "channel"
    skip: tuple[str, ...] = ()  # convolution weights left in fp32 (from the sensitivity pass)

    def key(self, program_sha256: str, calib_sha256: str) -> str:
        text = json.dumps([QUANT_FORMAT, program_sha256, calib_sha256, asdict(self)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Int8Options:
    """What the command line says of full int8: the calibration folder (None: $CALIB, else the shared demo
    photos), samples per image, and settings that override a zoo entry's `int8` recipe."""

    calib_dir: Path | None = None
    per_image: int | None = None  # None: the recipe's, else 8
    algo: CalibAlgo | None = None
    weights: WeightScales | None = None


@dataclass(frozen=True)
class ModelSources:
    out_root: Path = DEFAULT_OUT
    models_dir: Path | None = None
    cache_dir: Path | None = None  # None: $PP_LITE_CACHE_DIR or ~/.cache/pp-lite-toolkit/models
    download: bool = True
    fallback: str | None = None  # "architecture": random-weight stand-ins when weights cannot be had
    graphs_dir: Path | None = None  # official graphs for stand-ins
    fixes: GraphFixSettings = GraphFixSettings()
    int8: Int8Options = Int8Options()
    runtimes: tuple[str, ...] = ("paddle-lite",)  # ncnn too: its .ncnn.param/.bin beside the .nb files

    @property
    def cache(self) -> Path:
        return self.cache_dir or default_cache_dir()


def effective_preprocess(spec: ModelSpec, files: ModelFiles) -> tuple[InputPreprocess, list[str]]:
    """Preprocessing from deploy.yaml when it has it, else from the zoo entry; warnings for disagreements."""
    warnings: list[str] = []
    _, _, h, w = spec.input_shape
    mean, std = spec.preprocess.mean, spec.preprocess.std
    dep = files.deploy
    if dep is not None:
        if dep.mean is not None and dep.std is not None:
            mean, std = dep.mean, dep.std
        if dep.target_size_wh and dep.target_size_wh != (w, h):
            warnings.append(
                f"{dep.path}: Resize target {dep.target_size_wh[0]}x{dep.target_size_wh[1]} differs from the "
                f"input shape {list(spec.input_shape)}; using the input shape"
            )
        if dep.unsupported_transforms:
            warnings.append(
                f"{dep.path}: transforms {list(dep.unsupported_transforms)} are not applied by the toolkit's "
                "preprocessing (only Resize and Normalize are)"
            )
    pre = InputPreprocess(
        width=w, height=h, mean=list(mean), std=list(std), channel_order=spec.preprocess.channel_order, scale=1 / 255
    )
    return pre, warnings
