"""Calibrating a device class's cost model: phone figures (a user's bench-device medians, or the published ones of
configs/phone_figures.yaml and the zoo's seed table) joined with the instruction profiles of the same model and
variant (ARM emulated records in the run files, else the profiles stored with the shipped fit), then fitted."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from benchmark.profile.cost_model import (
    SHIPPED,
    CostModel,
    FitPoint,
    groups_of,
    memory_terms,
    model_path,
    read_cost_model,
)
from benchmark.profile.fit import FitError, fit
from benchmark.records.types import LatencyRecord
from converter.schema.zoo import Zoo

FIGURES = Path(__file__).resolve().parents[2] / "configs" / "phone_figures.yaml"
SEED_CLASS = "SM8150"  # the seed table's phone: Snapdragon 855
SEED_SOURCE = "seed: PP-HumanSeg model table (configs/zoo.yaml)"


class PhoneFigure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    precision: str
    ms: float
    source: str


class ClassFigures(BaseModel):
    model_config = ConfigDict(extra="forbid")

    soc: str
    core: str
    clock_mhz: float
    figures: list[PhoneFigure]


class FiguresFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_paddle_lite: str
    classes: dict[str, ClassFigures]


def published(zoo: Zoo, path: Path = FIGURES) -> dict[str, ClassFigures]:
    """Published figures per device class, the seed's own SD855 table included."""
    classes = FiguresFile.model_validate(yaml.safe_load(path.read_text())).classes
    seeds = [
        PhoneFigure(model=e.name, precision="fp32", ms=e.published.sd855_latency_ms, source=SEED_SOURCE)
        for e in zoo.models
        if e.published.sd855_latency_ms
    ]
    if SEED_CLASS in classes:
        classes[SEED_CLASS].figures = seeds + classes[SEED_CLASS].figures
    return classes


def _soc(r: LatencyRecord) -> str:
    return str(r.device.soc or "")


def measured(records: list[LatencyRecord]) -> dict[str, list[PhoneFigure]]:
    """A user's phone medians (bench-device records, not emulated), per device class; the newest per variant."""
    out: dict[str, dict[tuple[str, str], PhoneFigure]] = {}
    for r in sorted(records, key=lambda r: r.finished_at or ""):
        if r.emulated or r.status != "ok" or r.median_ms is None or not _soc(r):
            continue
        fig = PhoneFigure(model=r.model, precision=r.precision, ms=r.median_ms, source=f"measured: {r.run_file}")
        out.setdefault(_soc(r), {})[(r.model, r.precision)] = fig
    return {k: list(v.values()) for k, v in out.items()}


Profile = tuple[dict[str, int], int, dict[str, int], str | None]  # groups, kernels run, memory terms, geometry


def profiles(records: list[LatencyRecord], device_class: str) -> dict[tuple[str, str], Profile]:
    """Instruction groups, kernels launched and simulated memory terms per (model, variant) from ARM emulated records
    of the class (newest wins; a record without misses keeps the misses of an older one of the same .nb), on top of
    the ones stored with the shipped fit."""
    shipped = load_shipped(device_class)
    geometry = shipped.memory_geometry if shipped else None
    out: dict[tuple[str, str], Profile] = {
        (p.model, p.precision): (p.groups, p.ops, p.memory, geometry if p.memory else None)
        for p in (shipped.points if shipped else [])
    }
    for r in sorted(records, key=lambda r: r.finished_at or ""):
        if r.cost_profile is not None and _soc(r) == device_class:
            memory, geo = memory_terms(r.memory_traffic)
            old = out.get((r.model, r.precision))
            if not memory and old is not None:
                memory, geo = old[2], old[3]
            out[(r.model, r.precision)] = (groups_of(r.cost_profile.families), r.cost_profile.kernels_run, memory, geo)
    return out


def load_shipped(device_class: str) -> CostModel | None:
    path = model_path(device_class, SHIPPED)
    return read_cost_model(path) if path.is_file() else None


def calibrate(
    device_class: str, figures: list[PhoneFigure], info: ClassFigures, records: list[LatencyRecord], name: str
) -> tuple[CostModel, list[str]]:
    """The fitted model and the figures left out (no instruction profile of that model and variant)."""
    known = profiles(records, device_class)
    points, missing = [], []
    geometries: set[str | None] = set()
    for f in figures:
        profile = known.get((f.model, f.precision))
        if profile is None:
            missing.append(f"{f.model} {f.precision}")
            continue
        groups, ops, memory, geo = profile
        geometries.add(geo)
        points.append(
            FitPoint(
                model=f.model,
                precision=f.precision,
                phone_ms=f.ms,
                source=f.source,
                groups=groups,
                ops=ops,
                memory=memory,
            )
        )
    template = CostModel(
        name=name, device_class=device_class, soc=info.soc, core=info.core, clock_mhz=info.clock_mhz, ipc={}
    )
    if not points:
        raise FitError(
            f"{device_class}: none of its {len(figures)} phone figure(s) has an instruction profile; profile them "
            "first (make profile-arm on the ARM emulated phone of that class)"
        )
    shipped = load_shipped(device_class)
    geometry = geometries.pop() if len(geometries) == 1 else None  # memory terms only if all counted alike
    prior = shipped.ipc if shipped and name != shipped.name else None
    return fit(template, points, prior=prior, memory_geometry=geometry), missing
