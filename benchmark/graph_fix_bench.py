"""`python -m benchmark graph-fixes`: the converter's graph fixes measured, fixed against unfixed .nb of the same
model, interleaved in one run (the order alternates every round) on the host (Paddle-Lite x86) and on attached or
emulated devices; the median of the per-round ratios is printed per model. Zoo models are converted as usual;
`--paddle26 NAME` adds an architecture from configs/paddle26_exports.yaml re-exported with Paddle 2.6 (what most
users now ship), since the official PP-HumanSeg files are older exports with nothing to fix."""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, ValidationError

from benchmark.bench_cli import prepare_jobs, select_devices
from benchmark.device import AdbServer, Device
from benchmark.emulated.profile import load_profile
from benchmark.images import generated_image_set
from benchmark.lab import Lab
from benchmark.latency import BenchSettings, ModelJob, bench_model, device_session
from benchmark.lite_host import LiteHostRunner
from benchmark.run_files import DEFAULT_REPORTS, new_run_path, utc_stamp, write_run
from converter import manifest
from converter.cli_args import add_zoo_args, csv_list, env_path, graph_fix_settings, model_sources
from converter.convert import convert_folder
from converter.errors import ToolkitError
from converter.generated_images import calibration_images
from converter.graph_fix_apply import UNFIXED_DIR
from converter.preprocess import preprocess
from converter.standin import STANDIN_MARK
from converter.zoo import StandinArchitecture

log = logging.getLogger("benchmark")
EXPORTS = Path(__file__).resolve().parent.parent / "configs" / "paddle26_exports.yaml"
TARGET_RATIO = 0.85


class _Export(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    title: str
    input_shape: tuple[int, int, int, int]
    standin: StandinArchitecture


def load_exports(path: Path = EXPORTS) -> dict[str, _Export]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return {e.name: e for e in (_Export.model_validate(x) for x in raw["exports"])}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise ToolkitError(f"{path}: cannot be read: {e}") from None
    except ValidationError as e:
        raise ToolkitError(f"{path}: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from None


def paddle26_model(name: str, out_root: Path, args: argparse.Namespace) -> Path:
    """Export (once, cached) and convert an architecture of configs/paddle26_exports.yaml; the model folder."""
    from converter.standin_paddleseg import build_paddleseg_standin

    exports = load_exports()
    if name not in exports:
        raise ToolkitError(f"--paddle26 {name}: not in {EXPORTS} (known: {', '.join(exports)})")
    e = exports[name]
    folder = model_sources(args).cache / "paddle26" / name
    if not (folder / STANDIN_MARK).is_file():
        n, c, h, w = e.input_shape
        pre = {"width": w, "height": h, "mean": [0.5] * 3, "std": [0.5] * 3, "channel_order": "rgb", "scale": 1 / 255}
        log.info("%s: exporting the architecture with Paddle 2.6 into %s", name, folder)
        build_paddleseg_standin(e.standin, e.input_shape, folder, [preprocess(x, pre) for x in calibration_images()])
    outcome = convert_folder(
        folder, name=name, input_shape=e.input_shape, out_root=out_root, fixes=graph_fix_settings(args)
    )
    if not outcome.ok or outcome.model_dir is None:
        raise ToolkitError(outcome.error or f"{name}: conversion failed")
    return outcome.model_dir


@dataclass
class Pair:
    name: str
    model_dir: Path
    shape: list[int]
    graph_fixes: dict[str, Any]

    @property
    def comparable(self) -> bool:
        return (self.model_dir / UNFIXED_DIR / "x86-fp32.nb").is_file()


def _timing_input(pair: Pair) -> NDArray[Any]:
    data = manifest.load(pair.model_dir) or {}
    person = generated_image_set().items[0].bgr  # a natural-looking image, not noise (host-performance pitfall 6)
    return preprocess(person, data["preprocess"])


def host_rounds(pair: Pair, rounds: int, repeats: int, warmup: int) -> dict[str, Any]:
    x = _timing_input(pair)
    files = {"unfixed": pair.model_dir / UNFIXED_DIR / "x86-fp32.nb", "fixed": pair.model_dir / "x86-fp32.nb"}
    medians: dict[str, list[float]] = {"unfixed": [], "fixed": []}
    worst = 0.0
    for r in range(rounds):
        outs: dict[str, dict[str, NDArray[Any]]] = {}
        for kind in ("unfixed", "fixed") if r % 2 == 0 else ("fixed", "unfixed"):
            res = LiteHostRunner(files[kind]).run_batch([[x]] * (warmup + repeats))
            medians[kind].append(float(np.median(res.run_ms[warmup:])))
            outs[kind] = res.outputs[0]
        for name, a in outs["unfixed"].items():
            b = outs["fixed"][name]
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))))
    return _summary(pair, "host (Paddle-Lite x86)", medians, worst)


def _summary(pair: Pair, where: str, medians: dict[str, list[float]], worst: float | None) -> dict[str, Any]:
    ratios = [f / u for f, u in zip(medians["fixed"], medians["unfixed"], strict=True)]
    before = sum((pair.graph_fixes.get("ops_before") or {}).get("x86", {}).values())
    after = sum((pair.graph_fixes.get("ops_after") or {}).get("x86", {}).values())
    return {
        "model": pair.name,
        "where": where,
        "rounds": len(ratios),
        "unfixed_median_ms": statistics.median(medians["unfixed"]),
        "fixed_median_ms": statistics.median(medians["fixed"]),
        "ratio_median": statistics.median(ratios),
        "ratios": [round(r, 4) for r in ratios],
        "rewrites": pair.graph_fixes.get("rewrites_by_kind"),
        "x86_ops_before": before,
        "x86_ops_after": after,
        "lite_max_abs_diff_fixed_vs_unfixed": worst,
        "target_ratio": TARGET_RATIO,
    }


