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

Imports are lazy, so that child processes (`python -m converter.opt.worker`) start fast.
"""

from __future__ import annotations

from converter.base.lazy_api import lazy_getattr

_API = {
    "load_zoo": "converter.schema.zoo",
    "convert_zoo": "converter.pipeline.convert",
    "convert_zoo_model": "converter.pipeline.convert",
    "convert_folder": "converter.pipeline.convert",
    "ModelSources": "converter.sources.spec",
    "ModelSpec": "converter.sources.spec",
    "GraphFixSettings": "converter.sources.spec",
    "Int8Options": "converter.sources.spec",
    "load_calibration": "converter.quant.calibration",
    "inspect_nb": "converter.nb.inspect",
    "read_manifest": "converter.artifacts.manifest:read",
    "Manifest": "converter.schema.manifest_types",
}
__all__ = list(_API)

__getattr__ = lazy_getattr(_API)
