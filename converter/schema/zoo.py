"""The model zoo: configs/zoo.yaml -> frozen, validated records.

A broken file (not YAML, wrong top-level shape) is rejected whole. A broken *entry* is reported with the file,
the entry and the key, and the other entries stay usable, so batch work can go on past it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, ValidationError, field_validator

from converter.base.errors import ToolkitError, UsageError
from converter.base.locations import CONFIGS
from converter.base.strict import Frozen
from converter.base.yaml_files import read_mapping

DEFAULT_ZOO = CONFIGS / "zoo.yaml"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
# fp32; fp16 (ARM only); int8: full integer (post-training quantization with calibration images, int8 kernels);
# int8w / int16w: weight-only quantization (a smaller file, the same fp32 compute).
PRECISIONS = ("fp32", "fp16", "int8", "int8w", "int16w")
Precision = Literal["fp32", "fp16", "int8", "int8w", "int16w"]
CalibAlgo = Literal["hist", "mse", "KL", "avg"]  # Paddle's post-training activation-scale algorithms
WeightScales = Literal["channel", "tensor"]  # per-channel or per-tensor weight scales
RENAMED_PRECISIONS = {"int16": "int16w"}  # before 0.2 "int16" was weight-only int16 (and "int8" weight-only int8)


class UnknownModels(UsageError):
    def __init__(self, names: list[str], known: list[str], zoo: Path) -> None:
        super().__init__(f"unknown model(s) {', '.join(names)}; the zoo {zoo} has: {', '.join(known)}")
        self.names = names
        self.known = known


class ZooError(ToolkitError):
    """The zoo file or one of its entries is invalid."""


def check_model_name(name: str) -> str:
    """Model names become folder names and device paths: keep them to a safe alphabet."""
    if not NAME_RE.match(name):
        raise ValueError(
            f"model name {name!r} is not allowed: use lower-case letters, digits, '_', '-' and '.' "
            "(no spaces or shell metacharacters), starting with a letter or digit"
        )
    return name


class Tolerance(Frozen):
    """Parity gates of one precision against desktop fp32 Paddle Inference. Element-wise on the softmax output
    (`max_abs_diff`; None for weight-only quantized variants, judged at task level only), per image
    (`min_argmax_agreement`), and task level: mean mask IoU vs the fp32 reference masks, and the mIoU drop in points
    vs the fp32 desktop result on labelled images."""

    max_abs_diff: float | None = Field(default=None, gt=0)
    min_argmax_agreement: float = Field(ge=0, le=1)
    min_mean_argmax_agreement: float | None = Field(default=None, ge=0, le=1, description="over all images")
    min_mask_iou: float | None = Field(default=None, ge=0, le=1)
    max_miou_drop_points: float | None = Field(default=None, ge=0)
    reason: str | None = None


class ToleranceOverride(Frozen):
    max_abs_diff: float | None = Field(default=None, gt=0)
    min_argmax_agreement: float | None = Field(default=None, ge=0, le=1)
    min_mean_argmax_agreement: float | None = Field(default=None, ge=0, le=1)
    min_mask_iou: float | None = Field(default=None, ge=0, le=1)
    max_miou_drop_points: float | None = Field(default=None, ge=0)
    reason: str = Field(min_length=3, description="why this model needs other tolerances")


class Int8Recipe(Frozen):
    """How a model's full-int8 variant is quantized when the defaults lose too much accuracy (see int8-study)."""

    algo: CalibAlgo = "hist"
    weights: WeightScales = "channel"
    samples_per_image: int = Field(default=8, ge=1, description="augmented calibration samples per photo")
    skip: list[str] = Field(default_factory=list, description="convolution weights left in fp32")
    reason: str = Field(min_length=3)


class Preprocess(Frozen):
    """Resize to the model's W x H, then (x/255 - mean) / std per channel, in `channel_order`."""

    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    channel_order: Literal["rgb", "bgr"] = "rgb"


class Published(Frozen):
    """The seed model list's figures, shown next to measured ones."""

    miou_percent: float
    sd855_latency_ms: float | None = Field(default=None, gt=0)
    gpu_latency_ms: float | None = Field(default=None, gt=0)
    size_mb: float | None = Field(default=None, gt=0)


