"""Device parity and accuracy over every selected device and model; writes `parity-*.json` (records with
`source: "device"` and the device) and, for a labelled set, `accuracy-*.json` with the seed's mIoU beside."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from benchmark.device.adb import AdbServer, Device
from benchmark.device.runner import CannotRunVariant
from benchmark.device.session import ModelJob, VariantNotForDevice, device_session
from benchmark.images import ImageSet
from benchmark.parity.device import check_on_device
from benchmark.records.run_files import new_run_path, write_run
from converter.errors import ToolkitError
from converter.zoo import load_zoo

log = logging.getLogger("benchmark")
SEED_NOTE = "the seed's mIoU was measured on a different, larger set (PP-HumanSeg-14K / mini Supervisely)"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def run_device_checks(
    args: argparse.Namespace,
    server: AdbServer,
    serials: list[str],
    jobs: list[ModelJob],
    images: ImageSet,
    *,
    accuracy: bool,
    run_id: str,
) -> int:
    zoo = load_zoo(args.zoo)
    parity_path = new_run_path("parity", args.reports)
    artifacts = args.reports / parity_path.stem
    records: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    payload: dict[str, Any] = {
        "source": "device",
        "images": images.source,
        "image_count": len(images.items),
        "image_warnings": list(images.warnings),
        "models": summaries,
    }
    for serial in serials:
        try:
            with device_session(
                Device(server, serial), runner=args.runner, run_id=f"{run_id}-parity", keep=args.keep
            ) as ctx:
                for job in jobs:
                    log.info("%s: %s: device parity on %d image(s)", serial, job.name, len(images.items))
                    tol = zoo.tolerance(zoo.get(job.name), job.precision)
                    try:
                        res = check_on_device(ctx, job, images, tol, artifacts=artifacts, timeout_s=args.round_timeout)
                    except (VariantNotForDevice, CannotRunVariant) as e:
                        if isinstance(e, CannotRunVariant) and e.cause == "runner":  # fixable: report as failed
                            summaries.append(
                                {"model": job.name, "precision": job.precision, "device": serial, "passed": False}
                                | {"error": str(e)}
                            )
                            log.error("error: %s: %s", job.name, e)
                            continue
                        summaries.append(
                            {
                                "model": job.name,
                                "precision": job.precision,
                                "device": serial,
                                "passed": True,
                                "not_run": str(e),
                            }
                        )
                        continue
                    except ToolkitError as e:
                        summaries.append(
                            {
                                "model": job.name,
                                "precision": job.precision,
                                "device": serial,
                                "passed": False,
                                "error": str(e),
                            }
                        )
                        log.error("error: %s: %s", job.name, e)
                        continue
                    records += res.records
                    summaries.append({**res.summary, "seed_miou_percent": zoo.get(job.name).published.miou_percent})
                    write_run(parity_path, "parity", payload, records)
        except ToolkitError as e:
            summaries.append({"model": None, "device": serial, "passed": False, "error": str(e)})
            log.error("error: %s", e)
    write_run(parity_path, "parity", payload, records)
    _print(summaries)
    print(f"device parity: run file {parity_path}")
    if accuracy:
        acc_path = new_run_path("accuracy", args.reports)
        rows = [s for s in summaries if s.get("ground_truth")]
        write_run(
            acc_path,
            "accuracy",
            {"dataset": images.source, "note": SEED_NOTE, "models": rows},
            [
                {k: r[k] for k in r if k in ("model", "image", "device", "gt_iou_desktop", "gt_iou_device")}
                for r in records
                if "gt_iou_desktop" in r
            ],
        )
        print(f"accuracy: run file {acc_path} ({SEED_NOTE})")
    return 0 if summaries and all(s.get("passed") for s in summaries) else 1


def _seed_miou(x: object) -> str:
    return f"{x:.2f}" if isinstance(x, (int, float)) else "-"  # published with 2 decimals (93.60)


def _print(summaries: list[dict[str, Any]]) -> None:
    print(
        f"{'device':<22}  {'model':<42}  {'result':<6}  {'max|diff|':>9}  {'fg IoU PI':>9}  {'fg IoU dev':>10}  "
        f"{'mIoU PI':>7}  {'mIoU dev':>8}  {'seed mIoU':>9}"
    )
    for s in summaries:
        gt = s.get("ground_truth") or {}
        desk, dev = gt.get("desktop", {}), gt.get("device", {})
        diff = s.get("max_abs_diff")
        label = f"{s['model'] or '-'} {s.get('precision', '')}"
        result = "n/a" if s.get("not_run") else ("PASS" if s.get("passed") else "FAIL")
        print(
            f"{s['device']:<22}  {label:<42}  {result:<6}  "
            f"{'-' if diff is None else format(diff, '9.2e'):>9}  {_pct(desk.get('mean_fg_iou')):>9}  "
            f"{_pct(dev.get('mean_fg_iou')):>10}  {_pct(desk.get('miou')):>7}  {_pct(dev.get('miou')):>8}  "
            f"{_seed_miou(s.get('seed_miou_percent')):>9}"
        )
        for key in ("error", "not_run"):
            if s.get(key):
                print(f"  {key.replace('_', ' ')}: {s[key].splitlines()[0]}")
        for p in s.get("task_problems") or []:
            print(f"  task level: {p}")
