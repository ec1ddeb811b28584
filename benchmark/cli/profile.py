"""`profile-arm`: where each inference's ARM instructions go, per kernel family and op, on an ARM emulated phone
(the latency path with one short round; the cost profile rides on the instruction count). `calibrate`: fit a device
class's cost model to phone figures and print the fit, its residuals and leave-one-out errors."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path

from benchmark.cli.bench import (
    BenchPlan,
    add_model_args,
    add_reports_arg,
    add_runner_arg,
    model_choice,
    print_latency_run,
)
from benchmark.cli.emulated import add_phone_arg, runner_for
from benchmark.emulated.phone import PHONES_DIR, PhoneSpec
from benchmark.emulated.tree import cache_geometry
from benchmark.latency.run import BenchSettings
from benchmark.profile.calibrate import ClassFigures, calibrate, load_shipped, measured, published
from benchmark.profile.cost_model import ENV as COST_MODELS_ENV
from benchmark.profile.cost_model import (
    SHIPPED,
    CostModel,
    load_cost_model,
    read_cost_model,
    save_cost_model,
    user_dir,
)
from benchmark.profile.fit import FitError
from benchmark.profile.memory_study import points as memory_points
from benchmark.profile.memory_study import study as memory_study
from benchmark.profile.plugin import profile_plugin
from benchmark.records.run_files import DEFAULT_REPORTS, read_latency_records
from benchmark.records.types import LatencyRecord
from benchmark.report.decision_view import holds_fps
from benchmark.workflow import preflight
from benchmark.workflow.emulated import bench_emulated
from converter.base.errors import ExitCode, UsageError
from converter.base.needs import greater_than, output_dir
from converter.cli.args import csv_list
from converter.schema.zoo import load_zoo

TOP_OPS = 10


def add_profile_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("profile-arm", help="ARM instructions per kernel family and op (ARM emulated phone, QEMU)")
    add_model_args(p, "variants to profile")
    add_runner_arg(p)
    add_reports_arg(p)
    add_phone_arg(p, "sd855-arm")  # also a comma list, or `all` (every published class: fps by phone class)
    p.add_argument(
        "--compare-plain-count", action="store_true", help="also time the plain instruction count (the profile's cost)"
    )
    p.add_argument(
        "--caches",
        action="store_true",
        help="also simulate the phone's data caches (its profile's caches: L1D, L2, L3, with a stride prefetcher) and "
        "record the misses per inference (memory_traffic; about 1.4x the count's emulation time, kept per .nb). "
        "Automatic on a phone whose class's cost model counts memory",
    )
    p.add_argument("--round-timeout", type=float, default=BenchSettings().round_timeout_s, help="seconds per round")
    c = sub.add_parser("calibrate", help="fit a device class's cost model to phone figures; print fit and errors")
    c.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, help="run files: bench-device + ARM profiles")
    c.add_argument("--device-class", help="only this SoC model (e.g. SM8150; default: every class with figures)")
    c.add_argument("--published", action="store_true", help="refit to the published figures (maintainers)")
    c.add_argument("--write-to", type=Path, help=f"folder for the fitted file (default {user_dir()})")
    c.add_argument(
        "--memory-study",
        action="store_true",
        help="fit each published class with and without simulated cache misses (records of profile-arm --caches in "
        "--reports) and print leave-one-out errors and the penalty per miss; writes nothing",
    )
    c.add_argument("-v", "--verbose", action="store_true")


def _print_profile(r: LatencyRecord) -> None:
    cp = r.cost_profile
    if cp is None:
        print(f"{r.model} {r.precision}: no cost profile: {'; '.join(r.warnings) or r.error or r.status}")
        return
    est = (
        f"; estimated phone latency {r.estimate.est_latency_ms:.2f} ms ({r.estimate.cost_model})" if r.estimate else ""
    )
    print(
        f"\n{r.model} {r.precision}: {cp.per_inference_insns / 1e6:.2f} M instructions per inference, families sum "
        f"to {cp.profiled_insns / 1e6:.2f} M ({cp.sum_error:.4%} off){est}"
    )
    if cp.count_wall_s is not None and cp.profile_wall_s is not None:
        mine = cp.count_wall_s + cp.profile_wall_s
        plain = cp.plain_count_wall_s
        vs = f"; the plain count took {plain:.2f} s: {mine / plain:.2f}x" if plain else ""
        print(f"  counted and profiled in {mine:.2f} s{vs}")
    if r.memory_traffic is not None:
        m = r.memory_traffic
        print(f"  simulated caches ({m.geometry}): {m.accesses / 1e6:.2f} M accesses, misses L1D "
              f"{m.l1_misses / 1e6:.3f} M, L2 {m.l2_misses / 1e6:.3f} M, L3 {m.l3_misses / 1e6:.3f} M"
              + (f", DRAM lines {m.dram_lines / 1e6:.3f} M" if m.dram_lines is not None else ""))  # fmt: skip
    for fam, n in cp.families.items():
        print(f"  {fam:<24} {n / 1e6:9.2f} M  {n / cp.profiled_insns:6.1%}")
    if not cp.ops_matched:
        print(f"  ops not named: {cp.note}")
        return
    print(f"  {TOP_OPS} costliest ops" + (" (by estimated phone time):" if cp.timed else ":"))
    for o in cp.costliest(TOP_OPS):
        algo = (o.algorithm or o.kernel).split("|")[0]
        est = f" {o.est_us:8.0f} µs" if o.est_us is not None else ""
        print(f"    #{o.index:<4} {o.type:<20} {o.name[:34]:<34} {o.family:<20} {algo:<28} {o.insns / 1e6:8.2f} M{est}")


@dataclass(frozen=True)
class ProfileCommand:
    plan: BenchPlan
    phones: list[PhoneSpec]
    memory_phones: frozenset[str] = frozenset()  # whose class's cost model counts memory: caches simulated


def check_profile_arm(args: argparse.Namespace) -> ProfileCommand:
    """One short round per variant on each ARM emulated phone asked for (a comma list, or `all`: one per published
    class), no parity: the cost profile rides on the count."""
    names = sorted(p.stem for p in PHONES_DIR.glob("*-arm.yaml")) if args.phone == "all" else csv_list(args.phone)
    phones = [preflight.arm_phone(name) for name in names]
    profile_plugin()  # the plugin cannot be built (no gcc): one line, exit 2
    for phone in phones:
        if args.caches and cache_geometry(phone) is None:
            raise UsageError(f"--caches: the emulated phone {phone.name} lists no caches (caches: in its profile)")
    preflight.runner_file(args.runner)
    output_dir(args.reports, "--reports")
    greater_than(args.round_timeout, 0, "--round-timeout")
    settings = BenchSettings(
        rounds=1,
        repeats=1,
        warmup=0,
        memory_profile=False,
        round_timeout_s=args.round_timeout,
        compare_plain_count=args.compare_plain_count,
        cache_sim=args.caches,
    )
    plan = BenchPlan(model_choice(args), settings, args.reports, runner_for(args.runner, phones[0]))
    return ProfileCommand(plan, phones, frozenset(p.name for p in phones if counts_memory(p)))


def run_profile_arm(cmd: ProfileCommand) -> int:
    records, codes = [], []
    for phone in cmd.phones:
        plan = cmd.plan
        if not plan.settings.cache_sim and phone.name in cmd.memory_phones:  # its estimate needs the misses
            plan = replace(plan, settings=replace(plan.settings, cache_sim=True))
        result = bench_emulated(phone, plan.request(), on_latency=print_latency_run)
        records += result.latency.records
        codes.append(result.exit_code)
        for r in result.latency.records:
            _print_profile(r)
    if len(cmd.phones) > 1:
        print_by_class(records)
    missing = [r for r in records if r.status == "ok" and r.cost_profile is None]
    return ExitCode.FAILED if missing or not records else max(codes)


def counts_memory(phone: PhoneSpec) -> bool:
    """The phone lists its caches and its class's cost model has memory terms."""
    model = load_cost_model(phone.props.get("ro.soc.model", ""))
    return cache_geometry(phone) is not None and model is not None and model.calibrated and model.needs_memory


