"""Host side, in the toolkit's venv: MNN, LiteRT and ONNX Runtime measured on the emulated ARM core of a phone
(configs/emulated/<phone>.yaml: its QEMU CPU model and /proc/cpuinfo), in the arm64 Python root under qemu-aarch64,
one thread each. Per model x runtime x precision:

- ARM instructions per inference: (count of a process doing 3 inferences - count of one doing 1) / 2, counted with
  the insncount QEMU plugin (deterministic: the guest runs with PYTHONHASHSEED=0 and OpenBLAS on one thread);
- the first inference of a fresh process on every photo against desktop Paddle Inference fp32 (prepare.py): max
  |diff| and argmax agreement on the worst photo, and the zoo's gate for the precision (reported, not enforced:
  these runtimes are a comparison, not targets).

Writes OUT/results.json and prints a Markdown table (with the toolkit's own Paddle-Lite and ncnn rows from the
newest build/reports/runtimes-*.json when there is one). Exit 0 when every runtime that could be measured was, 1
when one failed, 2 for bad input."""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmark.emulated.phone import PhoneSpec, load_phone  # noqa: E402 (the repository onto sys.path first)
from benchmark.emulated.tree import cpuinfo_text  # noqa: E402
from converter.base import process  # noqa: E402
from converter.base.errors import ToolkitError  # noqa: E402
from converter.schema.zoo import load_zoo  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from convert import Conversion, Converters, convert_all  # noqa: E402

GUEST = Path(__file__).resolve().parent / "run_guest.py"
GUEST_ENV = {"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
GUEST_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Variant:
    runtime: str  # as shown
    key: str  # run_guest.py --runtime
    precision: str
    file: str
    conversion: str | None  # convert.STEPS key that makes `file` (None: model.onnx itself)
    how: str  # how the precision is asked for


VARIANTS = (
    Variant("MNN", "mnn", "fp32", "model.mnn", "mnn", "precision high, numThread 1"),
    Variant("MNN", "mnn", "fp16", "model.mnn", "mnn", "precision low (fp16 on ARMv8.2), numThread 1"),
    Variant("LiteRT", "litert", "fp32", "model_float32.tflite", "litert", "XNNPACK, num_threads 1"),
    Variant("LiteRT", "litert", "fp16", "model_float16.tflite", "litert", "fp16 weights, XNNPACK FORCE_FP16, 1 thread"),
    Variant("ONNX Runtime", "ort", "fp32", "model.onnx", None, "intra_op 1, inter_op 1"),
    Variant("ONNX Runtime", "ort", "fp16", "model_fp16.onnx", "ort-fp16", "float16 ONNX file, intra_op 1, inter_op 1"),
)


@dataclass
class Row:
    model: str
    runtime: str
    runtime_version: str | None
    precision: str
    status: str  # ok | failed | not_measured
    reason: str | None = None
    insns_per_inference: int | None = None
    images: int = 0
    max_abs_diff: float | None = None
    argmax_agreement: float | None = None
    gate: str | None = None
    how: str = ""
    file: str | None = None
    phone: str = ""
    cpu: str = ""
    source: str = "tools/compare-other-runtimes"
    counts: dict[str, int] = field(default_factory=dict)


class MeasureError(ToolkitError):
    """Bad input: exit 2."""


@dataclass(frozen=True)
class Guest:
    qemu: str
    cpu: str
    root: Path
    plugin: Path
    logs: Path

    def run(self, v: Variant, model: Path, x: Path, *, runs: int, tag: str) -> tuple[int | None, str]:
        """One guest process on input x, its first output saved to the tag's .npy; (its instruction count, its
        `version:` line). A failure is a RuntimeError carrying the reason."""
        log, out = self.logs / f"{tag}.insns", self.logs.parent / "runs" / f"{tag}.npy"
        log.unlink(missing_ok=True)
        argv = [self.qemu, "-cpu", self.cpu, "-plugin", str(self.plugin), "-d", "plugin", "-D", str(log)]
        argv += ["-L", str(self.root), str(self.root / "usr/bin/python3.11"), str(GUEST), "--runtime", v.key]
        argv += ["--model", str(model), "--precision", v.precision, "--input", str(x), "--runs", str(runs)]
        argv += ["--output", str(out)]
        r = process.run(argv, timeout_s=GUEST_TIMEOUT_S, env=GUEST_ENV)
        (self.logs / f"{tag}.log").write_text(f"$ {r.command}\n{r.stdout}\n{r.stderr}")
        if r.timed_out or r.returncode != 0 or not out.is_file():
            how = f"crashed ({r.signal_name})" if r.signal_name else f"exit {r.returncode}"
            how = "timed out" if r.timed_out else how
            last = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("INFO")]
            raise RuntimeError(f"{v.runtime} {v.precision} {how}: {last[-1][:200] if last else 'no output'}")
        version = next((ln[9:] for ln in r.stdout.splitlines() if ln.startswith("version: ")), "")
        text = log.read_text() if log.is_file() else ""
        insns = next((int(ln.split()[1]) for ln in text.splitlines() if ln.startswith("insns: ")), None)
        return insns, version


