"""Paddle inference models -> Paddle-Lite .nb files, for the zoo in configs/ and for users' own exports.

The Python API (`python -m converter` is a thin CLI over it; see docs/api.md):

    load_zoo(path=None) -> Zoo                       the zoo file, validated
    convert_zoo(zoo, names, *, sources, targets, precisions) -> ConversionSummary
    convert_zoo_model(zoo, name, *, sources, targets, precisions) -> ModelOutcome
    convert_folder(folder, *, name, input_shape, ...) -> ModelOutcome     a user's own export
    ModelSources(out_root, models_dir, cache_dir, download, fallback, graphs_dir, fixes, int8)
    Int8Options(calib_dir, per_image, algo, weights)  full int8: calibration photos and settings
    load_calibration(folder, per_image) -> CalibrationSet
    inspect_nb(path) -> NbInfo                       a .nb's header and kernels, without loading it
    read_manifest(model_dir) -> Manifest | None      a converted model's manifest.json, as its type

Imports are lazy, so that child processes (`python -m converter.opt_worker`) start fast.
"""

from __future__ import annotations

from converter.lazy_api import lazy_getattr

_API = {
    "load_zoo": "converter.zoo",
    "convert_zoo": "converter.convert",
    "convert_zoo_model": "converter.convert",
    "convert_folder": "converter.convert",
    "ModelSources": "converter.spec",
    "ModelSpec": "converter.spec",
    "GraphFixSettings": "converter.spec",
    "Int8Options": "converter.spec",
    "load_calibration": "converter.calibration",
    "inspect_nb": "converter.nb_inspect",
    "read_manifest": "converter.manifest:read",
    "Manifest": "converter.manifest_types",
}
__all__ = list(_API)

__getattr__ = lazy_getattr(_API)
