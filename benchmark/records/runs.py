"""Run files as types: one class per kind (`<kind>-<UTC time>.json`), its run-level figures and its records, so
that a run file is written from and read into the same type (benchmark.records.run_files). The kind is the
discriminator; an unknown key or a wrong type refuses the file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr

from benchmark.records.base import Record, Sub
from benchmark.records.parts import ParitySummary, Source
from benchmark.records.rows import (
    GateRecord,
    GraphFixRecord,
    HostProfileRecord,
    LayerDiffRecord,
    OverheadRecord,
    RuntimeRecord,
    ScalingRecord,
    VideoRecord,
)
from benchmark.records.types import AccuracyRecord, Int8StudyRecord, LatencyRecord, ParityRecord

SCHEMA_VERSION = 2  # 2: records validated against their types; files without the key are version 1


class RunHeader(Sub):
    """What every run file starts with."""

    kind: str
    schema_version: int = SCHEMA_VERSION
    toolkit_version: str = ""
    written_at: str = Field(default="", description="ISO time of the last rewrite")
    _path: str | None = PrivateAttr(default=None)  # the file it was read from (readers only)

    @property
    def path(self) -> str | None:
        return self._path

    def with_path(self, path: str) -> RunHeader:
        self._path = path
        return self


class FarmDeviceFacts(Sub):
    server: str
    serial: str
    device_key: str
    model: str
    soc: str
    abi: str
    labels: list[str] = []
    work_dir: str | None = None
    runner: str | None = None


class FarmRunInfo(Sub):
    """A farm run's own facts (the latency run file of `make bench-farm`)."""

    run_id: str
    farm_file: str = ""
    servers: list[str] = []
    devices: list[FarmDeviceFacts] = []
    skipped_devices: list[dict[str, str]] = []
    server_errors: list[str] = []
    history: str = ""


class LatencyRun(RunHeader):
    kind: Literal["latency"] = "latency"
    adb_server: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict, description="the measurement settings as given")
    model_errors: list[str] = []
    farm: FarmRunInfo | None = None
    farm_wall_s: float | None = None
    records: list[LatencyRecord] = []


class SweepRun(RunHeader):
    kind: Literal["sweep"] = "sweep"
    model: str
    best_shape_wh: list[int]
    device: str
    records: list[LatencyRecord] = []


class ParityRun(RunHeader):
    kind: Literal["parity"] = "parity"
    source: Source = "host"
    images: str = Field(default="", description="where the images came from (absent in some schema-1 files)")
    image_count: int = 0
    image_warnings: list[str] = []
    models: list[ParitySummary] = Field(default_factory=list, description="each model variant's verdict")
    records: list[ParityRecord] = []


class AccuracyRun(RunHeader):
    kind: Literal["accuracy"] = "accuracy"
    dataset: str
    note: str = ""
    models: list[ParitySummary] = []
    records: list[AccuracyRecord] = []


class Int8StudyRun(RunHeader):
    kind: Literal["int8-study"] = "int8-study"
    model: str
    fp32_desktop_miou: float | None = None
    held_out_images: list[str] = []
    calibration_images_left_out: list[str] = []
    convolutions: int = 0
    groups: list[list[str]] = []
    chosen: str | None = None
    records: list[Int8StudyRecord] = []


class OverheadRun(RunHeader):
    kind: Literal["overhead"] = "overhead"
    target_fraction: float
    records: list[OverheadRecord] = []


class GateRun(RunHeader):
    kind: Literal["gate"] = "gate"
    baseline: str
    current: str
    thresholds: dict[str, float]
    passed: bool
    records: list[GateRecord] = []


class FarmScalingRun(RunHeader):
    kind: Literal["farm-scaling"] = "farm-scaling"
    target_ratio: float
    records: list[ScalingRecord] = []


class GraphFixesRun(RunHeader):
    kind: Literal["graph-fixes"] = "graph-fixes"
    target_ratio: float
    records: list[GraphFixRecord] = []


class HostProfileRun(RunHeader):
    kind: Literal["host-profile"] = "host-profile"
    event: str
    families: list[str]
    records: list[HostProfileRecord] = []


class LayerDiffRun(RunHeader):
    kind: Literal["layer-diff"] = "layer-diff"
    model: str
    precision: str
    tolerance_relative: float
    program: str
    first_departure: LayerDiffRecord | None = None
    worst: LayerDiffRecord | None = None
    matched: int = 0
    not_matched: int = 0
    non_finite_rows: int = Field(default=0, description="rows whose variant tensor holds inf or NaN")
    passed: bool | None = Field(
        default=None, description="False when any row is non-finite (the variant is broken); None when no row matched"
    )
    records: list[LayerDiffRecord] = []


class VideoRun(RunHeader):
    kind: Literal["video"] = "video"
    smoothing: str = Field(description="the temporal smoothing compared (model_spec.json's temporal section)")
    records: list[VideoRecord] = []


class RuntimesRun(RunHeader):
    kind: Literal["runtimes"] = "runtimes"
    tolerance: dict[str, float] = Field(description="max |diff| against desktop fp32 that passes, per precision")
    records: list[RuntimeRecord] = []


class BaselineFile(Sub):
    """`history export`: one farm run's records, the gate's baseline."""

    kind: Literal["pplite-baseline"] = "pplite-baseline"
    run_id: str
    records: list[LatencyRecord]


AnyRun = Annotated[
    LatencyRun
    | SweepRun
    | ParityRun
    | AccuracyRun
    | Int8StudyRun
    | OverheadRun
    | GateRun
    | FarmScalingRun
    | GraphFixesRun
    | HostProfileRun
    | LayerDiffRun
    | VideoRun
    | RuntimesRun,
    Field(discriminator="kind"),
]
RUN_TYPES: dict[str, type[RunHeader]] = {
    cls.model_fields["kind"].default: cls
    for cls in (
        LatencyRun,
        SweepRun,
        ParityRun,
        AccuracyRun,
        Int8StudyRun,
        OverheadRun,
        GateRun,
        FarmScalingRun,
        GraphFixesRun,
        HostProfileRun,
        LayerDiffRun,
        VideoRun,
        RuntimesRun,
    )
}
RunKind = Literal[
    "latency",
    "parity",
    "accuracy",
    "overhead",
    "sweep",
    "gate",
    "farm-scaling",
    "graph-fixes",
    "host-profile",
    "int8-study",
    "layer-diff",
    "video",
    "runtimes",
]


def record_type(kind: str) -> type[Record]:
    """The record type of a run kind's `records`."""
    annotation = RUN_TYPES[kind].model_fields["records"].annotation
    (item,) = annotation.__args__  # type: ignore[union-attr]  # list[X]
    return item  # type: ignore[no-any-return]
