"""One `video-check` record: the stability of one model x variant on one sequence, raw and through every temporal
method, from the masks video_check.masks() made, with the frame that changed most saved for the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmark.parity.video import FrameSequence, Stability, labels_flicker, stability
from benchmark.records.rows import SmoothedStability, VideoRecord


@dataclass
class Masks:
    raw: list[NDArray[Any]]
    smoothed: dict[str, list[NDArray[Any]]]  # by method
    ms: dict[str, list[float]]  # each method's own time per frame (the frame at model size is shared)


def lag_frames(raw: Stability, smoothed: Stability, event: int | None) -> int | None:
    """Frames after the sequence's sudden change until the smoothed mIoU is within 0.5 pt of the raw one."""
    if event is None or not raw.miou_per_frame or len(raw.miou_per_frame) != len(smoothed.miou_per_frame):
        return None
    after = range(event, len(raw.miou_per_frame))
    ok = (t for t in after if smoothed.miou_per_frame[t] >= raw.miou_per_frame[t] - 0.005)
    return next(ok, len(raw.miou_per_frame)) - event


@dataclass(frozen=True)
class Subject:
    """What produced the masks: a model, its variant and the runtime that ran it."""

    model: str
    variant: str
    runtime: str


def _save_worst(folder: Path, seq: FrameSequence, masks: list[NDArray[Any]], step: int) -> dict[str, str]:
    """The frame whose mask changed most, the previous mask carried along the camera motion, and this frame's mask
    (PNG, at most 320 pixels wide): the report's strip of where the mask changed most."""
    folder.mkdir(parents=True, exist_ok=True)
    expected, valid = seq.carry(masks[step - 1], step)
    frame = seq.frames[step]
    scale = min(1.0, 320 / frame.shape[1])
    size = (round(frame.shape[1] * scale), round(frame.shape[0] * scale))
    images = {
        "input": cv2.resize(frame, size, interpolation=cv2.INTER_AREA),
        "previous": cv2.resize((expected & valid).astype(np.uint8) * 255, size, interpolation=cv2.INTER_NEAREST),
        "current": cv2.resize(masks[step].astype(np.uint8) * 255, size, interpolation=cv2.INTER_NEAREST),
    }
    paths = {k: folder / f"{k}.png" for k in images}
    for k, img in images.items():
        cv2.imwrite(str(paths[k]), img)
    return {k: str(v) for k, v in paths.items()}


def video_record(who: Subject, seq: FrameSequence, m: Masks, artifacts: Path | None, smoothing: str) -> VideoRecord:
    raw = stability(m.raw, seq)
    by_method = {k: stability(v, seq) for k, v in m.smoothed.items()}
    sm = by_method[smoothing]
    worst = raw.worst_step
    floor = labels_flicker(seq)
    saved = None
    if artifacts is not None:
        saved = _save_worst(artifacts / who.model / f"{who.variant}-{_slug(seq.name)}", seq, m.raw, worst)
    methods = [
        SmoothedStability(
            method=k,  # type: ignore[arg-type]  # one of METHODS
            flicker=round(st.flicker, 5),
            temporal_iou=round(st.temporal_iou, 5),
            miou=None if st.miou is None else round(st.miou, 5),
            lag_frames=lag_frames(raw, st, seq.event_frame),
            ms_per_frame=round(float(np.median(m.ms[k])), 4) if m.ms[k] else None,
        )
        for k, st in by_method.items()
    ]
    return VideoRecord(
        model=who.model,
        variant=who.variant,
        runtime=who.runtime,
        sequence=seq.name,
        source=_source(seq, floor),
        kind=seq.kind,
        frames=raw.frames,
        flicker=round(raw.flicker, 5),
        flicker_smoothed=round(sm.flicker, 5),
        temporal_iou=round(raw.temporal_iou, 5),
        temporal_iou_smoothed=round(sm.temporal_iou, 5),
        miou=None if raw.miou is None else round(raw.miou, 5),
        miou_smoothed=None if sm.miou is None else round(sm.miou, 5),
        smoothing_ms_per_frame=round(float(np.median(m.ms[smoothing])), 4) if m.ms[smoothing] else None,
        worst_frame=worst,
        worst_frame_changed=round(raw.changed_per_step[worst - 1], 5) if raw.changed_per_step else None,
        artifacts=saved,
        smoothing=smoothing,
        methods=methods,
        flicker_labels=None if floor is None else round(floor, 5),
    )


def _source(seq: FrameSequence, floor: float | None) -> str:
    if not seq.flows:
        return "labelled photo under known motion"
    if floor is None:
        return "clip (motion estimated by DIS flow)"
    return "labelled photo measured as a clip (motion estimated by DIS flow)"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
