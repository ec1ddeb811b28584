"""Readable stdout tables: latency records, host parity, device parity and accuracy."""

from __future__ import annotations

import math
import sys
from typing import Any

from benchmark.latency.run import DeviceOutcome
from benchmark.parity.checks import SEED_NOTE, DeviceChecks
from benchmark.parity.host import ModelParity
from benchmark.records.parts import variant_name, verdict_of
from benchmark.records.types import ParityRecord, first_line
from benchmark.report.recommend import UNITS, Recommendation


def _f(x: float | None, fmt: str) -> str:
    if x is None:
        width = "".join(ch for ch in fmt.split(".", maxsplit=1)[0] if ch.isdigit())
        return "-".rjust(int(width or 1))
    return format(x, fmt)


def print_records(records: list[ParityRecord]) -> None:
    if not records:
        return
    w_model = max(len(r.model) for r in records)
    w_img = min(max(len(r.image) for r in records), 60)
    print(
        f"{'model':<{w_model}}  {'image':<{w_img}}  {'max|diff|':>9}  {'mean|diff|':>10}  {'argmax':>7}  "
        f"{'IoU ref':>7}  {'GT IoU PI':>9}  {'GT IoU Lite':>11}  ok"
    )
    for r in records:
        image = r.image if len(r.image) <= w_img else "..." + r.image[-(w_img - 3) :]
        print(
            f"{r.model:<{w_model}}  {image:<{w_img}}  {_f(r.max_abs_diff, '9.2e')}  "
            f"{_f(r.mean_abs_diff, '10.2e')}  {r.argmax_agreement:7.2%}  {r.iou_vs_reference:7.4f}  "
            f"{_f(r.gt_iou_reference, '9.3f')}  {_f(r.gt_iou_candidate, '11.3f')}  "
            f"{'yes' if r.passed else 'NO'}"
        )


def print_summary(results: list[ModelParity]) -> None:
    w = max([len(r.model) for r in results] + [5])
    print()
    print(
        f"{'model':<{w}}  {'prec':<5}  {'result':<8}  {'images':>6}  {'max|diff|':>9}  {'tolerance':>9}  "
        f"{'min argmax':>10}  {'mask IoU':>8}  {'fg IoU PI':>9}  {'fg IoU Lite':>11}  {'mIoU PI':>7}  {'mIoU Lite':>9}"
    )
    for r in results:
        ref, cand = r.gt.reference, r.gt.candidate
        tol = r.tolerance.max_abs_diff if r.tolerance else None
        print(
            f"{r.model:<{w}}  {r.precision:<5}  {r.status.upper():<8}  {r.comparisons:>6}  "
            f"{_f(r.max_abs_diff, '9.2e')}  {_f(tol, '9.1e')}  {_f(r.min_argmax_agreement, '10.2%')}  "
            f"{_f(r.mean_mask_iou, '8.4f')}  "
            f"{_f(ref.mean_fg_iou, '9.3f')}  {_f(cand.mean_fg_iou, '11.3f')}  "
            f"{_f(ref.miou, '7.3f')}  {_f(cand.miou, '9.3f')}"
        )
    for r in results:
        if r.error:
            first = r.error.splitlines()[0]
            label = f"{r.model} {r.precision}"
            print(f"{label}: {first.removeprefix(f'{r.model}: ')}")
        for f in r.failures[:10]:
            print(f"{r.model} {r.precision}: FAIL {f}")
        if len(r.failures) > 10:
            print(f"{r.model}: ... {len(r.failures) - 10} more failure(s) in the run file")


def _fmt(v: Any, spec: str) -> str:
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def print_latency(outcomes: list[DeviceOutcome]) -> None:
    rows = [r for o in outcomes for r in o.records]
    if not rows:
        return
    w = max(len(r.model) + 1 + len(variant_name(r.runtime, r.precision)) for r in rows)
    print(
        f"{'device':<22}  {'model':<{w}}  {'shape':<16}  {'median ms':>9}  {'p90 ms':>8}  {'CV':>6}  "
        f"{'M instr/inf':>11}  {'seed SD855 ms':>13}  {'ratio':>6}  note"
    )
    for r in rows:
        shape = "x".join(map(str, r.input_shape))
        note = ""
        if r.emulated_cpu:
            note = f"QEMU {r.emulated_cpu}: emulation time"
        elif r.emulated:
            note = "host-emulated"
        if r.status == "not_run":
            note = "NOT RUN: " + first_line(r.error)[:80]
        elif r.status == "skipped":
            note = "skipped: " + (r.error or "").split(": ", 1)[-1][:80]
        elif r.status != "ok":
            note = "FAILED: " + first_line(r.error)[:80]
        elif r.reused_from_run:
            note = f"reused from run {r.reused_from_run}"
        elif r.warnings:
            note = (note + "; " if note else "") + r.warnings[0][:60]
        if r.parity:
            note = f"parity {VERDICT_SHOWN[verdict_of(r.parity) or 'not_run']}" + (f"; {note}" if note else "")
        seed = r.seed_ms
        label = f"{r.model} {variant_name(r.runtime, r.precision)}"
        # a timing of an emulated device is not a phone timing: no ratio against the seed's phone figure
        ratio = r.median_ms / seed if seed and r.median_ms is not None and not r.emulated else None
        insns = r.instructions_per_inference
        print(
            f"{r.device.serial:<22}  {label:<{w}}  {shape:<16}  {_fmt(r.median_ms, '9.2f')}  "
            f"{_fmt(r.p90_ms, '8.2f')}  {_fmt(r.cv, '6.1%')}  "
            f"{_fmt(insns / 1e6 if insns else None, '11.2f')}  {_fmt(seed, '13.2f')}  {_fmt(ratio, '6.2f')}  {note}"
        )
    if any(r.emulated and not r.emulated_cpu for r in rows):
        print("host-emulated rows are Paddle-Lite x86 timings of this machine, not phone timings")
    if any(r.emulated_cpu for r in rows):
        print(
            "QEMU rows ran the real ARM runtime under emulation: their ms are emulation time, not phone time; "
            "instructions per inference are the deterministic cost figure (not a latency)"
        )


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def _seed_miou(x: object) -> str:
    return f"{x:.2f}" if isinstance(x, (int, float)) else "-"  # published with 2 decimals (93.60)


