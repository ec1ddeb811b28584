"""What a benchmark runs: the zoo models asked for, converted for arm and x86 where a file is missing, one job per
model and precision. A model that cannot be prepared is an error of that model; the others go on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.device.ncnn_model import NCNN_PRECISIONS
from benchmark.device.session import ModelJob
from converter.artifacts import manifest
from converter.base.errors import UsageError
from converter.pipeline.convert import convert_zoo_model
from converter.schema.zoo import Zoo
from converter.sources.spec import ModelSources

log = logging.getLogger("benchmark")


@dataclass(frozen=True)
class PreparedJobs:
    jobs: list[ModelJob]
    errors: list[str]  # one message per model that could not be prepared


def prepare_jobs(
    *,
    zoo: Zoo,
    sources: ModelSources,
    names: Sequence[str] | None = None,
    precisions: Sequence[str] | None = None,
    run_ncnn: bool = False,
) -> PreparedJobs:
    """Convert what is missing (arm and x86, and ncnn when `sources.runtimes` has it); names default to the whole
    zoo, precisions to each entry's; with `run_ncnn`, also a job per ncnn variant."""
    jobs, errors = [], []
    for name in zoo.select(list(names) if names else None):
        variants = tuple(precisions) if precisions else None
        o = convert_zoo_model(zoo, name, sources=sources, targets=("arm", "x86"), precisions=variants)
        if not o.ok or o.model_dir is None:
            errors.append(o.error or f"{name}: {o.status}")
            log.error("error: %s", errors[-1])
            continue
        data = manifest.read(o.model_dir)
        entry = zoo.get(name)
        shape = list(data.input_shape if data else entry.input_shape)
        wanted = list(precisions or zoo.precisions(entry))
        for precision in wanted:
            jobs.append(ModelJob(name, o.model_dir, shape, entry.published.sd855_latency_ms, precision))
        if run_ncnn and "ncnn" in sources.runtimes:
            jobs += ncnn_jobs(name, o.model_dir, shape, entry.published.sd855_latency_ms, wanted)
    return PreparedJobs(jobs, errors)


def ncnn_jobs(
    name: str, folder: Path, shape: list[int], seed_ms: float | None, precisions: list[str]
) -> list[ModelJob]:
    """The ncnn variants among `precisions` (fp32, fp16: the toolkit converts no int8 ncnn model)."""
    skipped = [p for p in precisions if p not in NCNN_PRECISIONS]
    if skipped:
        log.info("%s: ncnn runs %s only; %s not run with ncnn", name, "/".join(NCNN_PRECISIONS), ", ".join(skipped))
    return [ModelJob(name, folder, shape, seed_ms, p, "ncnn") for p in precisions if p in NCNN_PRECISIONS]


def converted_jobs(
    out: Path, names: Sequence[str], precisions: Sequence[str] | None, runtimes: Sequence[str] = ("paddle-lite",)
) -> PreparedJobs:
    """Models a user converted with `python -m converter model` (not in the zoo): folders under `out` with a
    manifest; every variant asked for (default: the ones built). A missing model or variant is bad input
    (UsageError: nothing runs)."""
    jobs: list[ModelJob] = []
    for name in names:
        data = manifest.read(out / name)
        if data is None:
            raise UsageError(f"{name}: no converted model in {out / name}; run python -m converter model DIR first")
        built = sorted({f.precision for f in data.files.values() if f.target == "arm"})
        for precision in precisions or built or ["fp32"]:
            if precision not in built:
                raise UsageError(
                    f"{name}: no arm {precision} variant in {out / name} (built: {', '.join(built) or 'none'}); "
                    f"convert it: python -m converter model DIR --name {name} --precision {precision}"
                )
            jobs.append(ModelJob(name, out / name, list(data.input_shape), None, precision))
        if "ncnn" in runtimes:
            if data.ncnn is None or data.ncnn.status != "converted":
                raise UsageError(
                    f"{name}: no ncnn files in {out / name}; convert it: python -m converter model DIR --name {name} "
                    "--runtimes paddle-lite,ncnn"
                )
            jobs += ncnn_jobs(name, out / name, list(data.input_shape), None, list(precisions or built or ["fp32"]))
    return PreparedJobs(jobs, [])


@dataclass(frozen=True)
class ModelChoice:
    """Which models a command runs, decided before any work: zoo names (default: the whole zoo; converted where a
    file is missing) in `precisions` (default: each entry's), or `converted`, a user's own models converted with
    `python -m converter model` into `sources.out_root`."""

    zoo: Zoo
    sources: ModelSources
    names: tuple[str, ...] = ()
    precisions: tuple[str, ...] | None = None
    converted: tuple[str, ...] = ()
    run_ncnn: bool = False  # the command runs the ncnn variants too (latency, bench-emulated with --runtimes)

    def prepare(self) -> PreparedJobs:
        """The work: convert what is missing, one job per model and variant."""
        if self.converted:
            runtimes = self.sources.runtimes if self.run_ncnn else ("paddle-lite",)
            return converted_jobs(self.sources.out_root, self.converted, self.precisions, runtimes)
        return prepare_jobs(
            zoo=self.zoo,
            sources=self.sources,
            names=self.names or None,
            precisions=self.precisions,
            run_ncnn=self.run_ncnn,
        )
