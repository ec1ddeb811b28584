"""Argument parsing shared by the converter and benchmark CLIs: model selection, folders, shapes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from converter.spec import GraphFixSettings, ModelSources
from converter.zoo import DEFAULT_ZOO


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def csv_list(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def env_path(name: str) -> Path | None:
    """A path from the environment, or None when the variable is unset or empty."""
    return Path(os.environ[name]) if os.environ.get(name) else None


def env_list(name: str) -> list[str] | None:
    """A comma-separated list from the environment, or None when it is unset or empty."""
    return csv_list(os.environ.get(name, "")) or None


def nchw(text: str) -> tuple[int, int, int, int]:
    try:
        dims = tuple(int(x) for x in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"input shape {text!r} must be 1,3,H,W") from None
    if len(dims) != 4 or dims[0] != 1 or dims[1] != 3 or min(dims) <= 0:
        raise argparse.ArgumentTypeError(f"input shape {text!r} must be 1,3,H,W with H, W > 0")
    return (dims[0], dims[1], dims[2], dims[3])


def add_zoo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--zoo", type=Path, default=DEFAULT_ZOO, help="zoo file (default: configs/zoo.yaml)")
    p.add_argument(
        "--models",
        type=csv_list,
        default=csv_list(os.environ.get("MODELS", "")),
        help="comma-separated zoo names (default: $MODELS, else all)",
    )
    p.add_argument(
        "--models-dir",
        type=Path,
        default=env_path("MODELS_DIR"),
        help="local folder holding the official model folders (default: $MODELS_DIR)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="download cache (default: $PP_LITE_CACHE_DIR or ~/.cache/pp-lite-toolkit/models)",
    )
    p.add_argument("--offline", action="store_true", help="never download; use local folders and the cache only")
    p.add_argument(
        "--fallback",
        choices=["none", "architecture"],
        default=os.environ.get("FALLBACK") or "none",
        help="architecture: when a model's weights cannot be had, build a latency-only stand-in with "
        "random weights from its official graph (default $FALLBACK, else none)",
    )
    p.add_argument(
        "--graphs-dir",
        type=Path,
        default=env_path("GRAPHS_DIR"),
        help="official graphs for stand-ins (default $GRAPHS_DIR, else MODELS_DIR/graph_only)",
    )
    add_graph_fix_args(p)
    p.add_argument("--out", type=Path, default=Path("build/models"), help="output root (default: build/models)")
    p.add_argument("-v", "--verbose", action="store_true")


def add_graph_fix_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-graph-fixes",
        action="store_true",
        default=os.environ.get("NO_GRAPH_FIXES", "") not in ("", "0"),
        help="convert programs exactly as exported (default: rewrite Paddle 2.5+ conv-bias patterns opt cannot fuse)",
    )
    p.add_argument(
        "--fix-images",
        type=Path,
        default=env_path("IMAGES"),
        help="real images for the graph fixes' parity check, besides generated ones (default $IMAGES)",
    )


def graph_fix_settings(args: argparse.Namespace) -> GraphFixSettings:
    return GraphFixSettings(enabled=not args.no_graph_fixes, images=args.fix_images)


def graphs_dir(args: argparse.Namespace) -> Path | None:
    if args.graphs_dir is not None:
        return Path(args.graphs_dir)
    return Path(args.models_dir) / "graph_only" if args.models_dir else None


def model_sources(args: argparse.Namespace) -> ModelSources:
    """The zoo options of add_zoo_args as one value."""
    return ModelSources(
        out_root=args.out,
        models_dir=args.models_dir,
        cache_dir=args.cache_dir,
        download=not args.offline,
        fallback=args.fallback,
        graphs_dir=graphs_dir(args),
        fixes=graph_fix_settings(args),
    )
