"""Where the toolkit's own files are: the repository (the converter package's parent), its configs/, and the team's
read-only models and data beside it (../shared). Every default that uses them says so."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
SHARED_DIR = REPO.parent / "shared"
