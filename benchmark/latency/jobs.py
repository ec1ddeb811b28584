"""What a benchmark runs: the zoo models asked for, converted for arm and x86 where a file is missing, one job per
model and precision. A model that cannot be prepared is an error of that model; the others go on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
    *, zoo: Zoo, sources: ModelSources, names: Sequence[str] | None = None, precisions: Sequence[str] | None = None
) -> PreparedJobs:
    """Convert what is missing (arm and x86); names default to the whole zoo, precisions to each entry's."""
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
        for precision in precisions or zoo.precisions(entry):
            jobs.append(ModelJob(name, o.model_dir, shape, entry.published.sd855_latency_ms, precision))
    return PreparedJobs(jobs, errors)


def converted_jobs(out: Path, names: Sequence[str], precisions: Sequence[str] | None) -> PreparedJobs:
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

    def prepare(self) -> PreparedJobs:
        """The work: convert what is missing, one job per model and variant."""
        if self.converted:
            return converted_jobs(self.sources.out_root, self.converted, self.precisions)
        return prepare_jobs(zoo=self.zoo, sources=self.sources, names=self.names or None, precisions=self.precisions)