def phone_files(root: Path, phone: PhoneSpec) -> None:
    """The phone's /proc/cpuinfo and CPU sysfs inside the root: qemu-aarch64 -L reads ROOT/<path> before the
    host's, so the runtimes' CPU probes (cpuinfo in XNNPACK and ONNX Runtime) see the phone, not this x86 host
    (XNNPACK crashed on the host's /proc/cpuinfo). Caches are not described: those probes fall back to the host's."""
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/cpuinfo").write_text(cpuinfo_text(phone))
    cpus = sorted(c for cl in phone.clusters for c in cl.cpus)
    base = root / "sys/devices/system/cpu"
    files = {name: f"{cpus[0]}-{cpus[-1]}" for name in ("possible", "present", "online")}
    files["kernel_max"] = str(cpus[-1])
    for cluster_id, cl in enumerate(phone.clusters):
        siblings = f"{cl.cpus[0]}-{cl.cpus[-1]}"
        for c in cl.cpus:
            files |= {
                f"cpu{c}/online": "1",
                f"cpu{c}/topology/cluster_id": str(cluster_id),
                f"cpu{c}/topology/physical_package_id": "0",
                f"cpu{c}/topology/cluster_cpus_list": siblings,
                f"cpu{c}/topology/core_siblings_list": siblings,
                f"cpu{c}/cpufreq/cpuinfo_min_freq": str(cl.min_khz),
                f"cpu{c}/cpufreq/cpuinfo_max_freq": str(cl.max_khz),
            }
    for name, text in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text + "\n")


def gate(zoo: Any, row: Row, agreements: list[float]) -> str:
    """The zoo's tolerance of the precision (the one compare-runtimes judges Paddle-Lite and ncnn with)."""
    tol = zoo.tolerance(zoo.get(row.model), row.precision)
    worst_diff, worst_agree, mean_agree = row.max_abs_diff or 0.0, min(agreements), float(np.mean(agreements))
    problems = []
    if tol.max_abs_diff is not None and not worst_diff <= tol.max_abs_diff:
        problems.append(f"max |diff| {worst_diff:.2g} > {tol.max_abs_diff:g}")
    if not worst_agree >= tol.min_argmax_agreement:
        problems.append(f"argmax agreement {worst_agree:.4f} < {tol.min_argmax_agreement}")
    if tol.min_mean_argmax_agreement is not None and not mean_agree >= tol.min_mean_argmax_agreement:
        problems.append(f"mean argmax agreement {mean_agree:.4f} < {tol.min_mean_argmax_agreement}")
    return "pass" if not problems else "fail: " + "; ".join(problems)