def print_by_class(records: list[LatencyRecord]) -> None:
    """One model variant's estimate on every phone class profiled: ms with the cost model's band, fps, and whether
    30 fps holds (the slow end of the band included)."""
    classes = sorted({r.device.soc or "?" for r in records})
    print("\nestimated phone latency by class (ms ±band; fps; 30 fps: yes / likely / no; never measured):")
    print(f"  {'model variant':<44}" + "".join(f" {c:>22}" for c in classes))
    for key in sorted({(r.model, r.precision) for r in records}):
        cells: list[str] = []
        for c in classes:
            r = next((x for x in records if (x.model, x.precision) == key and (x.device.soc or "?") == c), None)
            e = r.estimate if r is not None else None
            if r is None or r.status != "ok":
                cells.append("not run" if r is None else r.status)
            elif e is None:
                cells.append("no cost model yet")
            else:
                band = e.error_band_pct or 0.0
                cells.append(f"{e.est_latency_ms:.1f}±{band:.0f}% {1000 / e.est_latency_ms:.0f}fps "
                             f"{holds_fps(e.est_latency_ms, band)}")  # fmt: skip
        print(f"  {key[0] + ' ' + key[1]:<44}" + "".join(f" {c:>22}" for c in cells))


def _print_fit(model: CostModel, missing: list[str]) -> None:
    print(
        f"{model.device_class} ({model.soc}, {model.core}, {model.clock_mhz:.0f} MHz): {model.label}, "
        f"IPC {', '.join(f'{g} {v:.3f}' for g, v in model.ipc.items())}"
        + (f", {model.op_us:.2f} µs per op" if model.op_us else "")
    )
    print(f"  {'model':<40} {'variant':<7} {'phone ms':>9} {'fit ms':>8} {'err':>7} {'left out':>9} {'err':>7}")
    for p in model.points:
        e1 = 100 * ((p.est_ms or 0) / p.phone_ms - 1)
        e2 = 100 * ((p.loo_est_ms or 0) / p.phone_ms - 1)
        print(
            f"  {p.model:<40} {p.precision:<7} {p.phone_ms:9.2f} {p.est_ms or 0:8.2f} {e1:+6.1f}% "
            f"{p.loo_est_ms or 0:9.2f} {e2:+6.1f}%"
        )
    print(f"  fit RMS {model.fit_rms_pct} %; leave-one-out RMS {model.loo_rms_pct} % (max {model.loo_max_pct} %)")
    if model.note:
        print(f"  {model.note}")
    if missing:
        print(f"  not fitted (no instruction profile): {', '.join(missing)}")


