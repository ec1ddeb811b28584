"""Report section for the device farm: the latest farm run as a devices x models matrix of median latency, a trend
panel per (device, model) over the history, and the latest gate's verdict."""

from __future__ import annotations

from pathlib import Path

from benchmark.farm.history import History, HistoryError, history_exists
from benchmark.records.parts import verdict_of
from benchmark.records.runs import GateRun
from benchmark.records.types import LatencyRecord
from benchmark.report import plots
from benchmark.report.collect import Collected
from benchmark.report.document import Block, Heading, Image, Paragraph, Table


def _cell(rec: LatencyRecord) -> str:
    if rec.status == "not_run":
        return "not run"
    if rec.status == "skipped":
        return "n/a"
    if rec.status != "ok":
        return "FAIL"
    text = f"{rec.median_ms:.2f}" + (" *" if rec.reused else "")
    parity = rec.parity
    verdict = verdict_of(parity)
    if verdict == "fail":
        text += " (parity FAIL)"
    elif verdict == "not_run":
        text += " (parity not run)"
    return text


def _matrix(run_id: str, records: list[LatencyRecord]) -> list[Block]:
    models = sorted({f"{r.model} {r.precision}" for r in records})
    devices = sorted({r.device_key or "-" for r in records})
    cells = {(r.device_key or "-", f"{r.model} {r.precision}"): _cell(r) for r in records}
    rows = [[d, *(cells.get((d, m), "-") for m in models)] for d in devices]
    return [
        Paragraph(
            f"Latest farm run {run_id}: median latency in ms per device (ro.serialno/model) and model; "
            "* = reused from an earlier run (same device, model, toolkit and .nb bytes)."
        ),
        Table(["device", *models], rows, set(range(1, len(models) + 1))),
    ]


def _gate(c: Collected) -> list[Block]:
    g = c.latest_run(GateRun)
    if g is None:
        return [Paragraph("No gate has been run yet (`make gate BASELINE=...`).")]
    failures = [r for r in g.records if r.verdict == "fail"]
    verdict = "PASSED" if g.passed else "FAILED"
    blocks: list[Block] = [
        Paragraph(
            f"Gate {verdict}: run {g.current} against baseline {g.baseline}; "
            f"{len(failures)} failure(s) in {len(g.records)} comparison(s).",
            note=not g.passed,
        )
    ]
    if failures:
        blocks.append(
            Table(
                ["device", "model", "precision", "reason"],
                [[r.device_key, r.model, r.precision, r.reason] for r in failures],
            )
        )
    return blocks


def farm_section(c: Collected, history_path: str | Path | None) -> list[Block]:
    if history_path is None or not history_exists(history_path):
        return []
    try:
        with History(history_path) as h:
            finished = [r for r in h.runs() if r.status == "finished"]
            if not finished:
                return []
            latest = finished[-1].run_id
            records = h.run_records(latest)
            series = h.series()
    except HistoryError as e:
        return [Heading(2, "Device farm", "farm"), Paragraph(f"history unreadable: {e}", note=True)]
    blocks: list[Block] = [Heading(2, "Device farm", "farm"), *_matrix(latest, records)]
    if series:
        blocks.append(
            Image("farm_trends.png", "Median latency per device and model over farm runs", plots.farm_trends(series))
        )
    return blocks + _gate(c)
