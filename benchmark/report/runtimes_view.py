"""Report section for `runtimes`: each model's runtimes side by side on the same emulated ARM core (the latest
record per model, runtime, precision and phone): ARM instructions per inference, the ratio to Paddle-Lite of the same
precision and to Paddle-Lite fp32, and the first inference of a fresh process against desktop fp32."""

from __future__ import annotations

from benchmark.records.rows import RuntimeRecord
from benchmark.records.runs import RuntimesRun
from benchmark.report.collect import Collected
from benchmark.report.document import Block, Heading, Paragraph, Table


def _latest(c: Collected) -> list[RuntimeRecord]:
    newest: dict[tuple[str, str, str, str], RuntimeRecord] = {}
    for run in c.chronological(RuntimesRun):
        for r in run.records:
            newest[(r.model, r.phone, r.runtime, r.precision)] = r
    return [newest[k] for k in sorted(newest)]


def _ratio(a: int | None, b: int | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def runtimes_section(c: Collected) -> list[Block]:
    records = _latest(c)
    if not records:
        return []
    rows = []
    for r in records:
        pl = {x.precision: x.insns_per_inference for x in records if (x.model, x.phone) == (r.model, r.phone)
              and x.runtime == "paddle-lite"}  # fmt: skip
        insns = r.insns_per_inference
        rows.append(
            [
                r.model,
                r.phone,
                r.runtime,
                r.precision,
                f"{insns / 1e6:.2f}" if insns else "-",
                _ratio(insns, pl.get(r.precision)),
                _ratio(insns, pl.get("fp32")),
                f"{r.max_abs_diff:.3g}" if r.max_abs_diff is not None else "-",
                f"{r.argmax_agreement:.3%}" if r.argmax_agreement is not None else "-",
                str(r.non_finite),
                f"{100 * r.miou:.2f} ({100 * r.desktop_miou:.2f})" if r.miou is not None and r.desktop_miou else "-",
                ("pass" if r.passed else f"FAIL: {r.gate_failure}")
                if r.status == "ok" and r.passed is not None
                else r.status + (f": {r.reason}" if r.reason else ""),
            ]
        )
    head = ["model", "phone", "runtime", "variant", "M instr.", "vs PL same", "vs PL fp32", "max abs diff", "argmax",
            "inf/NaN", "mIoU (desktop fp32)", "verdict"]  # fmt: skip
    return [
        Heading(2, "Runtimes: Paddle-Lite and ncnn on one ARM core"),
        Paragraph(
            "Each runtime's real ARM kernels under QEMU with the phone's CPU model (`make compare-runtimes`): "
            "instructions per inference (deterministic; not a latency) and the first inference of a fresh process "
            "against desktop Paddle Inference fp32, worst photo."
        ),
        Table(head, rows),
    ]
