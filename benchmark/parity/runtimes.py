"""Paddle-Lite and ncnn side by side on one emulated ARM core: for a converted model (its .nb files and its ncnn
files, `--runtimes paddle-lite,ncnn`), each runtime x precision runs directly under qemu-aarch64 with the phone's
CPU model: ARM instructions per inference (whole-process counts with 3 and 1 inferences, the difference halved) and
the output of the FIRST inference of a fresh process on every image against desktop Paddle Inference fp32 (a phone
app's first frame is an inference too: a runtime that reads stale memory on its first run shows here).

The runners are the real ARM runtimes: Paddle-Lite's `lite_run` ($ARM_RUNTIME_DIR) and ncnn's `ncnn_run`
($NCNN_RUNTIME_DIR), whose version is checked against the model files' converter."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmark import progress
from benchmark.emulated import arm_runtime, ncnn_runtime
from benchmark.emulated.guest import run_guest
from benchmark.emulated.phone import PhoneSpec
from benchmark.parity.layer_diff import converted_program
from benchmark.records.rows import RuntimeRecord
from converter.artifacts import manifest
from converter.base.errors import ToolkitError, UsageError
from converter.images.compare import GroundTruthTally
from converter.images.preprocess import preprocess
from converter.ncnn.worker import INPUT, OUTPUT
from converter.reference.desktop import ReferenceRunner
from converter.schema.manifest_types import Manifest
from converter.schema.zoo import Tolerance

log = logging.getLogger("benchmark")
RUNTIMES = ("paddle-lite", "ncnn")
COUNTED = (1, 3)  # inferences in the two counted processes


@dataclass(frozen=True)
class Variant:
    runtime: str
    precision: str


def _fp16_cpu(phone: PhoneSpec) -> bool:
    return "asimdhp" in phone.cpu_features.split()


def _argv(v: Variant, model_dir: Path, *, src: Path, out: Path, shape: str, runs: int) -> tuple[list[str], str]:
    if v.runtime == "paddle-lite":
        nb = model_dir / manifest.nb_name("arm", v.precision)
        return [str(arm_runtime.lite_run_binary(v.precision)), str(nb), str(src), str(out), shape, "1", "0",
                str(runs), "0"], str(nb)  # fmt: skip
    prefix = model_dir / "ncnn" / "model.ncnn"
    fp16 = "1" if v.precision == "fp16" else "0"
    argv = [str(ncnn_runtime.ncnn_run()), str(prefix), str(src), str(out), shape, "1", "0", str(runs)]
    return [*argv, "--fp16", fp16, "--input", INPUT, "--output", OUTPUT], f"{prefix}.param"


def _compare(ref: NDArray[Any], got: NDArray[Any]) -> tuple[float, float | None, int]:
    got = got.reshape(ref.shape)
    bad = int(np.count_nonzero(~np.isfinite(got)))
    diff = float(np.nanmax(np.abs(got.astype(np.float64) - ref))) if bad < got.size else float("inf")
    agree = float(np.mean(got.argmax(1) == ref.argmax(1))) if ref.ndim == 4 and ref.shape[1] > 1 else None
    return diff, agree, bad


def measure(
    model_dir: Path,
    v: Variant,
    phone: PhoneSpec,
    *,
    inputs: list[NDArray[Any]],
    refs: list[NDArray[Any]],
    version: str,
    masks: list[NDArray[Any] | None] | None = None,
) -> RuntimeRecord:
    """One runtime x precision: its count on the first input, then the first inference on every input (and its
    mIoU on the labelled ones: `masks`, the ground truth at each photo's size)."""
    assert phone.qemu is not None
    cpu, sysroot = phone.qemu.cpu, phone.qemu.sysroot if v.runtime == "paddle-lite" else None
    rec = RuntimeRecord(model=model_dir.name, runtime=v.runtime, runtime_version=version, precision=v.precision,
                        phone=phone.name, cpu=cpu, status="ok")  # fmt: skip
    if v.precision == "fp16" and not _fp16_cpu(phone):
        return rec.model_copy(update={"status": "skipped", "reason": f"{phone.name}'s CPU has no FP16 arithmetic"})
    shape = ",".join(map(str, inputs[0].shape))
    with tempfile.TemporaryDirectory(prefix="pplite-runtimes-") as tmp:
        src, out = Path(tmp) / "in.f32", Path(tmp) / "out.f32"
        counts, worst, tally = [], (0.0, 1.0, 0), GroundTruthTally.empty()
        for i, x in enumerate(inputs):
            progress.show(f"{model_dir.name} {v.runtime} {v.precision} on {phone.name}", "image", i + 1, len(inputs))
            np.ascontiguousarray(x, dtype=np.float32).tofile(src)
            for runs in COUNTED if i == 0 else (1,):
                argv, rec.file = _argv(v, model_dir, src=src, out=out, shape=shape, runs=runs)
                run = run_guest(argv, cpu=cpu, sysroot=sysroot, count=i == 0)
                counts.append(run.insns or 0)
                if runs == 1:  # a fresh process's first inference
                    got = np.fromfile(out, dtype=np.float32).reshape(refs[i].shape)
                    diff, agree, bad = _compare(refs[i], got)
                    mask = masks[i] if masks else None
                    if mask is not None:
                        tally.add(got, mask)
                    worst = (max(worst[0], diff), min(worst[1], agree if agree is not None else 1.0), worst[2] + bad)
        progress.clear()
        rec.insns_per_inference = (counts[1] - counts[0]) // (COUNTED[1] - COUNTED[0])
        rec.images, rec.max_abs_diff, rec.argmax_agreement, rec.non_finite = len(inputs), *worst
        rec.miou, rec.labelled_images = tally.miou, len(tally.fg_ious)
    return rec


def judge(rec: RuntimeRecord, tolerance: Tolerance) -> RuntimeRecord:
    """The record with its verdict: no inf/NaN in any first inference, max |diff| and argmax agreement within the
    precision's tolerance. A record that measured nothing gets no verdict."""
    if rec.status != "ok":
        return rec
    why = None
    if rec.non_finite:
        why = f"{rec.non_finite} inf/NaN value(s) in a first inference"
    elif tolerance.max_abs_diff is not None and (rec.max_abs_diff or 0) > tolerance.max_abs_diff:
        why = f"max |diff| {rec.max_abs_diff:.3g} > {tolerance.max_abs_diff:g}"
    elif rec.argmax_agreement is not None and rec.argmax_agreement < tolerance.min_argmax_agreement:
        why = f"argmax agreement {rec.argmax_agreement:.4%} < {tolerance.min_argmax_agreement:.2%}"
    elif (
        (drop := rec.miou_drop_points) is not None
        and tolerance.max_miou_drop_points is not None
        and (drop > tolerance.max_miou_drop_points)
    ):
        why = f"mIoU {drop:.2f} points below desktop fp32 (> {tolerance.max_miou_drop_points:g})"
    return rec.model_copy(update={"passed": why is None, "gate_failure": why})


def variants(model_dir: Path, data: Manifest, precisions: tuple[str, ...]) -> Iterator[Variant]:
    """The converted model's runtime x precisions: its arm .nb files, and its ncnn files when converted."""
    for p in precisions:
        if (model_dir / manifest.nb_name("arm", p)).is_file():
            yield Variant("paddle-lite", p)
    if data.ncnn is not None and data.ncnn.status == "converted":
        yield from (Variant("ncnn", p) for p in precisions if p in ("fp32", "fp16"))


def _failed(model_dir: Path, phone: PhoneSpec, v: Variant, version: str, reason: str) -> RuntimeRecord:
    return RuntimeRecord(model=model_dir.name, runtime=v.runtime, runtime_version=version, precision=v.precision,
                         phone=phone.name, cpu=phone.qemu.cpu if phone.qemu else "", status="failed",
                         reason=reason)  # fmt: skip


def compare_runtimes(
    model_dir: Path,
    phone: PhoneSpec,
    images: list[NDArray[Any]],
    tolerances: dict[str, Tolerance],
    *,
    precisions: tuple[str, ...] = ("fp32", "fp16"),
    masks: list[NDArray[Any] | None] | None = None,
) -> list[RuntimeRecord]:
    """Every runtime x precision of the model that is converted, on `images` (BGR; `masks`: their labels, None where
    unlabelled), judged with `tolerances` (by precision) and, on labelled photos, against desktop fp32's mIoU; a
    variant that fails is a failed record, the others still run."""
    data = manifest.read(model_dir)
    if data is None:
        raise UsageError(f"{model_dir}: no converted model here; convert it first")
    inputs = [preprocess(bgr, data.preprocess) for bgr in images]
    runner = ReferenceRunner(*converted_program(model_dir))
    refs = [next(iter(runner.run([x]).values())).astype(np.float64) for x in inputs]
    desktop = GroundTruthTally.empty()
    for ref, mask in zip(refs, masks or [], strict=False):
        if mask is not None:
            desktop.add(ref, mask)
    versions = {"paddle-lite": "v2.13-rc (lite_run)", "ncnn": ""}
    out = []
    if data.ncnn is None or data.ncnn.status != "converted":  # asked for, and not there: a failure of its own
        why = data.ncnn.error if data.ncnn is not None else "not converted (convert with --runtimes paddle-lite,ncnn)"
        for p in (p for p in precisions if p in ("fp32", "fp16")):
            out.append(_failed(model_dir, phone, Variant("ncnn", p), "", f"no ncnn files: {why}"))
    for v in variants(model_dir, data, precisions):
        try:
            if v.runtime == "ncnn" and not versions["ncnn"]:
                versions["ncnn"] = ncnn_runtime.runtime_version(phone.qemu.cpu if phone.qemu else "max")
            rec = measure(model_dir, v, phone, inputs=inputs, refs=refs, version=versions[v.runtime], masks=masks)
            rec.desktop_miou = desktop.miou
            out.append(judge(rec, tolerances[v.precision]))
            log.info("%s: %s %s done (%s)", model_dir.name, v.runtime, v.precision, rec.status)
        except ToolkitError as e:
            out.append(_failed(model_dir, phone, v, versions[v.runtime], str(e).splitlines()[0]))
    return out
