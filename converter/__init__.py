"""Paddle inference models -> Paddle-Lite .nb files, for the zoo in configs/ and for users' own exports.

The public API is `convert_zoo` and `convert_model` (converter.convert); `python -m converter` is a thin CLI
over it. Imports are lazy so that child processes (`python -m converter.opt_worker`) start fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["convert_model", "convert_zoo"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from converter import convert

        return getattr(convert, name)
    raise AttributeError(name)