def print_memory_study(classes: dict[str, ClassFigures], records: list[LatencyRecord], only: str | None) -> int:
    """Per class with enough points: each form's fit and leave-one-out errors, the penalty per miss it implies."""
    studied = 0
    for cls, info in sorted(classes.items()):
        if only and cls != only:
            continue
        pts, missing = memory_points(info.figures, [r for r in records if r.device.soc == cls])
        if len(pts) < 3:
            print(f"{cls}: {len(pts)} figure(s) with simulated misses; run profile-arm --caches on its phone")
            continue
        studied += 1
        gaps = f"; without misses: {', '.join(missing)}" if missing else ""
        print(f"\n{cls} ({info.soc}): {len(pts)} points{gaps}")
        print(f"  {'form':<44} {'fit RMS':>8} {'LOO RMS':>8} {'LOO max':>8}  penalty per miss       worst left out")
        forms = memory_study(pts)
        for f in forms:
            pen = ", ".join(f"{k.split()[0]} {v:.1f} ns" for k, v in f.penalty_ns.items()) or "-"  # per miss, per op
            errors = f"{f.fit_rms_pct:7.1f}% {f.loo_rms_pct:7.1f}% {f.loo_max_pct:7.1f}%"
            print(f"  {f.form:<44} {errors}  {pen:<22} {f.worst}")
        best = min(forms, key=lambda f: f.loo_rms_pct)
        print(f"  left out, {best.form}: " + ", ".join(f"{k} {v:+.1f}%" for k, v in best.loo_errors_pct.items()))
    return ExitCode.OK if studied else ExitCode.FAILED


def check_calibrate(args: argparse.Namespace) -> argparse.Namespace:
    """Every cost model file (the shipped ones, a refit in $COST_MODELS_DIR) readable; a --device-class that the
    figures or the records know."""
    output_dir(user_dir(), f"${COST_MODELS_ENV}")  # where refits are written: it may not exist yet
    for path in sorted([*SHIPPED.glob("*.yaml"), *user_dir().glob("*.yaml")]):
        read_cost_model(path)
    if args.write_to is not None:
        output_dir(args.write_to, "--write-to")
    if args.device_class:
        known = set(published(load_zoo())) | set(measured(_records(args.reports)))
        if args.device_class not in known:
            raise UsageError(
                f"--device-class {args.device_class}: no published figures or phone records for it; known: "
                f"{', '.join(sorted(known))}"
            )
    return args


def _records(reports: Path) -> list[LatencyRecord]:
    return [r for p in sorted(reports.glob("latency-*.json")) for r in read_latency_records(p)]


def run_calibrate(args: argparse.Namespace) -> int:
    records = _records(args.reports)
    if args.memory_study:
        return print_memory_study(published(load_zoo()), records, args.device_class)
    if args.published:
        classes = published(load_zoo())
        jobs = {k: (v, v.figures) for k, v in classes.items()}
        name, folder = "published-fit", args.write_to or SHIPPED
    else:
        mine = measured(records)
        infos = published(load_zoo())
        jobs = {k: (infos[k], v) for k, v in mine.items() if k in infos}
        unknown = sorted(set(mine) - set(infos))
        for k in unknown:
            print(f"{k}: phone records found, but no clock/core facts for this class in configs/phone_figures.yaml")
        name, folder = "user-fit", args.write_to or user_dir()
    if args.device_class:
        jobs = {k: v for k, v in jobs.items() if k == args.device_class}
    if not jobs:
        print(f"no phone records (bench-device) in {args.reports}: estimates use the shipped fit")
        for path in sorted(SHIPPED.glob("*.yaml")):
            if args.device_class and path.stem != args.device_class:
                continue
            shipped = load_shipped(path.stem)
            if shipped is not None:
                _print_fit(shipped, [])
        active = load_cost_model(args.device_class or "SM8150")
        if active is not None and active.name != "published-fit":
            print(f"(a refit in {user_dir()} is in use for {active.device_class}: {active.label})")
        return ExitCode.OK
    failed = 0
    for device_class, (info, figures) in sorted(jobs.items()):
        try:
            model, missing = calibrate(device_class, figures, info, records, name)
        except FitError as e:
            print(f"{device_class}: not calibrated: {e}")
            failed += 1
            continue
        path = save_cost_model(model, folder)
        _print_fit(model, missing)
        print(f"  written {path}")
    return ExitCode.FAILED if failed else ExitCode.OK
