"""Where models come from and how they are prepared, as one value built once from the command line: the output
root, local model folders, the download cache, whether downloads are allowed, the stand-in fallback and its
graphs, and the graph-fix settings. Every command that converts zoo models takes it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from converter.fetch import default_cache_dir
from converter.graph_fix_apply import GraphFixSettings

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
