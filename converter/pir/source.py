"""A Paddle 3 PIR export as a conversion source: translated into <model>/translated/ (the ProgramDesc + the export's
own .pdiparams, hard-linked), checked against Paddle 3 Inference on the `.json`, and handed to the rest of the
pipeline (graph fixes, opt, quantization) as if it were a Paddle 2.6 export.

The check runs the translated program in Paddle 2.6 Inference and the original in Paddle 3.x Inference (its own
environment, converter.reference.paddle3_env) on the same inputs, both op by op without fusion passes, so that the same
ops must give the same floats; a translation that departs is refused (nothing is converted from it). The translated
folder is reused while its key (the export's sha256, the input shape, the translator's format) is unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from converter.base.errors import ToolkitError
from converter.pir.json_format import EXPORTED_BY, read_pir
from converter.pir.params import check_params
from converter.schema.manifest_types import InputPreprocess, PirTranslationInfo
from converter.sources.fetch import ModelSource
from converter.sources.model_files import PIR, ModelFiles, find_model_files, write_program_folder

log = logging.getLogger(__name__)
TRANSLATED_DIR = "translated"
RECORD = "TRANSLATION.json"
CHECK_IMAGES = 2  # generated images: the translation is exact or wrong, a few inputs tell which
# Both sides run every op as written (no fusion passes), so the same ops give the same floats: measured 0 on every
# export tried but MobileSeg, where one kernel sums in another order: 5.7e-7 and 1.22e-6 on softmax outputs with two
# calibrations of its stand-in (a few float32 ulps at 1.0). The bound, relative to the output's magnitude, leaves that
# room; a wrongly mapped op moves outputs by orders of magnitude more.
CHECK_RTOL = 1e-5


class TranslationMismatch(ToolkitError):
    """The translated program does not compute what Paddle 3 computes on the PIR export."""


def pir_input_shape(files: ModelFiles) -> tuple[int, ...] | None:
    """The input shape a PIR export declares (its data op), when it has one input."""
    program = read_pir(files.model_file)
    shapes = [tuple(int(d) for d in op.attrs.get("shape", [])) for op in program.ops if op.qualified == "pd_op.data"]
    return shapes[0] if len(shapes) == 1 else None


def _key(source: ModelSource, input_shape: tuple[int, ...]) -> str:
    from converter.pir.translate import TRANSLATOR_FORMAT

    return json.dumps([TRANSLATOR_FORMAT, sorted(source.sha256.items()), list(input_shape)])


def translated_source(
    name: str,
    source: ModelSource,
    model_dir: Path,
    input_shape: tuple[int, ...],
    pre: InputPreprocess,
) -> tuple[ModelSource, PirTranslationInfo]:
    """`source` with its files replaced by the translated program (translated and checked when not done already)."""
    folder = model_dir / TRANSLATED_DIR
    key = _key(source, input_shape)
    try:
        cached = PirTranslationInfo.model_validate_json((folder / RECORD).read_text(encoding="utf-8"))
        if cached.key == key:
            return dataclasses.replace(source, files=find_model_files(folder)), cached
    except (OSError, ValueError):
        pass
    from converter.pir.translate import translate

    program = read_pir(source.files.model_file)
    check_params(source.files.params_file, program.parameters())
    translation = translate(program, input_shape=input_shape)
    legacy = ModelFiles(
        source.files.folder,
        source.files.folder / "model.pdmodel",
        source.files.params_file,
        "pdmodel",
        source.files.deploy,
    )
    files = write_program_folder(legacy, folder, translation.program, params_name="model.pdiparams")
    diff, magnitude, runtime = _check(files, source.files, pre)
    bound = CHECK_RTOL * max(1.0, magnitude)
    info = PirTranslationInfo(
        pir_format_version=program.version,
        exported_by=f"{EXPORTED_BY[program.version]} (PIR format {program.version})",
        program_folder=str(folder.resolve()),
        pir_ops=translation.pir_ops,
        program_ops=sum(translation.op_counts.values()),
        folded_ops=translation.folded,
        key=key,
        reference_runtime=runtime,
        check_max_abs_diff=diff,
        check_images=CHECK_IMAGES,
        check_tolerance=bound,
    )
    if not diff <= bound:
        shutil.rmtree(folder, ignore_errors=True)
        raise TranslationMismatch(
            f"{source.files.model_file}: the translated program differs from {runtime} on the export by {diff:.3g} "
            f"(> {bound:.3g}, op by op without fusions); nothing is converted from it. Please report the model: the "
            "translator maps one of its ops wrongly"
        )
    (folder / RECORD).write_text(info.model_dump_json(indent=1), encoding="utf-8")
    log.info(
        "%s: PIR program translated (%d PIR ops -> %d program ops, %d folded into attributes); max |diff| vs %s %.2g",
        name, info.pir_ops, info.program_ops, info.folded_ops, runtime, diff,
    )  # fmt: skip
    return dataclasses.replace(source, files=files), info


def _check(translated: ModelFiles, original: ModelFiles, pre: InputPreprocess) -> tuple[float, float, str]:
    """The largest |difference| of any output between the export on its framework and the translation on Paddle
    2.6, both without fusion passes; the outputs' largest magnitude; the reference's name."""
    from converter.images.generated import generated_images
    from converter.images.preprocess import preprocess
    from converter.reference.desktop import open_reference

    images: list[tuple[str, NDArray[Any]]] = generated_images()[:CHECK_IMAGES]
    reference = open_reference(original.model_file, original.params_file, ir_optim=False)
    candidate = open_reference(translated.model_file, translated.params_file, ir_optim=False)
    worst, magnitude = 0.0, 0.0
    try:
        for _, bgr in images:
            x = preprocess(bgr, pre)
            want, got = reference.run([x]), candidate.run([x])
            for name, value in want.items():
                other = got.get(name)
                if other is None or other.shape != value.shape:
                    return float("inf"), 0.0, reference.runtime
                a, b = value.astype(np.float64), other.astype(np.float64)
                worst = max(worst, float(np.max(np.abs(a - b))) if a.size else 0.0)
                magnitude = max(magnitude, float(np.max(np.abs(a))) if a.size else 0.0)
    finally:
        reference.close()
    return worst if np.isfinite(worst) else float("inf"), magnitude, reference.runtime


def is_pir(files: ModelFiles) -> bool:
    return files.layout == PIR
