"""Conversion of one model (`convert_source`, `convert_folder`; a folder's input shape: input_shape.py) and of the
zoo (`convert_zoo`).

Each requested (target, precision) becomes build/models/<name>/<target>-<precision>.nb, written under a temporary
name and renamed, with its entry in manifest.json. Unchanged inputs do no work at all (no paddle import), so a
second run is fast. Batch work goes on past a failed model and ends with a summary.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from converter.artifacts import manifest
from converter.base.errors import ToolkitError
from converter.opt.run import opt_version, preflight
from converter.pipeline.fp16_risks import fp16_warnings
from converter.pipeline.graph_fix_check import (
    FIXED_DIR,
    UNFIXED_DIR,
    checked_on_other_images,
    prepare_graph_fixes,
    unfixed_op_counts,
)
from converter.pipeline.input_shape import shape_from_files
from converter.pipeline.manifest_head import manifest_head
from converter.pipeline.ncnn_target import ncnn_step, ncnn_up_to_date, source_key
from converter.pipeline.variants import UNBUILDABLE, VariantInputs, builds_int8, convert_variants
from converter.pir.source import is_pir, translated_source
from converter.program.read import read_program
from converter.program.stats import model_stats
from converter.quant.quantize import Int8Plan, int8_plan
from converter.schema.manifest_types import Manifest, ModelStats, PirTranslationInfo
from converter.schema.zoo import Preprocess, Zoo, ZooModel, check_model_name
from converter.sources.fetch import ModelSource, ModelUnavailable, checksums, resolve
from converter.sources.model_files import find_model_files
from converter.sources.spec import DEFAULT_OUT, GraphFixSettings, ModelSources, ModelSpec, effective_preprocess
from converter.standins.build import standin_source
from converter.standins.store import marked_random

log = logging.getLogger(__name__)
DEFAULT_FIXES = GraphFixSettings()
DEFAULT_SOURCES = ModelSources()


@dataclass
class ModelOutcome:
    name: str
    status: str  # converted | up_to_date | failed | unavailable
    files: dict[str, Path] = field(default_factory=dict)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    source: ModelSource | None = None
    model_dir: Path | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # file name -> why it is not built
    failed_targets: dict[str, str] = field(default_factory=dict)  # a runtime (ncnn) whose conversion failed -> why

    @property
    def ok(self) -> bool:
        return self.status in ("converted", "up_to_date")


@dataclass
class ConversionSummary:
    outcomes: list[ModelOutcome]
    elapsed_s: float

    @property
    def exit_code(self) -> int:
        return 0 if all(o.ok and not o.failed_targets for o in self.outcomes) else 1

    def lines(self) -> list[str]:
        ok = [o for o in self.outcomes if o.ok]
        bad = [o for o in self.outcomes if not o.ok]
        done = sum(1 for o in ok if o.status == "converted")
        head = (
            f"{len(ok)}/{len(self.outcomes)} model(s) ready ({done} converted, {len(ok) - done} up to date) "
            f"in {self.elapsed_s:.2f} s"
        )
        if bad:
            head += "; failed: " + ", ".join(f"{o.name} ({o.status})" for o in bad)
        return [head]


def _stats(spec: ModelSpec, source: ModelSource, outcome: ModelOutcome) -> ModelStats | None:
    """Parameters and conv FLOPs at the best input shape; a failure here is a warning, not a failed conversion."""
    try:
        return model_stats(source.files.model_file, source.files.params_file, spec.input_shape)
    except (ToolkitError, RuntimeError, ValueError) as e:
        outcome.warnings.append(f"could not count parameters/FLOPs: {str(e).splitlines()[0] if str(e) else e}")
        return None


def _remove_if_empty(model_dir: Path) -> None:
    if model_dir.is_dir() and not any(model_dir.iterdir()):
        model_dir.rmdir()


def convert_source(
    spec: ModelSpec,
    source: ModelSource,
    *,
    targets: tuple[str, ...] = ("arm", "x86"),
    precisions: tuple[str, ...] = ("fp32",),
    out_root: Path = DEFAULT_OUT,
    fixes: GraphFixSettings = DEFAULT_FIXES,
    int8: Int8Plan | None = None,
    runtimes: tuple[str, ...] = ("paddle-lite",),
) -> ModelOutcome:
    start = time.monotonic()
    model_dir = out_root / spec.name
    outcome = ModelOutcome(spec.name, "up_to_date", warnings=list(source.warnings), source=source, model_dir=model_dir)
    current = manifest.load(model_dir)
    for note in manifest.migrate_variant_names(model_dir, current):
        log.info("%s: renamed %s", spec.name, note)
    opt_ver = opt_version()
    int8_key = int8.key(source.sha256, fixes.enabled) if int8 else None
    known = None if checked_on_other_images(current, fixes) else current  # fixes checked on other photos: again
    todo = _plan(outcome, known, targets, precisions, opt_ver=opt_ver, fixes_enabled=fixes.enabled, int8_key=int8_key)
    ncnn_key = source_key(source.sha256, fixes.enabled)
    ncnn_todo = "ncnn" in runtimes and not ncnn_up_to_date(model_dir, known, ncnn_key)
    if not todo and not ncnn_todo:
        if current is not None and manifest.ensure_spec(model_dir, current):
            log.info("%s: model_spec.json rewritten from the manifest (this toolkit's defaults)", spec.name)
        outcome.elapsed_s = time.monotonic() - start
        return outcome

    try:
        pre, pre_warnings = effective_preprocess(spec, source.files)
        outcome.warnings += pre_warnings
        translation: PirTranslationInfo | None = None
        original = source
        if is_pir(source.files):  # a Paddle 3 export: everything below reads its translation
            source, translation = translated_source(spec.name, source, model_dir, spec.input_shape, pre)
        program = read_program(source.files.model_file)
        fixed = prepare_graph_fixes(spec.name, source, model_dir, pre, fixes)
        outcome.warnings += [fixed.warning] if fixed.warning else []
        if ("arm", "fp16") in todo:
            outcome.warnings += fp16_warnings(fixed.source.files, (1, 3, pre.height, pre.width))
        out = program.outputs[0]
        data = manifest_head(current, spec, source=original, program=program, pre=pre, warnings=outcome.warnings)
        data.source_format, data.translation = ("pir" if translation else "program"), translation
        data.not_built, data.model_stats = outcome.skipped, _stats(spec, source, outcome)
        model_dir.mkdir(parents=True, exist_ok=True)
        _preflight(spec.name, fixed.source, sorted({t for t, _ in todo}))
        convert_variants(
            spec,
            todo,
            model_dir,
            data,
            VariantInputs(original, fixed.source, out, pre, opt_ver, fixes.enabled, int8, int8_key),
        )
        fp32_targets = sorted({t for t, p in todo if p == "fp32"})
        data.graph_fixes = unfixed_op_counts(spec.name, fixed, source, model_dir, data, targets=fp32_targets)
        if ncnn_todo:  # a failure is the ncnn target's, recorded; the Paddle-Lite files stand
            data.ncnn = ncnn_step(spec.name, fixed.source, model_dir, pre, ncnn_key)
            outcome.failed_targets.update({"ncnn": data.ncnn.error or ""} if data.ncnn.error else {})
        manifest.write(model_dir, data)
        outcome.status = "converted"
    except ToolkitError as e:
        outcome.status = "failed"
        outcome.error = str(e)
        if current is None:  # a first conversion that failed: the graph fixes' folders are partial output
            for partial in (FIXED_DIR, UNFIXED_DIR):
                shutil.rmtree(model_dir / partial, ignore_errors=True)
    finally:
        _remove_if_empty(model_dir)
    outcome.elapsed_s = time.monotonic() - start
    return outcome


def _preflight(name: str, source: ModelSource, targets: list[str]) -> None:
    for target in targets:
        ops = preflight(name, source.files, target)
        log.info("%s: opt preflight on %s: %d op types, all supported", name, target, len(ops))


def _plan(
    outcome: ModelOutcome,
    current: Manifest | None,
    targets: tuple[str, ...],
    precisions: tuple[str, ...],
    *,
    opt_ver: str,
    fixes_enabled: bool,
    int8_key: str | None,
) -> list[tuple[str, str]]:
    """The (target, precision) files to (re)build; records in `outcome` every file wanted and what cannot be built."""
    assert outcome.model_dir is not None and outcome.source is not None
    wanted = [(t, p) for p in precisions for t in targets if (t, p) not in UNBUILDABLE]
    outcome.skipped = {
        manifest.nb_name(t, p): UNBUILDABLE[(t, p)] for p in precisions for t in targets if (t, p) in UNBUILDABLE
    }
    for t, p in wanted:
        outcome.files[manifest.nb_name(t, p)] = outcome.model_dir / manifest.nb_name(t, p)
    return manifest.stale_files(
        wanted,
        outcome.model_dir,
        current=current,
        inputs_sha256=outcome.source.sha256,
        opt_ver=opt_ver,
        fixes_enabled=fixes_enabled,
        int8_key=int8_key,
    )


def convert_folder(
    folder: Path,
    *,
    name: str | None = None,
    input_shape: tuple[int, int, int, int] | None = None,
    targets: tuple[str, ...] = ("arm", "x86"),
    precisions: tuple[str, ...] = ("fp32",),
    out_root: Path = DEFAULT_OUT,
    fixes: GraphFixSettings = DEFAULT_FIXES,
    int8: Int8Plan | None = None,
    runtimes: tuple[str, ...] = ("paddle-lite",),
) -> ModelOutcome:
    """Convert a user's own Paddle inference model folder (not in the zoo); full int8 needs `int8`."""
    guess = folder.resolve().name
    for suffix in ("_inference_model_with_softmax", "_inference_model"):
        guess = guess.removesuffix(suffix)
    label = name or guess
    try:
        check_model_name(label)
    except ValueError as e:
        hint = "" if name else " (derived from the folder name; pass --name NAME)"
        return ModelOutcome(label, "failed", error=f"{e}{hint}")
    try:
        files = find_model_files(folder)
        shape = input_shape or shape_from_files(files)
    except ToolkitError as e:
        return ModelOutcome(label, "failed", error=str(e))
    random = marked_random(folder)
    if random:
        source = ModelSource("standin", files, checksums(files), "random weights", (random,))
    else:
        source = ModelSource("local", files, checksums(files), "unknown")
    spec = ModelSpec(label, shape, Preprocess(), title=label)
    return convert_source(
        spec, source, targets=targets, precisions=precisions, out_root=out_root, fixes=fixes, int8=int8,
        runtimes=runtimes,
    )  # fmt: skip