def measure(v: Variant, model_dir: Path, guest: Guest, zoo: Any, conversions: dict[str, Conversion]) -> Row:
    row = Row(model_dir.name, v.runtime, None, v.precision, "ok", how=v.how, file=v.file)
    conv = conversions.get(v.conversion) if v.conversion else None
    if conv is not None and conv.error is not None:
        row.status, row.reason = ("not_measured" if conv.missing else "failed"), conv.error
        return row
    inputs = sorted(model_dir.glob("input_*.npy"), key=lambda p: int(p.stem.split("_")[1]))
    runs = model_dir / "runs"
    runs.mkdir(exist_ok=True)
    tag = f"{v.key}-{v.precision}"
    try:
        # the other photos first: their processes also write the modules' .pyc files, so that the two counted
        # processes (photo 0, 1 and 3 inferences) load the same way
        order = list(range(1, len(inputs))) + [0]
        for i in order:
            count, row.runtime_version = guest.run(v, model_dir / v.file, inputs[i], runs=1, tag=f"{tag}-{i}")
        if len(inputs) == 1:  # the only photo's process was the first one: count it again, warm
            count, _ = guest.run(v, model_dir / v.file, inputs[0], runs=1, tag=f"{tag}-0")
        count3, _ = guest.run(v, model_dir / v.file, inputs[0], runs=3, tag=f"{tag}-x3")
    except RuntimeError as e:
        row.status, row.reason = "failed", str(e)
        return row
    if count is None or count3 is None:
        row.status, row.reason = "failed", "the insncount plugin wrote no count"
        return row
    row.counts = {"1": count, "3": count3}
    row.insns_per_inference = (count3 - count) // 2
    diffs, agrees = [], []
    for i, _ in enumerate(inputs):
        got, want = np.load(runs / f"{tag}-{i}.npy"), np.load(model_dir / f"reference_{i}.npy")
        if got.shape != want.shape or not np.isfinite(got).all():
            what = "has inf/NaN" if got.shape == want.shape else f"!= {want.shape}"
            row.status, row.reason = "failed", f"photo {i}: output {got.shape} {what}"
            return row
        diffs.append(float(np.max(np.abs(got.astype(np.float64) - want))))
        agrees.append(float(np.mean(got.argmax(1) == want.argmax(1))))
    row.images, row.max_abs_diff, row.argmax_agreement = len(inputs), max(diffs), min(agrees)
    row.gate = gate(zoo, row, agrees)
    return row


def toolkit_rows(reports: Path, models: list[str]) -> list[dict[str, Any]]:
    """Paddle-Lite and ncnn from the newest runtimes-*.json (make compare-runtimes), for the table."""
    runs = sorted(reports.glob("runtimes-*.json"))
    if not runs:
        return []
    records = json.loads(runs[-1].read_text()).get("records", [])
    return [dict(r, source=runs[-1].name) for r in records if r.get("model") in models]


def fmt_m(insns: int | None) -> str:
    return f"{insns / 1e6:.2f}" if insns is not None else "-"


