"""The regression gate: the latest farm run against a baseline (a run in the history, `previous`, or a baseline
file exported from the history), per device identity, model, precision and input shape. A latency regression
beyond both the threshold and cv_factor x the pooled CV, any parity failure, and any model missing from the run
fail the gate. Output: a table, a JUnit XML file, a `gate-*.json` run file for the report."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from benchmark.farm.config import Thresholds
from benchmark.farm.history import History, HistoryError
from benchmark.farm.noise import METRICS, MIN_RUNS, Key, Noise, record_key
from benchmark.records.parts import verdict_of
from benchmark.records.rows import GateRecord
from benchmark.records.runs import BaselineFile, GateRun
from benchmark.records.types import LatencyRecord, first_line
from converter.base import atomic_files


def _row(
    key: Key,
    verdict: str,
    reason: str,
    *,
    baseline: float | None = None,
    current: float | None = None,
    change: float | None = None,
    limit: float | None = None,
    measure: str = "latency",
) -> GateRecord:
    device_key, model, precision, input_shape = key
    return GateRecord(
        device_key=device_key,
        model=model,
        precision=precision,
        input_shape=input_shape,
        verdict=verdict,
        reason=reason,
        baseline_ms=baseline,
        current_ms=current,
        change_percent=change,
        limit_percent=limit,
        measure=measure,
    )


@dataclass
class GateResult:
    baseline: str
    current: str
    thresholds: Thresholds
    rows: list[GateRecord] = field(default_factory=list)

    def run(self) -> GateRun:
        """As its run file."""
        return GateRun(
            baseline=self.baseline,
            current=self.current,
            thresholds=self.thresholds.model_dump(),
            passed=self.passed,
            records=list(self.rows),
        )

    @property
    def failures(self) -> list[GateRecord]:
        return [r for r in self.rows if r.verdict == "fail"]

    @property
    def passed(self) -> bool:
        return bool(self.rows) and not self.failures


def latest_finished(history: History, before: str | None = None) -> str:
    runs = [r for r in history.runs() if r.status == "finished"]
    if before is not None:
        ids = [r.run_id for r in runs]
        runs = runs[: ids.index(before)] if before in ids else runs
    if not runs:
        when = f" before {before}" if before else ""
        raise HistoryError(f"the history {history.path} holds no finished farm run{when}; run `make bench-farm` first")
    return runs[-1].run_id


def load_baseline(ref: str, history: History, current: str) -> tuple[str, list[LatencyRecord]]:
    """REF: a baseline JSON file, `previous` (the finished run before the current one), or a run id."""
    path = Path(ref)
    if path.suffix == ".json" or path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise HistoryError(f"baseline file {path} does not exist (export one with `history export`)") from None
        except OSError as e:
            raise HistoryError(f"baseline file {path} cannot be read: {e}") from None
        try:
            baseline = BaselineFile.model_validate_json(text)
        except ValidationError as e:
            raise HistoryError(
                f"baseline file {path} is not a baseline exported by `python -m benchmark history export` "
                f"({e.errors()[0]['msg']})"
            ) from None
        return f"{path} (run {baseline.run_id})", baseline.records
    run_id = latest_finished(history, before=current) if ref == "previous" else history.run(ref).run_id
    if run_id == current:
        raise HistoryError(f"the baseline {run_id} is the run being judged; pick an earlier one")
    return run_id, history.run_records(run_id)


def export_baseline(history: History, run_id: str, path: Path) -> int:
    records = history.run_records(history.run(run_id).run_id)
    baseline = BaselineFile(run_id=run_id, records=records)
    atomic_files.write_json(path, {**baseline.model_dump(mode="json", exclude={"records"}),
                                   "records": [r.to_json() for r in records]})  # fmt: skip
    return len(records)


def _instructions_row(key: Key, base: LatencyRecord, cur: LatencyRecord, t: Thresholds, note: str) -> GateRecord:
    """Instructions per inference (QEMU): deterministic, so the limit is a fixed percentage, without spread."""
    b, c = int(base.instructions_per_inference or 0), int(cur.instructions_per_inference or 0)
    change = round(100 * (c / b - 1), 3)
    text = f"instructions {b / 1e6:.2f} M -> {c / 1e6:.2f} M ({change:+.2f} %"
    if change > t.instructions_percent:
        verdict, reason = "fail", f"{text} > limit {t.instructions_percent:.1f} %){note}"
    else:
        verdict, reason = "pass", f"{text} within {t.instructions_percent:.1f} %){note}"
    return _row(key, verdict, reason, baseline=base.median_ms, current=cur.median_ms, change=change,
                limit=t.instructions_percent, measure="instructions")  # fmt: skip


def _latency_row(
    key: Key, base: LatencyRecord, cur: LatencyRecord, t: Thresholds, noise: dict[str, Noise]
) -> GateRecord:
    rv_b = base.runner.version if base.runner else None
    rv_c = cur.runner.version if cur.runner else None
    note = f" (runner {rv_b} -> {rv_c})" if rv_b != rv_c else ""
    if base.instructions_per_inference and cur.instructions_per_inference:
        return _instructions_row(key, base, cur, t, note)
    pooled_cv = math.sqrt(((base.cv or 0.0) ** 2 + (cur.cv or 0.0) ** 2) / 2)
    return _metric_row(key, "median_ms", (base, cur), t, noise.get("median_ms"), own_spread_percent=100 * pooled_cv,
                       note=note)  # fmt: skip


def _change_percent(base: float, current: float) -> float:
    return round(100 * (current / base - 1), 2) if base > 0 else 0.0


def _metric_row(key: Key, metric: str, pair: tuple[LatencyRecord, LatencyRecord], t: Thresholds,
                noise: Noise | None, *, own_spread_percent: float = 0.0, note: str = "") -> GateRecord:  # fmt: skip
    """A rise of `metric` beyond cv_factor x the device's own noise (from the history, or the two records' spread),
    never below regression_percent; without history the fixed regression_percent, said in the reason."""
    b, c = float(getattr(pair[0], metric)), float(getattr(pair[1], metric))
    change = _change_percent(b, c)
    spread = max(own_spread_percent, noise.percent if noise else 0.0)
    limit = round(max(t.regression_percent, t.cv_factor * spread), 2)
    source = f"noise {noise.percent:.1f} % over {noise.runs} runs" if noise else "no history noise yet: fixed limit"
    name = METRICS[metric]
    if change > limit:
        verdict, reason = "fail", f"{name} +{change:.1f} % > limit {limit:.1f} % ({source}){note}"
    else:
        verdict, reason = "pass", f"{name} {change:+.1f} % within {limit:.1f} % ({source}){note}"
    measure = "latency" if metric == "median_ms" else metric
    return _row(key, verdict, reason, baseline=b, current=c, change=change, limit=limit, measure=measure)


def _other_rows(
    key: Key, base: LatencyRecord, cur: LatencyRecord, t: Thresholds, noise: dict[str, Noise]
) -> list[GateRecord]:
    """First inference, model load and peak memory, each gated on its own against the device's noise from the
    history; until the history has MIN_RUNS values of a figure its row says so and is not gated (a model load moves
    tens of percent run to run on some phones: a fixed limit would fail on noise). Emulation times are not gated."""
    metrics = ["peak_memory_mb"] if cur.instructions_per_inference else ["first_ms", "init_ms", "peak_memory_mb"]
    rows = []
    for m in metrics:
        b, c = getattr(base, m), getattr(cur, m)
        if b is None or c is None:
            continue
        if m in noise:
            rows.append(_metric_row(key, m, (base, cur), t, noise[m]))
        else:
            change = _change_percent(b, c)
            why = f"{METRICS[m]} {change:+.1f} %: not gated until {MIN_RUNS} past runs give this device's noise"
            rows.append(_row(key, "skipped", why, baseline=b, current=c, change=change, measure=m))
    return rows


def compare(
    baseline: list[LatencyRecord],
    current: list[LatencyRecord],
    t: Thresholds,
    noise: dict[Key, dict[str, Noise]] | None = None,
) -> list[GateRecord]:
    """One row per key (latency or instructions, parity, missing, new), then one per other figure both records have
    (first inference, model load, peak memory), each limited by the device's own noise from the history."""
    noise = noise or {}
    base = {record_key(r): r for r in baseline if r.status == "ok"}
    cur = {record_key(r): r for r in current}
    rows: list[GateRecord] = []
    for key in sorted(set(base) | set(cur)):
        b, c = base.get(key), cur.get(key)
        if c is None or c.status == "not_run":
            why = (c.error if c else None) or "not in this run"
            rows.append(_row(key, "fail", f"missing: {why}", baseline=b.median_ms if b else None))
        elif c.status == "skipped":
            rows.append(_row(key, "skipped", c.error or "skipped"))
        elif c.status != "ok":
            rows.append(_row(key, "fail", f"failed: {first_line(c.error)[:200]}"))
        elif c.parity is not None and verdict_of(c.parity) == "fail":
            what = c.parity.error or "; ".join([*c.parity.problems, *c.parity.task_problems])
            rows.append(_row(key, "fail", f"parity failed: {what[:200]}", current=c.median_ms))
        elif b is None:
            rows.append(_row(key, "new", "not in the baseline", current=c.median_ms))
        else:
            rows.append(_latency_row(key, b, c, t, noise.get(key, {})))
            rows += _other_rows(key, b, c, t, noise.get(key, {}))
    return rows


