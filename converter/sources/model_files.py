"""What is in a Paddle inference model folder: which program/params pair, and what deploy.yaml says.

Understands combined `model.pdmodel` + `model.pdiparams` (any `<stem>.pdmodel` with its `<stem>.pdiparams`),
the older `__model__` + `__params__` and `model` + `params` pairs, Paddle 3's PIR programs (`<stem>.json` with its
`<stem>.pdiparams`: what `paddle.jit.save` writes, PaddleSeg's export on Paddle 3, a PaddleX 3 model folder), and
the preprocessing files beside them: deploy.yaml in the PaddleSeg 2.6 form (transforms only) and the 2.7/2.8 form
(`input_shape`, `output_op`, `output_dtype`; converter.sources.deploy_yaml), and PaddleX 3's inference.yml
(converter.sources.paddlex_yml).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from converter.base import atomic_files
from converter.sources.deploy_yaml import DeployInfo, read_deploy_yaml
from converter.sources.model_format import ModelFormatError
from converter.sources.paddlex_yml import read_inference_yml

PIR = "pir"  # ModelFiles.layout of a Paddle 3 PIR program (<stem>.json)


@dataclass(frozen=True)
class ModelFiles:
    folder: Path
    model_file: Path
    params_file: Path
    layout: str  # "pdmodel", "__model__", "model+params", "pir"
    deploy: DeployInfo | None = None
    extra: tuple[Path, ...] = field(default=())

    def input_files(self) -> dict[str, Path]:
        """The files whose bytes determine the conversion result."""
        return {self.model_file.name: self.model_file, self.params_file.name: self.params_file}


def write_program_folder(
    files: ModelFiles, dest: Path, program: bytes | None = None, *, params_name: str | None = None
) -> ModelFiles:
    """A program's files in `dest`, whole or not at all (filled beside it, then renamed into place): its model file
    (or `program` in its place), its params (hard-linked where the file system allows: they are never changed; named
    `params_name` when given) and its deploy.yaml / inference.yml."""
    partial = atomic_files.partial_dir(dest)
    if program is None:
        shutil.copyfile(files.model_file, partial / files.model_file.name)
    else:
        (partial / files.model_file.name).write_bytes(program)
    params = partial / (params_name or files.params_file.name)
    try:
        os.link(files.params_file, params)
    except OSError:
        shutil.copyfile(files.params_file, params)
    for extra in ("deploy.yaml", "deploy.yml", "inference.yml"):
        if (files.folder / extra).is_file():
            shutil.copyfile(files.folder / extra, partial / extra)
    atomic_files.publish_dir(partial, dest)
    return find_model_files(dest)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_LAYOUTS = (("__model__", "__params__", "__model__"), ("model", "params", "model+params"))


def _pir_programs(names: set[str]) -> list[str]:
    """`<stem>.json` files with a `<stem>.pdiparams` beside them (other JSON files are not programs)."""
    return sorted(n for n in names if n.endswith(".json") and n[: -len(".json")] + ".pdiparams" in names)


def _preprocess_file(folder: Path, names: set[str]) -> DeployInfo | None:
    if "deploy.yaml" in names:
        return read_deploy_yaml(folder / "deploy.yaml")
    if "inference.yml" in names:
        return read_inference_yml(folder / "inference.yml")
    return None


def find_model_files(folder: Path) -> ModelFiles:
    """Identify the program/params pair in `folder`, or raise ModelFormatError saying what is wrong."""
    if not folder.exists():
        raise ModelFormatError(f"model folder {folder} does not exist")
    if not folder.is_dir():
        raise ModelFormatError(f"{folder} is not a folder (expected a Paddle inference model folder)")
    names = {p.name for p in folder.iterdir() if p.is_file()}
    if not names:
        raise ModelFormatError(
            f"model folder {folder} is empty: expected model.pdmodel + model.pdiparams (+ deploy.yaml), or a Paddle 3 "
            "export (<name>.json + <name>.pdiparams)"
        )
    deploy = _preprocess_file(folder, names)
    pdmodels = sorted(n for n in names if n.endswith(".pdmodel"))
    pirs = _pir_programs(names)
    both = [p for p in pirs if p[: -len(".json")] + ".pdmodel" in names]
    if both:
        stem = both[0][: -len(".json")]
        raise ModelFormatError(
            f"{folder}: holds the same model in both formats ({stem}.pdmodel and {stem}.json, one {stem}.pdiparams); "
            "keep the folder one export wrote (move the other program out), so that the parameters match the program"
        )

    candidates: list[tuple[str, str, str]] = []
    dep_model = _deploy_file(folder / "deploy.yaml", "model") if deploy and deploy.path.name == "deploy.yaml" else None
    dep_params = _deploy_file(folder / "deploy.yaml", "params") if dep_model else None
    if dep_model:
        stem = dep_model.rsplit(".", 1)[0]
        params = dep_params or stem + ".pdiparams"
        if dep_model not in names and stem + ".json" in names:  # PaddleSeg's export on Paddle 3 names .pdmodel
            candidates.append((stem + ".json", params, PIR))
        else:
            candidates.append((dep_model, params, PIR if dep_model.endswith(".json") else "pdmodel"))
    if "model.pdmodel" in pdmodels:
        candidates.append(("model.pdmodel", "model.pdiparams", "pdmodel"))
    candidates += [(m, m[: -len(".pdmodel")] + ".pdiparams", "pdmodel") for m in pdmodels]
    candidates += [(j, j[: -len(".json")] + ".pdiparams", PIR) for j in pirs]
    candidates += list(_LAYOUTS)

    for model_name, params_name, layout in candidates:
        if model_name not in names:
            continue
        if params_name not in names:
            raise ModelFormatError(
                f"{folder}: found the program {model_name} but its parameters file {params_name} is missing; "
                "copy the whole exported folder (program and parameters)"
            )
        return ModelFiles(folder, folder / model_name, folder / params_name, layout, deploy)
    stray = sorted(n for n in names if n in ("inference.json", "model.json"))
    if stray:
        raise ModelFormatError(
            f"{folder}: {', '.join(stray)} but no matching .pdiparams; a Paddle 3 export is <name>.json with "
            "<name>.pdiparams beside it: copy the whole exported folder"
        )
    raise ModelFormatError(
        f"{folder}: no Paddle inference program found (looked for model.pdmodel + model.pdiparams, "
        f"<name>.json + <name>.pdiparams, __model__ + __params__, model + params); files present: "
        f"{', '.join(sorted(names))}"
    )


def _deploy_file(path: Path, key: str) -> str | None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    v = raw["Deploy"].get(key)
    if v is None:
        return None
    if not isinstance(v, str) or "/" in v or v.startswith("."):
        raise ModelFormatError(f"{path}: Deploy.{key} must be a plain file name in the same folder, got {v!r}")
    return v
