"""`python -m benchmark graph-fixes`: the converter's graph fixes measured, fixed against unfixed .nb of the same
model, interleaved in one run (the order rotates every round) on the host (Paddle-Lite x86) and on attached or
emulated devices; the median of the per-round ratios is printed per model. Zoo models are converted as usual;
`--paddle26 NAME` adds an architecture from configs/paddle26_exports.yaml re-exported with Paddle 2.6 (what most
users now ship), since the official PP-HumanSeg files are older exports with nothing to fix. Such an export is also
timed against the official old-form export of the same architecture (its `old_form` zoo model): the speed a
graph-form fix can at best recover."""

from __future__ import annotations

import argparse
import dataclasses
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

from benchmark.cli.bench import prepare_jobs, select_devices
from benchmark.device.adb import AdbServer, Device
from benchmark.device.session import ModelJob, device_session
from benchmark.emulated.lab import Lab
from benchmark.emulated.profile import load_profile
from benchmark.host.lite import LiteHostRunner
from benchmark.host.profile import print_profiles, profile_nb, timing_input
from benchmark.latency.arm_counts import PROFILE, count_variants
from benchmark.latency.run import BenchSettings, bench_model
from benchmark.records.run_files import DEFAULT_REPORTS, new_run_path, utc_stamp, write_run
from converter import manifest
from converter.cli_args import add_zoo_args, csv_list, env_path, graph_fix_settings, model_sources
from converter.convert import convert_folder, convert_zoo_model
from converter.errors import ToolkitError
from converter.generated_images import calibration_images
from converter.graph_fix_apply import UNFIXED_DIR
from converter.preprocess import preprocess
from converter.standin import STANDIN_MARK
from converter.zoo import StandinArchitecture, load_zoo

log = logging.getLogger("benchmark")
EXPORTS = Path(__file__).resolve().parents[2] / "configs" / "paddle26_exports.yaml"
TARGET_RATIO = 0.85


