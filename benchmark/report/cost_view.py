"""The report's ARM cost profile: a stacked bar per model x variant by kernel family, the 10 costliest ops of each
(by estimated phone time when the device class has a cost model, else by instructions), and the cost model of each
device class (its fit to phone figures, with leave-one-out errors)."""

from __future__ import annotations

from benchmark.profile.cost_model import CostModelError, load_cost_model
from benchmark.records.types import LatencyRecord
from benchmark.report import plots
from benchmark.report.collect import Collected
from benchmark.report.document import Block, Heading, Image, Paragraph, Table, cell_num

TOP_OPS = 10


def _label(r: LatencyRecord) -> str:
    return f"{r.model} {r.precision} ({r.device.model or r.device.serial})"


def cost_model_table(device_class: str) -> list[Block]:
    try:
        model = load_cost_model(device_class)
    except CostModelError as e:
        return [Paragraph(f"{device_class}: {e}", note=True)]
    if model is None:
        return [Paragraph(f"{device_class}: no cost model (uncalibrated): estimates are not made.", note=True)]
    head = (
        f"{device_class} ({model.soc}, {model.core} at {model.clock_mhz:.0f} MHz): cost model {model.label}, "
        f"instructions per cycle {', '.join(f'{g} {v:.2f}' for g, v in model.ipc.items()) or '-'}"
        f"{f', plus {model.op_us:.1f} µs per op' if model.op_us else ''}; "
        f"fit RMS {cell_num(model.fit_rms_pct, '.1f')} %, leave-one-out RMS {cell_num(model.loo_rms_pct, '.1f')} % "
        f"(max {cell_num(model.loo_max_pct, '.1f')} %)."
    )
    rows = [
        [
            p.model,
            p.precision,
            f"{p.phone_ms:g}",
            cell_num(p.est_ms, ".2f"),
            cell_num(p.loo_est_ms, ".2f"),
            cell_num(100 * ((p.loo_est_ms or 0) / p.phone_ms - 1), "+.1f"),
            p.source,
        ]
        for p in model.points
    ]
    table = Table(
        ["model", "variant", "phone ms", "fit ms", "left-out ms", "left-out error %", "source"], rows, {2, 3, 4, 5}
    )
    return [Paragraph(head + (f" {model.note}" if model.note else "")), table]


def cost_section(c: Collected) -> list[Block]:
    recs = [r for r in c.latest_latency() if r.cost_profile is not None]
    if not recs:
        return []
    blocks: list[Block] = [
        Heading(2, "Where the ARM instructions go (cost profile)", "cost-profile"),
        Paragraph(
            "Guest instructions of one steady inference on an ARM emulated phone, attributed to each op and kernel "
            "family by the insnprofile QEMU plugin (kernel entry points from the runtime library's vtables). The "
            "families add up to the instruction count within 1 %. The estimated phone latency comes from the "
            "device class's cost model (below): an estimate, never a measurement."
        ),
        Image("cost_families.png", "Instructions per inference by kernel family", plots.cost_families(recs)),
    ]
    for r in sorted(recs, key=lambda r: (r.model, r.precision)):
        cp = r.cost_profile
        assert cp is not None
        top = cp.costliest(TOP_OPS)
        blocks.append(Heading(3, f"Costliest ops: {_label(r)}"))
        if not top:
            blocks.append(Paragraph(cp.note or "ops not matched", note=True))
            continue
        rows = [
            [
                str(o.index),
                o.type,
                o.name,
                o.family,
                o.algorithm or o.kernel,
                f"{o.insns / 1e6:.2f}",
                f"{100 * o.insns / cp.profiled_insns:.1f}",
                f"{o.est_us:.0f}" if o.est_us is not None else "",
            ]
            for o in top
        ]
        head = ["#", "op", "output", "family", "kernel", "M instructions", "% of inference", "est. phone µs"]
        blocks.append(Table(head, rows, {0, 5, 6, 7}))
    classes = sorted({str(r.device.soc or "") for r in recs} - {""})
    if classes:
        blocks.append(Heading(3, "Cost models"))
        for device_class in classes:
            blocks += cost_model_table(device_class)
    return blocks