VERDICT_SHOWN = {"pass": "PASS", "fail": "FAIL", "not_run": "not run"}


def print_device_checks(checks: DeviceChecks) -> None:
    print(
        f"{'device':<22}  {'model':<48}  {'result':<6}  {'max|diff|':>9}  {'fg IoU PI':>9}  {'fg IoU dev':>10}  "
        f"{'mIoU PI':>7}  {'mIoU dev':>8}  {'seed mIoU':>9}"
    )
    for s in checks.summaries:
        desk, dev = s.ground_truth.reference, s.ground_truth.candidate
        diff = s.max_abs_diff
        label = f"{s.model or '-'} {variant_name(s.runtime, s.precision)}"
        result = VERDICT_SHOWN[verdict_of(s) or "not_run"]
        print(
            f"{s.device or '-':<22}  {label:<48}  {result:<6}  "
            f"{'-' if diff is None else format(diff, '9.2e'):>9}  {_pct(desk.mean_fg_iou):>9}  "
            f"{_pct(dev.mean_fg_iou):>10}  {_pct(desk.miou):>7}  {_pct(dev.miou):>8}  "
            f"{_seed_miou(s.seed_miou_percent):>9}"
        )
        for label_, text in (("error", s.error), ("not run", s.not_run)):
            if text:
                print(f"  {label_}: {text.splitlines()[0]}")
        for p in s.task_problems:
            print(f"  task level: {p}")
        if s.calibration_images_left_out:
            print(f"  left out (calibration images): {', '.join(s.calibration_images_left_out)}")
    print(
        f"device parity: {checks.count('pass')}/{checks.judged} judged variant(s) passed"
        + (f", {checks.count('not_run')} not run" if checks.count("not_run") else "")
        + f"; run file {checks.parity_path}"
    )
    if checks.judged == 0:
        print("error: device parity judged nothing (see 'not run' above): no verdict is a pass", file=sys.stderr)
    if checks.accuracy_path:
        print(f"accuracy: run file {checks.accuracy_path} ({SEED_NOTE})")


def print_recommendations(recommendations: list[Recommendation]) -> None:
    """Per model and device class: every variant measured, its figure and gate, and the one to ship."""
    for rec in recommendations:
        head = f"ship {rec.chosen.variant}" if rec.chosen else "no variant"
        if rec.chosen is not None:
            ratio, est = rec.vs_fp32(rec.chosen)
            head += f": {ratio:.2f}x the fp32 {UNITS[rec.metric]}" if ratio is not None else ""
            head += f", est. {est:.2f}x the fp32 phone latency" if est is not None else ""
        print(f"\n{rec.model} on {rec.device_class}: {head}")
        columns = f"{'vs fp32':>8} {'est. ms':>8} {'mIoU':>7} {'argmax':>8}"
        print(f"  {'variant':<10} {UNITS[rec.metric]:>11} {columns}  accuracy gate")
        for c in rec.candidates:
            miou = f"{100 * c.miou:7.2f}" if c.miou is not None else f"{'-':>7}"
            agree = f"{100 * c.mean_argmax_agreement:7.2f}%" if c.mean_argmax_agreement is not None else f"{'-':>8}"
            mark = "  <- recommended" if c is rec.chosen else ""
            ratio = rec.vs_fp32(c)[0]
            vs = f"{ratio:7.2f}x" if ratio is not None and math.isfinite(ratio) else f"{'-':>8}"
            est_ms = f"{c.est_latency_ms:8.2f}" if c.est_latency_ms is not None else f"{'-':>8}"
            print(f"  {c.variant:<10} {c.shown:>11.2f} {vs} {est_ms} {miou} {agree}  {c.status}{mark}")
        print(f"  ({rec.why})")