def table(rows: list[dict[str, Any]]) -> str:
    base = {(r["model"]): r["insns_per_inference"] for r in rows
            if r["runtime"] == "paddle-lite" and r["precision"] == "fp32" and r.get("insns_per_inference")}  # fmt: skip
    head = "| model | runtime | version | precision | M instructions | vs Paddle-Lite fp32 "
    head += "| max abs diff (worst photo) | argmax agreement (worst photo) | status |\n"
    head += "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |"
    lines = [head]
    for r in rows:
        insns, ref = r.get("insns_per_inference"), base.get(r["model"])
        ratio = f"{insns / ref:.2f}x" if insns and ref else "-"
        diff = f"{r['max_abs_diff']:.2g}" if r.get("max_abs_diff") is not None else "-"
        agree = f"{100 * r['argmax_agreement']:.3f}%" if r.get("argmax_agreement") is not None else "-"
        status = r["status"] + (f" ({r['reason']})" if r.get("reason") else "")
        if r.get("gate") and r["gate"] != "pass":
            status += f"; zoo gate {r['gate']}"
        lines.append(f"| {r['model']} | {r['runtime']} | {r.get('runtime_version') or '-'} | {r['precision']} | "
                     f"{fmt_m(insns)} | {ratio} | {diff} | {agree} | {status} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", required=True, help="comma-separated zoo names (prepared by prepare.py)")
    ap.add_argument("--out", type=Path, required=True, help="build/other-runtimes")
    ap.add_argument("--root", type=Path, required=True, help="the arm64 Python root")
    ap.add_argument("--plugin", type=Path, required=True, help="libinsncount.so")
    ap.add_argument("--qemu", default="qemu-aarch64")
    ap.add_argument("--phone", default="sd855-arm")
    ap.add_argument("--cpu", default="", help="QEMU CPU model instead of the phone's (e.g. max,sve=off,sme=off)")
    ap.add_argument("--reports", type=Path, default=REPO / "build" / "reports")
    ap.add_argument("--converters", type=Path, required=True, help="JSON: converter paths, versions, why missing")
    ap.add_argument("--versions", type=Path, required=True, help="JSON: the pinned guest wheels, for results.json")
    args = ap.parse_args(argv)
    try:
        phone = load_phone(args.phone)
        if phone.qemu is None:
            raise MeasureError(f"phone {args.phone!r} is not an ARM emulated phone (no qemu: entry): use sd855-arm")
        zoo = load_zoo()
        models = [m for m in args.models.split(",") if m]
        for m in models:
            if not (args.out / m / "prepared.json").is_file():
                raise MeasureError(f"{args.out / m}: not prepared: run tools/compare-other-runtimes MODELS={m}")
        spec = json.loads(args.converters.read_text())
        tools = Converters(*(Path(spec[k]) if spec.get(k) else None for k in ("mnn_python", "onnx2tf", "fp16_python")),
                           versions=spec["versions"], missing=spec.get("missing", {}))  # fmt: skip
    except ToolkitError as e:
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    phone_files(args.root, phone)
    cpu = args.cpu or phone.qemu.cpu
    rows: list[Row] = []
    for m in models:
        conversions = convert_all(args.out / m, tools)
        logs = args.out / m / "logs"
        logs.mkdir(exist_ok=True)
        guest = Guest(args.qemu, cpu, args.root, args.plugin, logs)
        for v in VARIANTS:
            print(f"{m}: {v.runtime} {v.precision} on the {args.phone} core (QEMU -cpu {cpu}) ...",
                  file=sys.stderr, flush=True)  # fmt: skip
            row = measure(v, args.out / m, guest, zoo, conversions)
            row.phone, row.cpu = args.phone, cpu
            print(f"  {row.status}: {fmt_m(row.insns_per_inference)} M instructions"
                  + (f" ({row.reason})" if row.reason else ""), file=sys.stderr, flush=True)  # fmt: skip
            rows.append(row)
    result = {"phone": args.phone, "cpu": cpu, "guest": json.loads(args.versions.read_text()),
              "converters": tools.versions, "rows": [asdict(r) for r in rows]}  # fmt: skip
    suffix = "" if cpu == phone.qemu.cpu else "-" + re.sub(r"[^a-z0-9]+", "-", cpu)  # another CPU: another file
    (args.out / f"results{suffix}.json").write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    (args.out / f"run{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    shown = toolkit_rows(args.reports, models) + [asdict(r) for r in rows]
    order = ["paddle-lite", "ncnn", *dict.fromkeys(v.runtime for v in VARIANTS)]
    shown.sort(key=lambda r: (models.index(r["model"]), r["precision"] != "fp32", order.index(r["runtime"])))
    print(table(shown))
    failed = [f"{r.model} {r.runtime} {r.precision}" for r in rows if r.status == "failed"]
    if failed:
        print(f"error: {len(failed)} of {len(rows)} failed: {', '.join(failed)} (reasons in the table and "
              f"{args.out / 'results.json'})", file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
