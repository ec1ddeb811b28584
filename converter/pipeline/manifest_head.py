"""The manifest's model-level facts of one conversion (converter.pipeline.convert): the model, its source, input,
outputs and preprocessing, with the per-file entries, graph fixes, ncnn target and recommendations of the current
manifest kept for the caller to update."""

from __future__ import annotations

from converter.artifacts import manifest
from converter.program.read import ProgramInfo
from converter.schema.manifest_types import InputPreprocess, Manifest, OutputInfo
from converter.sources.fetch import ModelSource
from converter.sources.model_files import ModelFiles
from converter.sources.spec import ModelSpec


def output_op(program: ProgramInfo, files: ModelFiles) -> str:
    """The op whose output the app reads: deploy.yaml's, else a final softmax or argmax, else none."""
    if files.deploy and files.deploy.output_op:
        return files.deploy.output_op
    before_fetch = [t for t in program.op_types if t not in ("fetch", "scale", "cast")]
    last = before_fetch[-1] if before_fetch else ""
    return last if last in ("softmax", "argmax") else "none"


def manifest_head(
    current: Manifest | None,
    spec: ModelSpec,
    *,
    source: ModelSource,
    program: ProgramInfo,
    pre: InputPreprocess,
    warnings: list[str],
) -> Manifest:
    """The manifest's model-level facts; the per-file entries, graph fixes and recommendations of the current one
    are kept (the caller updates them)."""
    out = program.outputs[0]
    return Manifest(
        schema_version=manifest.SCHEMA_VERSION,
        model=spec.name,
        title=spec.title,
        toolkit_version=manifest.toolkit_version(),
        source=source.info(),
        input_name=program.inputs[0].name,
        input_shape=list(spec.input_shape),
        output_name=out.name,
        output_dtype=out.dtype,
        output_op=output_op(program, source.files),
        outputs=[OutputInfo(name=t.name, dtype=t.dtype, dims=list(t.dims)) for t in program.outputs],
        preprocess=pre,
        weights="random" if source.kind == "standin" else "trained",
        warnings=warnings,
        files=dict(current.files) if current else {},
        graph_fixes=current.graph_fixes if current else None,
        ncnn=current.ncnn if current else None,
        recommended=dict(current.recommended) if current else {},
    )
