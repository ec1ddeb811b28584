"""What a zoo model's full-int8 variant is quantized from, outside a conversion: the trained model as found, the
program opt converts (graph-fixed when the fixes apply) and its preprocessing. The int8 study quantizes exactly this
program, so its skip names are the conversion's and its cached results are the ones `make convert` reuses."""

from __future__ import annotations

from dataclasses import dataclass

from converter.base.errors import ToolkitError
from converter.pipeline.graph_fix_check import prepare_graph_fixes
from converter.schema.manifest_types import InputPreprocess
from converter.schema.zoo import Int8Recipe, Zoo
from converter.sources.fetch import ModelSource, resolve
from converter.sources.spec import GraphFixSettings, ModelSources, ModelSpec, effective_preprocess


@dataclass(frozen=True)
class Int8Source:
    spec: ModelSpec
    source: ModelSource  # the trained model as found: the fp32 reference
    program: ModelSource  # what is quantized and converted
    pre: InputPreprocess
    recipe: Int8Recipe | None  # the zoo entry's `int8:` settings, if any


def int8_source(zoo: Zoo, name: str, sources: ModelSources) -> Int8Source:
    """Raises ToolkitError when the model (with trained weights) cannot be had: quantizing random weights would
    measure nothing."""
    entry = zoo.get(name)
    source = resolve(entry, sources.models_dir, sources.cache, download=sources.download)
    if source.kind == "standin":
        raise ToolkitError(f"{name}: only a random-weight stand-in is available; int8 accuracy needs trained weights")
    spec = ModelSpec(entry.name, entry.input_shape, entry.preprocess, title=entry.title)
    pre, _ = effective_preprocess(spec, source.files)
    tol = zoo.tolerance(entry, "fp32").max_abs_diff or sources.fixes.tolerance
    fixes = GraphFixSettings(sources.fixes.enabled, sources.fixes.images, tol)
    fixed = prepare_graph_fixes(name, source, sources.out_root / name, pre, fixes)
    return Int8Source(spec, source, fixed.source, pre, entry.int8)
