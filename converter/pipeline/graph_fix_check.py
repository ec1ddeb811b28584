"""Applying the graph fixes to a model before opt: the rewritten program goes into <model>/fixed_model/ (the
parameters are shared, not changed), and is used only if desktop Paddle Inference gives the same outputs as on the
original program (deterministic generated images, plus IMAGES) within the fp32 tolerance. Otherwise the original
is converted, with a warning. What was done is written into the manifest under `graph_fixes`."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from converter.base.errors import ToolkitError
from converter.images.compare import compare_output
from converter.images.generated import generated_images
from converter.images.preprocess import ImageError, load_image, preprocess
from converter.opt.needs import FilledAttr
from converter.opt.run import ConversionError
from converter.pipeline.variants import convert_one
from converter.program.graph_fixes import fix_program
from converter.reference.desktop import Reference, ReferenceRunner
from converter.schema.manifest_types import FilledAttribute, GraphFixesInfo, InputPreprocess, Manifest
from converter.sources.fetch import ModelSource
from converter.sources.model_files import sha256_file, write_program_folder
from converter.sources.spec import GraphFixSettings

log = logging.getLogger(__name__)
FIXED_DIR = "fixed_model"
UNFIXED_DIR = "unfixed"  # the .nb converted without the fixes, for op counts and the fixed-vs-unfixed benchmark
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
MAX_EXTRA_IMAGES = 8


@dataclass
class GraphFixOutcome:
    status: str  # applied | not_needed | rejected | disabled
    source: ModelSource  # what opt converts
    rewrites: dict[str, int] = field(default_factory=dict)
    program_ops: tuple[int, int] = (0, 0)  # ops in the Paddle program before / after
    parity_max_abs_diff: float | None = None
    parity_images: int = 0
    warning: str | None = None
    filled: list[FilledAttr] = field(default_factory=list)
    images_folder: str | None = None  # the photos checked besides the generated images (--fix-images / $IMAGES)
    images_key: str | None = None  # fix_images_key of that folder

    @property
    def applied(self) -> bool:
        return self.status == "applied"

    def info(self) -> GraphFixesInfo:
        """As the manifest records it."""
        return GraphFixesInfo(
            status=self.status,  # type: ignore[arg-type]  # one of the four
            rewrites=sum(self.rewrites.values()),
            rewrites_by_kind=self.rewrites,
            program_ops_before=self.program_ops[0],
            program_ops_after=self.program_ops[1],
            parity_max_abs_diff=self.parity_max_abs_diff,
            parity_images=self.parity_images,
            parity_images_folder=self.images_folder,
            parity_images_key=self.images_key,
            warning=self.warning,
            attribute_defaults=[
                FilledAttribute(op=f.op_type, attribute=f.attribute, value=f.value, ops=f.ops) for f in self.filled
            ],
        )


def _extra_files(extra: Path) -> list[Path]:
    if not extra.is_dir():
        raise ToolkitError(f"images folder {extra} does not exist (--fix-images / IMAGES)")
    return sorted(p for p in extra.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:MAX_EXTRA_IMAGES]


def fix_images_key(extra: Path | None) -> str | None:
    """What the graph fixes' parity check ran on besides the generated images (--fix-images, default $IMAGES): a
    hash of the photos' names and bytes, recorded in the manifest and part of the conversion's staleness key, so a
    verdict always names its images and other images check the fixes again. None: generated images only."""
    if extra is None:
        return None
    digest = hashlib.sha256()
    for p in _extra_files(extra):
        digest.update(f"{p.relative_to(extra).as_posix()}\0{sha256_file(p)}\0".encode())
    return digest.hexdigest()


def checked_on_other_images(current: Manifest | None, settings: GraphFixSettings) -> bool:
    """The graph fixes were checked (applied or rejected) on other photos than --fix-images / $IMAGES name now."""
    if current is None or current.graph_fixes is None or not settings.enabled:
        return False
    info = current.graph_fixes
    if info.status not in ("applied", "rejected") or info.parity_images_key == fix_images_key(settings.images):
        return False
    log.info("%s: the graph fixes were checked on other photos than now given: converting again", current.model)
    return True


def _images(extra: Path | None) -> list[tuple[str, NDArray[Any]]]:
    images = generated_images()
    if extra is None:
        return images
    files = _extra_files(extra)
    for p in files:
        try:
            images.append((str(p), load_image(p)))
        except ImageError as e:
            log.warning("warning: %s", e)
    return images


def max_output_diff(ref: Reference, cand: Reference, pre: InputPreprocess, images: list[tuple[str, Any]]) -> float:
    """Largest |difference| over every output and image between two programs on the desktop."""
    worst = 0.0
    for _, bgr in images:
        x = preprocess(bgr, pre)
        ra, rb = ref.run([x]), cand.run([x])
        for name, value in ra.items():
            c = compare_output(name, value, rb.get(name))  # the comparison host and device parity use
            if c.problems or not math.isfinite(c.max_abs_diff):
                return float("inf")
            worst = max(worst, c.max_abs_diff)
    return worst


def prepare_graph_fixes(
    name: str, source: ModelSource, model_dir: Path, pre: InputPreprocess, settings: GraphFixSettings
) -> GraphFixOutcome:
    if not settings.enabled:
        return GraphFixOutcome("disabled", source)
    shape = (1, 3, pre.height, pre.width)
    result = fix_program(source.files.model_file.read_bytes(), str(source.files.model_file), shape)
    if result.total == 0:
        log.info("%s: graph fixes: nothing to rewrite; the program goes to opt unchanged", name)
        return GraphFixOutcome("not_needed", source, program_ops=(result.ops_before, result.ops_after))
    fixed = dataclasses.replace(source, files=write_program_folder(source.files, model_dir / FIXED_DIR, result.program))
    images = _images(settings.images)
    diff = max_output_diff(
        ReferenceRunner(source.files.model_file, source.files.params_file),
        ReferenceRunner(fixed.files.model_file, fixed.files.params_file),
        pre,
        images,
    )
    outcome = GraphFixOutcome(
        "applied", fixed, result.rewrites, (result.ops_before, result.ops_after), diff, len(images), None, result.filled
    )
    if settings.images is not None:
        outcome.images_folder, outcome.images_key = str(settings.images), fix_images_key(settings.images)
    shown = ", ".join(f"{n} {k}" for k, n in result.rewrites.items())
    if not diff <= settings.tolerance:
        outcome.status, outcome.source = "rejected", source
        outcome.warning = (
            f"graph fixes rejected: the rewritten program differs from the original by {diff:.3g} "
            f"(> fp32 tolerance {settings.tolerance:g}) on desktop Paddle Inference; converting the original"
        )
        shutil.rmtree(model_dir / FIXED_DIR, ignore_errors=True)
        log.warning("warning: %s: %s", name, outcome.warning)
        return outcome
    log.info(
        "%s: graph fixes: %s rewrite(s) (%s); program ops %d -> %d; max |diff| vs original %.2g on %d image(s)",
        name, result.total, shown, result.ops_before, result.ops_after, diff, len(images),
    )  # fmt: skip
    return outcome


def unfixed_op_counts(
    name: str,
    outcome: GraphFixOutcome,
    original: ModelSource,
    model_dir: Path,
    data: Manifest,
    *,
    targets: list[str],
) -> GraphFixesInfo:
    """The manifest's `graph_fixes`: with the fixes applied, each target's fp32 .nb is also converted from the
    original program into unfixed/ so that opt's own fusions count on both sides of ops_before / ops_after."""
    record = outcome.info()
    previous = data.graph_fixes
    keep = previous is not None and previous.status == outcome.status and previous.rewrites_by_kind == outcome.rewrites
    if keep and previous is not None:
        record.ops_before, record.ops_after = dict(previous.ops_before), dict(previous.ops_after)
    if not outcome.applied:
        for stale in (UNFIXED_DIR, FIXED_DIR):
            shutil.rmtree(model_dir / stale, ignore_errors=True)
        return record
    unfixed = model_dir / UNFIXED_DIR
    unfixed.mkdir(parents=True, exist_ok=True)
    for file_name, entry in sorted(data.files.items()):
        if entry.precision != "fp32" or entry.target not in targets:
            continue
        target = entry.target
        try:
            _, info, _ = convert_one(name, original, target, "fp32", unfixed)
        except ConversionError as e:  # e.g. an attribute only the fixes add: opt needs them to convert at all
            record.unfixed_errors[target] = e.detail
            log.info("%s: %s: without the graph fixes opt cannot convert it: %s", name, target, e.detail)
            continue
        record.ops_before[target] = info.op_counts
        record.ops_after[target] = entry.op_counts
        before, after = sum(info.op_counts.values()), sum(entry.op_counts.values())
        log.info("%s: %s: .nb ops %d without the graph fixes, %d with them (%s)", name, target, before, after,
                 file_name)  # fmt: skip
    return record
