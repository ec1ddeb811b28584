"""The converter's value types, light enough for every module to import: what a conversion needs to know about a
model (ModelSpec), where models come from and how they are prepared (ModelSources, built once from the command
line), and the graph-fix settings. No Paddle, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from converter.fetch import default_cache_dir
from converter.zoo import Preprocess


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


@dataclass(frozen=True)
class ModelSources:
    out_root: Path = DEFAULT_OUT
    models_dir: Path | None = None
    cache_dir: Path | None = None  # None: $PP_LITE_CACHE_DIR or ~/.cache/pp-lite-toolkit/models
    download: bool = True
    fallback: str | None = None  # "architecture": random-weight stand-ins when weights cannot be had
    graphs_dir: Path | None = None  # official graphs for stand-ins
    fixes: GraphFixSettings = GraphFixSettings()

    @property
    def cache(self) -> Path:
        return self.cache_dir or default_cache_dir()