class _Export(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    title: str
    input_shape: tuple[int, int, int, int]
    standin: StandinArchitecture
    old_form: str | None = None


def load_exports(path: Path = EXPORTS) -> dict[str, _Export]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return {e.name: e for e in (_Export.model_validate(x) for x in raw["exports"])}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise ToolkitError(f"{path}: cannot be read: {e}") from None
    except ValidationError as e:
        raise ToolkitError(f"{path}: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from None


def paddle26_model(name: str, out_root: Path, args: argparse.Namespace) -> tuple[Path, Path | None]:
    """Export (once, cached) and convert an architecture of configs/paddle26_exports.yaml; its model folder and that
    of its old-form zoo model (None when that cannot be had, with the reason logged)."""
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
    return outcome.model_dir, (_old_form_model(name, e.old_form, args) if e.old_form else None)


def _old_form_model(name: str, zoo_name: str, args: argparse.Namespace) -> Path | None:
    """The old-form export as converted by the zoo (random weights allowed: only timed); None when it cannot be had
    or is not an old-form export after all (a stand-in built without the official graph is a Paddle 2.6 export)."""
    sources = dataclasses.replace(model_sources(args), fallback="architecture")
    outcome = convert_zoo_model(load_zoo(args.zoo), zoo_name, sources=sources, targets=("arm", "x86"))
    if not outcome.ok or outcome.model_dir is None:
        log.warning("warning: %s: old-form export %s not timed: %s", name, zoo_name, outcome.error or outcome.status)
        return None
    status = ((manifest.load(outcome.model_dir) or {}).get("graph_fixes") or {}).get("status")
    if status != "not_needed":
        log.warning(
            "warning: %s: %s is not an old-form export here (graph fixes %s; the official graph is needed: "
            "--models-dir with graph_only/, or a download), so it is not timed",
            name,
            zoo_name,
            status,
        )
        return None
    return outcome.model_dir


@dataclass
class Pair:
    name: str
    model_dir: Path
    shape: list[int]
    graph_fixes: dict[str, Any]
    old_form: Path | None = None  # model folder of the official old-form export of the same architecture

    @property
    def comparable(self) -> bool:
        return (self.model_dir / UNFIXED_DIR / "x86-fp32.nb").is_file()

    def arms(self) -> dict[str, Path]:
        """Model folder per timed variant: unfixed, fixed and, when known, the old-form export."""
        arms = {"unfixed": self.model_dir / UNFIXED_DIR, "fixed": self.model_dir}
        if self.old_form is not None:
            arms["old_form"] = self.old_form
        return arms


def _round_order(arms: list[str], r: int) -> list[str]:
    """The variants' order in round r: rotated every round so no variant always runs first or last."""
    k = r % len(arms)
    return arms[k:] + arms[:k]


def host_rounds(pair: Pair, rounds: int, repeats: int, warmup: int) -> dict[str, Any]:
    x = timing_input(pair.model_dir / "x86-fp32.nb")
    files = {kind: folder / "x86-fp32.nb" for kind, folder in pair.arms().items()}
    medians: dict[str, list[float]] = {kind: [] for kind in files}
    worst = 0.0
    for r in range(rounds):
        outs: dict[str, dict[str, NDArray[Any]]] = {}
        for kind in _round_order(list(files), r):
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
    old: dict[str, Any] = {"old_form_model": None, "old_form_median_ms": None, "old_form_ratio_median": None}
    if pair.old_form is not None:
        old_data = manifest.load(pair.old_form) or {}
        old_ratios = [o / u for o, u in zip(medians["old_form"], medians["unfixed"], strict=True)]
        old = {
            "old_form_model": old_data.get("model", pair.old_form.name),
            "old_form_weights": old_data.get("weights", "trained"),
            "old_form_median_ms": statistics.median(medians["old_form"]),
            "old_form_ratio_median": statistics.median(old_ratios),
            "old_form_ratios": [round(r, 4) for r in old_ratios],
        }
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
        **old,
    }


def device_rounds(
    pair: Pair, device: Device, settings: BenchSettings, *, runner: Path | None, run_id: str
) -> dict[str, Any]:
    jobs = {kind: ModelJob(pair.name, folder, pair.shape, None) for kind, folder in pair.arms().items()}
    medians: dict[str, list[float]] = {kind: [] for kind in jobs}
    one_round = BenchSettings(warmup=settings.warmup, repeats=settings.repeats, rounds=1, memory_profile=False)
    with device_session(device, runner=runner, run_id=run_id, keep=False) as ctx:
        for r in range(settings.rounds):
            for kind in _round_order(list(jobs), r):
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
    p.add_argument("--rounds", type=int, default=6, help="rounds per variant, order rotating (default 6)")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--adb", help="also on the devices of this adb server HOST:PORT")
    p.add_argument("--serial", help="only this device")
    p.add_argument("--runner", type=Path, default=env_path("RUNNER"), help="benchmark_bin for real devices")
    p.add_argument("--emulated", action="store_true", help="also on an emulated device (private adb server)")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    p.add_argument("--profile", action="store_true", help="also profile each host .nb by kernel family (Linux perf)")
    p.add_argument(
        "--no-arm", action="store_true", help="skip counting ARM instructions per variant (ARM emulated phone, QEMU)"
    )


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
        model_dir, old_form = paddle26_model(name, args.out, args)
        data = manifest.load(model_dir) or {}
        pairs.append(Pair(name, model_dir, list(data["input_shape"]), data.get("graph_fixes") or {}, old_form))
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


def _profile(pair: Pair) -> dict[str, dict[str, float]]:
    x = timing_input(pair.model_dir / "x86-fp32.nb")
    arms = pair.arms()
    log.info("%s: host: profiling %s with perf", pair.name, ", ".join(arms))
    profiles = [profile_nb(folder / "x86-fp32.nb", x) for folder in arms.values()]
    print(f"{pair.name}: where the host's time goes, by kernel family (perf, cpu-clock samples):")
    print_profiles(profiles, list(arms))
    return {kind: p.shares_percent for kind, p in zip(arms, profiles, strict=True)}


def arm_ratios(pair: Pair, run_id: str) -> dict[str, Any]:
    """ARM instructions per inference of each variant and their ratios to the unfixed .nb (deterministic: one count
    each is enough). Without the ARM runtime they are reported as not measured, with the reason."""
    jobs = {kind: ModelJob(pair.name, folder, pair.shape, None) for kind, folder in pair.arms().items()}
    try:
        counts = count_variants(jobs, f"{run_id}-arm")
    except ToolkitError as e:
        log.warning("warning: %s: %s", pair.name, e)
        return {"arm_instructions": None, "arm_instruction_ratio": None, "arm_note": str(e)}
    old = counts.get("old_form")
    return {
        "arm_instructions": counts,
        "arm_instruction_ratio": counts["fixed"] / counts["unfixed"],
        "arm_old_form_instruction_ratio": old / counts["unfixed"] if old else None,
        "arm_note": f"instructions per inference on {PROFILE} under QEMU, real Paddle-Lite ARM runtime",
    }


def _print_rows(rows: list[dict[str, Any]], rounds: int) -> None:
    head = f"{'model':<44}  {'where':<42}  {'unfixed ms':>10}  {'fixed ms':>9}  {'ratio':>6}  {'.nb ops':>9}"
    print(f"{head}  {'old-form ms':>11}  {'old-form ratio':>14}  {'ARM instr. ratio':>16}")
    for r in rows:
        ops = f"{r['x86_ops_before']}->{r['x86_ops_after']}"
        old = "-" if r["old_form_median_ms"] is None else f"{r['old_form_median_ms']:.2f}"
        old_ratio = "-" if r["old_form_ratio_median"] is None else f"{r['old_form_ratio_median']:.2f}"
        print(
            f"{r['model']:<44}  {r['where']:<42}  {r['unfixed_median_ms']:>10.2f}  {r['fixed_median_ms']:>9.2f}  "
            f"{r['ratio_median']:>6.2f}  {ops:>9}  {old:>11}  {old_ratio:>14}  {_arm_cell(r):>16}"
        )
    print(
        f"ratio = fixed / unfixed median latency, median over {rounds} interleaved rounds; host target <= "
        f"{TARGET_RATIO} on a Paddle 2.6 export of the general V2-Lite architecture"
    )
    if any(r.get("arm_instructions") for r in rows):
        print(
            "ARM instr. ratio = fixed / unfixed ARM instructions per inference (real Paddle-Lite ARM runtime under "
            f"QEMU on {PROFILE}; old form in parentheses): the ARM work, deterministic, not a phone latency"
        )
    for r in rows:
        if r["old_form_model"]:
            weights = " (random weights: timing only)" if r.get("old_form_weights") == "random" else ""
            print(
                f"old-form ratio = {r['old_form_model']}{weights}, the official Paddle <= 2.4 export of the same "
                f"architecture, / unfixed, same rounds: the most a graph-form fix can recover ({r['where']}: "
                f"fixed {r['ratio_median']:.2f}, old form {r['old_form_ratio_median']:.2f})"
            )


def _arm_cell(r: dict[str, Any]) -> str:
    if r.get("arm_instruction_ratio") is None:
        return "-"
    old = r.get("arm_old_form_instruction_ratio")
    return f"{r['arm_instruction_ratio']:.3f}" + (f" ({old:.3f})" if old else "")


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
        if args.profile:
            rows[-1]["kernel_shares_percent"] = _profile(pair)
        if not args.no_arm:
            rows[-1].update(arm_ratios(pair, utc_stamp().lower()))
    settings = BenchSettings(warmup=args.warmup, repeats=args.repeats, rounds=args.rounds)
    rows += _devices(args, pairs, settings, utc_stamp().lower())
    _print_rows(rows, args.rounds)
    path = new_run_path("graph-fixes", args.reports)
    write_run(path, "graph-fixes", {"target_ratio": TARGET_RATIO}, rows)
    print(f"graph fixes: run file {path}")
    return 0