def device_rounds(
    pair: Pair, device: Device, settings: BenchSettings, *, runner: Path | None, run_id: str
) -> dict[str, Any]:
    jobs = {
        "unfixed": ModelJob(pair.name, pair.model_dir / UNFIXED_DIR, pair.shape, None),
        "fixed": ModelJob(pair.name, pair.model_dir, pair.shape, None),
    }
    medians: dict[str, list[float]] = {"unfixed": [], "fixed": []}
    one_round = BenchSettings(warmup=settings.warmup, repeats=settings.repeats, rounds=1, memory_profile=False)
    with device_session(device, runner=runner, run_id=run_id, keep=False) as ctx:
        for r in range(settings.rounds):
            for kind in ("unfixed", "fixed") if r % 2 == 0 else ("fixed", "unfixed"):
                rec = bench_model(ctx, jobs[kind], one_round)
                if rec["status"] != "ok":
                    raise ToolkitError(f"{device.serial}: {pair.name} ({kind}): {rec.get('error')}")
                medians[kind].append(float(rec["median_ms"]))
    where = f"{device.serial}" + (" (emulated: host timings)" if ctx.info.emulated else "")
    return _summary(pair, where, medians, None)


def add_graph_fix_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("graph-fixes", help="fixed vs unfixed .nb latency, interleaved (host and devices)")
    add_zoo_args(p)
    p.add_argument("--paddle26", type=csv_list, default=[], help=f"architectures of {EXPORTS.name} to re-export")
    p.add_argument("--rounds", type=int, default=6, help="rounds per variant, order alternating (default 6)")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--adb", help="also on the devices of this adb server HOST:PORT")
    p.add_argument("--serial", help="only this device")
    p.add_argument("--runner", type=Path, default=env_path("RUNNER"), help="benchmark_bin for real devices")
    p.add_argument("--emulated", action="store_true", help="also on an emulated device (private adb server)")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)


def _pairs(args: argparse.Namespace) -> list[Pair]:
    pairs: list[Pair] = []
    if args.models or not args.paddle26:
        args.precision = ["fp32"]
        jobs, errors = prepare_jobs(args)
        if errors:
            raise ToolkitError("; ".join(errors))
        for job in jobs:
            data = manifest.load(job.model_dir) or {}
            pairs.append(Pair(job.name, job.model_dir, job.input_shape, data.get("graph_fixes") or {}))
    for name in args.paddle26:
        model_dir = paddle26_model(name, args.out, args)
        data = manifest.load(model_dir) or {}
        pairs.append(Pair(name, model_dir, list(data["input_shape"]), data.get("graph_fixes") or {}))
    return pairs


def _devices(args: argparse.Namespace, pairs: list[Pair], settings: BenchSettings, run_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def on(server: AdbServer, serials: list[str]) -> None:
        for serial in serials:
            for pair in pairs:
                log.info("%s: %s: fixed vs unfixed, %d interleaved rounds", serial, pair.name, settings.rounds)
                rows.append(device_rounds(pair, Device(server, serial), settings, runner=args.runner, run_id=run_id))

    if args.emulated:
        with Lab.create() as lab:
            lab.add_device(load_profile("sd855"))
            assert lab.server is not None
            on(lab.server, select_devices(lab.server, None))
    if args.adb or args.serial:
        server = AdbServer.from_env(args.adb)
        on(server, select_devices(server, args.serial))
    return rows


def run_graph_fix_bench(args: argparse.Namespace) -> int:
    if args.rounds < 1 or args.repeats < 1:
        raise ToolkitError("--rounds and --repeats must be >= 1")
    pairs = _pairs(args)
    for p in pairs:
        if not p.comparable:
            status = p.graph_fixes.get("status", "unknown")
            print(f"{p.name}: graph fixes {status}: nothing to compare (the program went to opt as exported)")
    pairs = [p for p in pairs if p.comparable]
    if not pairs:
        print("error: no model with graph fixes applied; try --paddle26 " + ", ".join(load_exports()), file=sys.stderr)
        return 2
    rows = []
    for pair in pairs:
        log.info("%s: host: fixed vs unfixed x86 .nb, %d interleaved rounds", pair.name, args.rounds)
        rows.append(host_rounds(pair, args.rounds, args.repeats, args.warmup))
    settings = BenchSettings(warmup=args.warmup, repeats=args.repeats, rounds=args.rounds)
    rows += _devices(args, pairs, settings, utc_stamp().lower())
    print(f"{'model':<44}  {'where':<42}  {'unfixed ms':>10}  {'fixed ms':>9}  {'ratio':>6}  {'.nb ops':>9}")
    for r in rows:
        ops = f"{r['x86_ops_before']}->{r['x86_ops_after']}"
        print(
            f"{r['model']:<44}  {r['where']:<42}  {r['unfixed_median_ms']:>10.2f}  {r['fixed_median_ms']:>9.2f}  "
            f"{r['ratio_median']:>6.2f}  {ops:>9}"
        )
    print(
        f"ratio = fixed / unfixed median latency, median over {args.rounds} interleaved rounds; host target <= "
        f"{TARGET_RATIO} on a Paddle 2.6 export of the general V2-Lite architecture"
    )
    path = new_run_path("graph-fixes", args.reports)
    write_run(path, "graph-fixes", {"target_ratio": TARGET_RATIO}, rows)
    print(f"graph fixes: run file {path}")
    return 0