def convert_zoo(
    zoo: Zoo,
    names: list[str] | None = None,
    *,
    sources: ModelSources = DEFAULT_SOURCES,
    targets: tuple[str, ...] = ("arm", "x86"),
    precisions: tuple[str, ...] | None = None,
) -> ConversionSummary:
    """Convert zoo models; precisions None means each entry's (or the zoo default's) precisions."""
    start = time.monotonic()
    outcomes: list[ModelOutcome] = []
    selected = names or [*zoo.names(), *(e.name or f"models[{e.index}]" for e in zoo.entry_errors)]
    for name in selected:
        outcomes.append(convert_zoo_model(zoo, name, sources=sources, targets=targets, precisions=precisions))
        o = outcomes[-1]
        for w in o.warnings:
            log.warning("warning: %s: %s", name, w)
        if o.ok:
            log.info("%s: %s (%.2f s)", name, o.status.replace("_", " "), o.elapsed_s)
        else:
            log.error("error: %s", o.error)
    return ConversionSummary(outcomes, time.monotonic() - start)


def convert_zoo_model(
    zoo: Zoo,
    name: str,
    *,
    sources: ModelSources = DEFAULT_SOURCES,
    targets: tuple[str, ...] = ("arm", "x86"),
    precisions: tuple[str, ...] | None = None,
) -> ModelOutcome:
    try:
        entry: ZooModel = zoo.get(name)
    except ToolkitError as e:
        return ModelOutcome(name, "failed", error=str(e))
    try:
        source = resolve(entry, sources.models_dir, sources.cache, download=sources.download)
    except ModelUnavailable as e:
        if sources.fallback != "architecture":
            return ModelOutcome(name, "unavailable", error=str(e))
        try:
            source = standin_source(entry, sources.graphs_dir, sources.cache)
        except ToolkitError as se:
            return ModelOutcome(name, "unavailable", error=f"{e}; and {se}")
    except ToolkitError as e:
        return ModelOutcome(name, "failed", error=f"{name}: {e}")
    spec = ModelSpec(entry.name, entry.input_shape, entry.preprocess, title=entry.title)
    wanted = precisions or zoo.precisions(entry)
    tol = zoo.tolerance(entry, "fp32").max_abs_diff or sources.fixes.tolerance
    fixes = GraphFixSettings(sources.fixes.enabled, sources.fixes.images, tol)
    int8, int8_error = None, None
    try:
        int8 = int8_plan(entry.int8, sources.int8, sources.cache) if builds_int8(wanted, targets) else None
    except ToolkitError as e:  # the other variants are still converted; the model is reported failed
        int8_error, wanted = f"int8: {e}", tuple(p for p in wanted if p != "int8")
    outcome = convert_source(
        spec, source, targets=targets, precisions=wanted, out_root=sources.out_root, fixes=fixes, int8=int8,
        runtimes=sources.runtimes,
    )  # fmt: skip
    if int8_error:
        outcome.status = "failed"
        outcome.error = f"{outcome.error}; {int8_error}" if outcome.error else int8_error
    if outcome.error and not outcome.error.startswith(name):
        outcome.error = f"{name}: {outcome.error}"
    return outcome
