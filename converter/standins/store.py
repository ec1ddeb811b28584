"""The stand-in store's shared pieces: the mark a stand-in folder carries (STANDIN.json), how a finished folder is
published into place, and how a folder is recognised as random-weight. Both stand-in recipes (official graph,
paddleseg architecture) use them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from converter.base import atomic_files
from converter.base.errors import ToolkitError

TARGET_MAX_LOGIT = 8.0
STANDIN_MARK = "STANDIN.json"


class StandinError(ToolkitError):
    """A random-weight stand-in could not be built."""


def publish(partial: Path, dest: Path, meta: dict[str, Any]) -> None:
    """Write the STANDIN.json mark into the finished folder and move it into place (never half a stand-in)."""
    atomic_files.write_json(partial / STANDIN_MARK, meta)
    atomic_files.publish_dir(partial, dest)


def marked_random(folder: Path) -> str | None:
    """The warning for a model folder this toolkit built with random weights (its STANDIN.json says so), else None:
    such a folder converted as a user's model must still be labelled random."""
    try:
        meta = json.loads((folder / STANDIN_MARK).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("weights") != "random":
        return None
    graph = meta.get("graph", "unknown graph")
    return f"RANDOM WEIGHTS (latency-only stand-in: {graph}); accuracy figures are meaningless"
