"""Reading the toolkit's YAML files (the zoo, farm files, device profiles, export lists) the same way: a missing
file, unreadable YAML or a top level that is not a mapping each give the caller's error type with the file named;
and a pydantic validation error as one line of `where: what` problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from converter.base.errors import ToolkitError


def read_mapping(path: Path, error: type[ToolkitError], *, missing: str, top: str) -> dict[str, Any]:
    """The file's top-level mapping. `missing`: what to say after "<path> does not exist"; `top`: what the mapping
    holds, for the message when it is something else."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path} does not exist; {missing}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise error(f"{path} cannot be read as YAML: {e}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: the top level must be a mapping ({top})")
    return raw


def problems(err: ValidationError, limit: int | None = None) -> str:
    """`a.b: message; c: message` for each error (the first `limit`)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in err.errors()[:limit])
