"""Report section for the converter's graph fixes: per model what was rewritten, the .nb op counts without and
with the fixes, the parity of the fixed program, and the fixed vs unfixed latency of the latest `graph-fixes` run."""

from __future__ import annotations

from benchmark.host.perf import FAMILIES, OTHER
from benchmark.records.rows import GraphFixRecord
from benchmark.records.runs import GraphFixesRun, HostProfileRun
from benchmark.report.collect import Collected
from benchmark.report.document import Block, Heading, Paragraph, Table, cell_num


def _ops(counts: dict[str, dict[str, int]], target: str) -> str:
    table = counts.get(target)
    return str(sum(table.values())) if table else "-"


def graph_fix_section(c: Collected) -> list[Block]:
    # Two tables in sequence (manifests, then the latest bench run), each a plain list of rows: kept together.
    rows = []
    for m in c.manifests:
        gf = m.graph_fixes
        if gf is None:
            continue
        rewrites = ", ".join(f"{k} {n}" for k, n in gf.rewrites_by_kind.items()) or "-"
        before, after = gf.ops_before, gf.ops_after
        rows.append(
            [
                m.model,
                gf.status,
                rewrites,
                f"{_ops(before, 'arm')} -> {_ops(after, 'arm')}",
                f"{_ops(before, 'x86')} -> {_ops(after, 'x86')}",
                cell_num(gf.parity_max_abs_diff, ".2g"),
            ]
        )
    runs = c.chronological(GraphFixesRun)
    if not rows and not runs:
        return []
    blocks: list[Block] = [
        Heading(2, "Graph fixes", "graph-fixes"),
        Paragraph(
            "Paddle >= 2.5 exports write conv biases in a form Paddle-Lite 2.13's opt cannot fuse; the converter "
            "rewrites them (and inert dropout, run-time interpolation sizes of fixed-shape exports) before opt. "
            "Op counts are of the .nb converted without and with the fixes; parity is the fixed program against "
            "the original on desktop Paddle Inference. 'not_needed': the program went to opt unchanged."
        ),
        Table(["model", "status", "rewrites", "arm .nb ops", "x86 .nb ops", "max |diff|"], rows, {5}),
    ]
    if runs:
        latest = runs[-1]
        head = ["model", "where", "unfixed ms", "fixed ms", "ratio (median of rounds)", "old-form ms", "old-form ratio"]
        head.append("ARM instructions fixed / unfixed (old form)")
        blocks.append(
            Table(
                [*head, "rounds"],
                [
                    [
                        r.model,
                        r.where,
                        cell_num(r.unfixed_median_ms, ".2f"),
                        cell_num(r.fixed_median_ms, ".2f"),
                        cell_num(r.ratio_median, ".2f"),
                        cell_num(r.old_form_median_ms, ".2f"),
                        cell_num(r.old_form_ratio_median, ".2f"),
                        _arm_ratio(r),
                        str(r.rounds),
                    ]
                    for r in latest.records
                ],
                {2, 3, 4, 5, 6, 7},
            )
        )
        blocks += _kernel_share_table(latest.records)
        olds = sorted({r.old_form_model for r in latest.records if r.old_form_model})
        if olds:
            blocks.append(
                Paragraph(
                    f"Old form: {', '.join(olds)}, the official (Paddle <= 2.4) export of the same architecture, "
                    "timed in the same rounds; its ratio to the unfixed .nb is the most a graph-form fix can recover."
                )
            )
    return blocks


def _arm_ratio(r: GraphFixRecord) -> str:
    if r.arm_instruction_ratio is None:
        return "-"
    old = r.arm_old_form_instruction_ratio
    return f"{r.arm_instruction_ratio:.3f}" + (f" ({old:.3f})" if old else "")


def _kernel_share_table(records: list[GraphFixRecord]) -> list[Block]:
    """Share of perf samples per kernel family, a column per model variant (runs made with --profile)."""
    columns = [
        (f"{r.model} {variant}", shares) for r in records for variant, shares in (r.kernel_shares_percent or {}).items()
    ]
    intro = "a graph fix can only save the share of the kernels it removes."
    return _share_table(columns, intro) if columns else []


def _share_table(columns: list[tuple[str, dict[str, float]]], intro: str) -> list[Block]:
    families = [n for n, _ in FAMILIES] + [OTHER]
    rows = [[f] + [cell_num(shares.get(f, 0.0), ".1f") for _, shares in columns] for f in families]
    return [
        Paragraph(
            "Where the host's time goes (perf cpu-clock samples around the inference loop, % per kernel family): "
            + intro
        ),
        Table(["kernel family", *[c for c, _ in columns]], rows, set(range(1, len(columns) + 1))),
    ]


def host_profile_section(c: Collected) -> list[Block]:
    """The latest `python -m benchmark host-profile` run: a column per profiled .nb."""
    latest = c.latest_run(HostProfileRun)
    if latest is None or not latest.records:
        return []
    columns = [(r.nb, r.shares_percent) for r in latest.records]
    intro = f"{latest.records[0].runs} timed runs per .nb, run file {latest.path}."
    return [Heading(2, "Host profile", "host-profile"), *_share_table(columns, intro)]