def print_gate(result: GateResult) -> None:
    print(f"gate: run {result.current} against baseline {result.baseline}")
    print(
        f"{'device':<34}  {'model':<40}  {'prec':<5}  {'base ms':>8}  {'now ms':>8}  {'change':>7}  "
        f"{'limit':>6}  verdict"
    )

    def num(v: float | None, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    for r in result.rows:
        print(
            f"{r.device_key:<34}  {r.model:<40}  {r.precision:<5}  {num(r.baseline_ms, '8.2f')}  "
            f"{num(r.current_ms, '8.2f')}  {num(r.change_percent, '+6.1f')}%  {num(r.limit_percent, '5.1f')}%  "
            f"{r.verdict.upper()}: {r.reason}"
        )
    verdict = "PASSED" if result.passed else "FAILED"
    print(f"gate {verdict}: {len(result.failures)} failure(s) in {len(result.rows)} comparison(s)")


def write_junit(result: GateResult, path: Path) -> None:
    suite = ET.Element(
        "testsuite",
        name="pplite-latency-gate",
        tests=str(len(result.rows)),
        failures=str(len(result.failures)),
        skipped=str(sum(1 for r in result.rows if r.verdict == "skipped")),
    )
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="baseline", value=result.baseline)
    for r in result.rows:
        case = ET.SubElement(suite, "testcase", classname=r.device_key, name=f"{r.model} {r.precision} {r.input_shape}")
        if r.verdict == "fail":
            ET.SubElement(case, "failure", message=r.reason).text = json.dumps(r.to_json(), indent=1)
        elif r.verdict == "skipped":
            ET.SubElement(case, "skipped", message=r.reason)
        else:
            ET.SubElement(case, "system-out").text = r.reason
    root = ET.Element("testsuites", tests=suite.get("tests", "0"), failures=suite.get("failures", "0"))
    root.append(suite)
    ET.indent(root)
    atomic_files.write_bytes(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
