"""Report section: converted models, their size and arithmetic."""

from __future__ import annotations

from benchmark.report.collect import Collected
from benchmark.report.document import Block, Heading, Paragraph, Table, cell_num
from converter.schema.manifest_types import Manifest

FLOP_PER_CYCLE = 16  # fp32 on a Cortex-A76-class core: 2 NEON FMA pipes x 4 lanes x 2


def _source_format(m: Manifest) -> str:
    """What the model was exported as: a ProgramDesc, or a Paddle 3 PIR program translated (and its check)."""
    t = m.translation
    if m.source_format != "pir" or t is None:
        return "program (.pdmodel)"
    return f"{t.exported_by}, translated (max |diff| {t.check_max_abs_diff:.1g} vs {t.reference_runtime})"


def models_section(c: Collected) -> list[Block]:
    rows = []
    for m in c.manifests:
        for name, e in sorted(m.files.items()):
            rows.append(
                [
                    m.model,
                    name,
                    e.target,
                    e.precision,
                    cell_num(e.size_bytes / 1e6, ".2f"),
                    e.nb_opt_version or "",
                    e.sha256[:12],
                    m.source.checksum_status,
                ]
            )
    stat_rows = [
        [
            m.model,
            f"{m.model_stats.parameters:,}",
            f"{m.model_stats.conv_flops / 1e9:.3f}",
            "x".join(map(str, m.model_stats.input_shape)),
            m.weights,
            _source_format(m),
        ]
        for m in c.manifests
        if m.model_stats is not None
    ]
    if not rows:
        return []
    return [
        Heading(2, "Model size and arithmetic", "stats"),
        Paragraph(
            "conv GFLOPs = 2 x multiply-accumulates of the convolutions at the best input shape (the rest of "
            "the graph is not counted). 'of physical limit' above = conv FLOPs / (the fastest core's max "
            f"frequency x {FLOP_PER_CYCLE} fp32 FLOP per cycle) / measured median."
        ),
        Table(["model", "parameters", "conv GFLOPs", "input (NCHW)", "weights", "exported as"], stat_rows, {1, 2}),
        Heading(2, "Converted models", "models"),
        Table(["model", "file", "target", "precision", "MB", "opt", "sha256", "source checksums"], rows, {4}),
    ]
