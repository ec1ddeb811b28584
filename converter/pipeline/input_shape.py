"""The fixed input shape of a user's own model folder (`python -m converter model`), when it declares one."""

from __future__ import annotations

from converter.base.errors import ToolkitError
from converter.pir.source import is_pir, pir_input_shape
from converter.program.read import read_program
from converter.sources.model_files import ModelFiles


class InputShapeError(ToolkitError):
    """No fixed input shape could be determined for a model."""


def shape_from_files(files: ModelFiles) -> tuple[int, int, int, int]:
    """The fixed N, C, H, W a model folder declares: deploy.yaml's input_shape or Resize target size, else its
    program's one input (Paddle 2 program or PIR export); InputShapeError when none is fixed."""
    dep = files.deploy
    if dep and dep.input_shape and len(dep.input_shape) == 4 and all(d > 0 for d in dep.input_shape):
        n, c, h, w = dep.input_shape
        return (n, c, h, w)
    if dep and dep.target_size_wh:
        w, h = dep.target_size_wh
        return (1, 3, h, w)
    # a plain export (paddle.jit.save with a fixed InputSpec) records its input's shape in the program
    dims: tuple[int, ...] = ()
    if is_pir(files):  # a PIR file that cannot be read is said as such, not as a missing shape
        dims = pir_input_shape(files) or ()
    else:
        try:
            inputs = read_program(files.model_file).inputs
            dims = inputs[0].dims if len(inputs) == 1 else ()
        except ToolkitError:
            pass
    if len(dims) == 4 and all(d > 0 for d in dims):
        n, c, h, w = dims
        return (n, c, h, w)
    raise InputShapeError(
        f"{files.folder}: no fixed input shape in deploy.yaml (input_shape or Resize target_size) nor in the "
        "program's input; pass --input-shape 1,3,H,W"
    )
