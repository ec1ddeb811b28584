"""A package's public names, imported from their modules on first use (so child processes start fast)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_getattr(api: dict[str, str]) -> Callable[[str], Any]:
    """A module-level __getattr__ that resolves the names of `api` (name -> module, or module:attribute when the
    module calls it otherwise)."""

    def __getattr__(name: str) -> Any:
        if name in api:
            module, _, attribute = api[name].partition(":")
            return getattr(importlib.import_module(module), attribute or name)
        raise AttributeError(name)

    return __getattr__