class StandinArchitecture(Frozen):
    """How to build a random-weight stand-in when no official graph exists: PaddleSeg 2.8 model classes."""

    model: str  # e.g. DeepLabV3P
    backbone: str | None = None  # e.g. ResNet50_vd; None for a model with its own (PPHumanSegLite)
    backbone_args: dict[str, Any] = Field(default_factory=dict)
    model_args: dict[str, Any] = Field(default_factory=dict)

    def fingerprint(self) -> str:
        import hashlib
        import json

        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class ZooModel(Frozen):
    name: str
    title: str
    url: str = Field(pattern=r"^(https?|file)://")
    folder: str | None = Field(default=None, description="archive folder name; default: the URL's file stem")
    input_shape: tuple[StrictInt, StrictInt, StrictInt, StrictInt]
    published: Published
    sha256: dict[str, Sha256] = Field(default_factory=dict)
    preprocess: Preprocess = Preprocess()
    tolerances: dict[Precision, ToleranceOverride] = Field(default_factory=dict)
    precisions: list[Precision] | None = Field(default=None, min_length=1, description="default: defaults.precisions")
    standin: StandinArchitecture | None = None
    int8: Int8Recipe | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_model_name(v)

    @field_validator("input_shape")
    @classmethod
    def _shape(cls, v: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        if v[0] != 1 or v[1] != 3 or v[2] <= 0 or v[3] <= 0:
            raise ValueError(f"input_shape must be NCHW [1, 3, H, W] with H, W > 0, got {list(v)}")
        return v

    @property
    def archive_folder(self) -> str:
        if self.folder:
            return self.folder
        stem = self.url.rstrip("/").rsplit("/", 1)[-1]
        for suffix in (".zip", ".tar.gz", ".tgz", ".tar"):
            if stem.endswith(suffix):
                return stem[: -len(suffix)]
        return stem


class ZooDefaults(Frozen):
    preprocess: Preprocess = Preprocess()
    precisions: list[Precision] = Field(default_factory=lambda: list[Precision](["fp32"]), min_length=1)
    tolerances: dict[Precision, Tolerance]


@dataclass(frozen=True)
class EntryError:
    index: int
    name: str | None
    message: str


@dataclass(frozen=True)
class Zoo:
    path: Path
    defaults: ZooDefaults
    models: tuple[ZooModel, ...]
    entry_errors: tuple[EntryError, ...]

    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def select(self, names: list[str] | None) -> list[str]:
        """The names asked for (default: every model); an unknown name is a usage error naming them all."""
        wanted = list(names or self.names())
        unknown = [n for n in wanted if n not in self.names()]
        if unknown:
            raise UnknownModels(unknown, self.names(), self.path)
        return wanted

    def get(self, name: str) -> ZooModel:
        for m in self.models:
            if m.name == name:
                return m
        for e in self.entry_errors:
            if e.name == name:
                raise ZooError(e.message)
        raise ZooError(f"{self.path}: no model named {name!r}; the zoo has: {', '.join(self.names())}")

    def tolerance(self, model: ZooModel | None, precision: str) -> Tolerance:
        base = next((t for p, t in self.defaults.tolerances.items() if p == precision), None)
        if base is None:
            raise ZooError(f"{self.path}: defaults.tolerances has no entry for precision {precision!r}")
        over = next((t for p, t in model.tolerances.items() if p == precision), None) if model else None
        if over is None:
            return base
        changes = {k: v for k, v in over.model_dump().items() if v is not None}
        return base.model_copy(update=changes)

    def precisions(self, model: ZooModel) -> tuple[str, ...]:
        return tuple(model.precisions or self.defaults.precisions)


def _describe(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(entry)"
        if e["type"] == "extra_forbidden":
            out.append(f"key {loc!r}: unknown key")
        elif e["type"] == "missing":
            out.append(f"key {loc!r}: missing required key")
        else:
            out.append(f"key {loc!r}: {e['msg']} (got {e.get('input')!r})")
    return out


_TOP_KEYS = {"schema_version", "defaults", "models"}


def load_zoo(path: Path = DEFAULT_ZOO) -> Zoo:
    raw = read_mapping(path, ZooError, missing="pass --zoo PATH", top=f"keys {sorted(_TOP_KEYS)}")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ZooError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
    if raw.get("schema_version") != 1:
        raise ZooError(f"{path}: schema_version must be 1, got {raw.get('schema_version')!r}")
    try:
        defaults = ZooDefaults.model_validate(raw.get("defaults") or {})
    except ValidationError as e:
        raise ZooError(f"{path}: defaults: " + "; ".join(_describe(e))) from None
    if "fp32" not in defaults.tolerances:
        raise ZooError(f"{path}: defaults.tolerances must define fp32")
    entries = raw.get("models")
    if not isinstance(entries, list) or not entries:
        raise ZooError(f"{path}: 'models' must be a non-empty list of model entries")

    models: list[ZooModel] = []
    errors: list[EntryError] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"{path}: models[{i}]" + (f" ({name})" if isinstance(name, str) else "")
        if not isinstance(entry, dict):
            errors.append(EntryError(i, None, f"{where}: an entry must be a mapping, got {type(entry).__name__}"))
            continue
        fields = entry if "preprocess" in entry else {**entry, "preprocess": defaults.preprocess.model_dump()}
        try:
            model = ZooModel.model_validate(fields)
        except ValidationError as e:
            errors.append(
                EntryError(i, name if isinstance(name, str) else None, f"{where}: " + "; ".join(_describe(e)))
            )
            continue
        if model.name in seen:
            errors.append(EntryError(i, model.name, f"{where}: duplicate model name {model.name!r}"))
            continue
        seen.add(model.name)
        models.append(model)
    return Zoo(path=path, defaults=defaults, models=tuple(models), entry_errors=tuple(errors))
