"""Argument parsing shared by the converter and benchmark CLIs: model selection, folders, shapes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from converter.base.errors import UsageError
from converter.base.needs import at_least, existing_dir, output_dir
from converter.schema.zoo import DEFAULT_ZOO, PRECISIONS, RENAMED_PRECISIONS
from converter.sources.fetch import default_models_dir
from converter.sources.spec import GraphFixSettings, Int8Options, ModelSources

OWN_LOGGERS = ("converter", "benchmark", "android_demo")


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.DEBUG if verbose else logging.INFO
    root.setLevel(level)
    for name in OWN_LOGGERS:  # importing paddle sets the root level to WARNING; ours keep their own
        logging.getLogger(name).setLevel(level)


def csv_list(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def precisions_arg(text: str) -> tuple[str, ...]:
    """--precision / $PRECISIONS: a comma-separated subset of the precision names; an old name is migrated with a
    message, an unknown one is a usage error (argparse prints it and exits 2)."""
    out = []
    for given in csv_list(text):
        name = RENAMED_PRECISIONS.get(given, given)
        if name != given:
            logging.getLogger("converter").warning(
                "warning: precision %r is now called %r (weight-only); 'int8' now means full integer int8", given, name
            )
        if name not in PRECISIONS:
            raise argparse.ArgumentTypeError(f"unknown precision {name!r}: use a subset of {', '.join(PRECISIONS)}")
        out.append(name)
    if not out:
        raise argparse.ArgumentTypeError(f"precisions must be a comma-separated subset of {', '.join(PRECISIONS)}")
    return tuple(out)


def add_precision_arg(p: argparse.ArgumentParser | argparse._ArgumentGroup, what: str) -> None:
    """The one --precision option of every command (default $PRECISIONS, checked by argparse like a flag)."""
    p.add_argument(
        "--precision",
        type=precisions_arg,
        default=os.environ.get("PRECISIONS") or None,
        help=f"{what}: {','.join(PRECISIONS)} (default $PRECISIONS, else each zoo entry's). int8 is full integer "
        "(calibrated); int8w/int16w are weight-only",
    )


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


def add_zoo_args(p: argparse.ArgumentParser, *, models: bool = True) -> None:
    """The zoo, where its models come from and where conversions go; --models unless the command names its own."""
    p.add_argument("--zoo", type=Path, default=DEFAULT_ZOO, help="zoo file (default: configs/zoo.yaml)")
    if models:
        p.add_argument(
            "--models",
            type=csv_list,
            default=csv_list(os.environ.get("MODELS", "")),
            help="comma-separated zoo names (default: $MODELS, else all)",
        )
    p.add_argument(
        "--models-dir",
        type=Path,
        default=default_models_dir(),
        help="local folder holding the official model folders (default: $MODELS_DIR, else ../shared/models beside "
        "the repository when it exists)",
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
    add_int8_args(p)
    add_runtimes_arg(p)
    p.add_argument("--out", type=Path, default=Path("build/models"), help="output root (default: build/models)")
    p.add_argument("-v", "--verbose", action="store_true")


RUNTIMES = ("paddle-lite", "ncnn")


def runtimes_arg(text: str) -> tuple[str, ...]:
    items = tuple(csv_list(text))
    bad = [r for r in items if r not in RUNTIMES]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"{text!r}: runtimes must be a comma-separated subset of {', '.join(RUNTIMES)}"
        )
    if "paddle-lite" not in items:
        raise argparse.ArgumentTypeError(f"{text!r}: paddle-lite is always converted (its program feeds ncnn's)")
    return items


def add_runtimes_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--runtimes",
        type=runtimes_arg,
        default=os.environ.get("RUNTIMES") or "paddle-lite",
        help="paddle-lite, and ncnn: also <model>/ncnn/model.ncnn.param + .bin (paddle2onnx + pnnx, checked on the "
        "desktop hop by hop; default $RUNTIMES, else paddle-lite)",
    )


def add_int8_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("full int8 (post-training quantization)")
    g.add_argument(
        "--calib",
        type=Path,
        default=env_path("CALIB"),
        help="calibration photos (default $CALIB, else the shared PP-HumanSeg demo photos); never the labelled "
        "images the accuracy is measured on (those that are get left out of it)",
    )
    g.add_argument(
        "--calib-algo",
        choices=["hist", "mse", "KL", "avg"],
        default=os.environ.get("CALIB_ALGO") or None,
        help="activation calibration (default $CALIB_ALGO, else the zoo entry's, else hist)",
    )
    g.add_argument(
        "--calib-per-image", type=int, default=None, help="augmented samples per calibration photo (default 8)"
    )
    g.add_argument(
        "--int8-weights", choices=["channel", "tensor"], default=None, help="weight scales (default: per channel)"
    )


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
        int8=Int8Options(args.calib, args.calib_per_image, args.calib_algo, args.int8_weights),
        runtimes=args.runtimes,
    )


def check_zoo_args(args: argparse.Namespace) -> None:
    """The inputs of add_zoo_args (and their environment variables), before any model is fetched or converted."""
    if args.fallback not in ("none", "architecture"):
        raise UsageError(f"--fallback (or $FALLBACK) {args.fallback!r}: use none or architecture")
    if getattr(args, "calib_algo", None) not in (None, "hist", "mse", "KL", "avg"):
        raise UsageError(f"--calib-algo (or $CALIB_ALGO) {args.calib_algo!r}: use hist, mse, KL or avg")
    if args.models_dir is not None:
        existing_dir(args.models_dir, "--models-dir", env="MODELS_DIR", fix="give the folder of the official models")
    if args.graphs_dir is not None:
        existing_dir(args.graphs_dir, "--graphs-dir", env="GRAPHS_DIR", fix="give the folder of the official graphs")
    check_conversion_args(args)
    at_least(args.calib_per_image, 1, "--calib-per-image")
    output_dir(args.out, "--out")
    if args.cache_dir is not None:
        output_dir(args.cache_dir, "--cache-dir")


def check_conversion_args(args: argparse.Namespace) -> None:
    """--calib and --fix-images (and $CALIB / $IMAGES) name folders that exist."""
    precision = getattr(args, "precision", None)
    if args.calib is not None and (precision is None or "int8" in precision):  # full int8 may be built
        existing_dir(args.calib, "--calib", env="CALIB", fix="give a folder of calibration photos")
        if not any(p.suffix.lower() in (".jpg", ".jpeg", ".png") for p in args.calib.iterdir()):
            raise UsageError(f"--calib (or $CALIB) {args.calib} holds no jpg/png image: give calibration photos")
    if args.fix_images is not None:
        existing_dir(args.fix_images, "--fix-images", env="IMAGES", fix="give a folder of jpg/png images")
