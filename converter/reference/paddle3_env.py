"""The Paddle 3 environment: a second virtualenv with `paddlepaddle==3.3.1`, the framework that writes PIR exports,
used as their reference (Paddle 3.x Inference on the `.json`). Paddle 2.6, which the toolkit itself needs for opt's
program format, cannot share an interpreter with it.

It is made on first use, once, by the toolkit itself: `<repo>/.venv-paddle3` (or $PADDLE3_VENV), with the Python
that runs the toolkit, and pip from the package index; later runs (and later test runs) reuse it. $PADDLE3_PYTHON
names an interpreter that already has paddlepaddle 3.x instead. Creation is locked, so two commands starting at
once make it once. `extras` adds what the tests need to export networks with Paddle 3 ("exports").
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import sys
from pathlib import Path

from converter.base import process
from converter.base.errors import ToolkitError
from converter.base.locations import REPO

log = logging.getLogger(__name__)
PADDLE3_VERSION = "3.3.1"
REFERENCE = (f"paddlepaddle=={PADDLE3_VERSION}",)
# "exports": what tests/vision_exports.py needs to export with Paddle 3 as it does with Paddle 2.6: the toolkit's
# stand-in builder (numpy, OpenCV, pydantic, PyYAML) and PaddleSeg 2.8, which imports on Paddle 3.3.1 when installed
# without its pins (opencv-python<=4.6, visualdl): the packages it imports at start, then paddleseg with --no-deps.
EXTRAS = {
    "exports": (
        ("pyyaml", "opencv-python-headless", "pydantic>=2.6,<3", "scipy", "six", "scikit-learn", "tqdm", "filelock",
         "prettytable", "requests"),
        ("paddleseg==2.8.0",),
    ),
}  # fmt: skip
PIP_TIMEOUT_S = 1800.0


class Paddle3EnvError(ToolkitError):
    """The Paddle 3 environment could not be made or used."""


def venv_dir() -> Path:
    return Path(os.environ.get("PADDLE3_VENV") or REPO / ".venv-paddle3")


def _stamp(extras: tuple[str, ...]) -> str:
    parts = [*REFERENCE, *(p for e in extras for group in EXTRAS[e] for p in group)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _pip(python: Path, args: list[str]) -> None:
    result = process.run([str(python), "-m", "pip", "install", "--quiet", *args], timeout_s=PIP_TIMEOUT_S)
    if result.returncode != 0 or result.timed_out:
        raise Paddle3EnvError(
            f"pip install {' '.join(args)} into {python.parent.parent} failed "
            f"({'timed out' if result.timed_out else f'exit {result.returncode}'}): "
            f"{result.tail(3)}; check the package index is reachable, or set PADDLE3_PYTHON to an interpreter that "
            f"has paddlepaddle=={PADDLE3_VERSION}"
        )


def paddle3_python(extras: tuple[str, ...] = ()) -> Path:
    """An interpreter with paddlepaddle 3.x (and `extras`), making the environment on first use."""
    given = os.environ.get("PADDLE3_PYTHON")
    if given:
        if not Path(given).is_file():
            raise Paddle3EnvError(f"PADDLE3_PYTHON={given} does not exist; unset it to let the toolkit make one")
        return Path(given)
    unknown = [e for e in extras if e not in EXTRAS]
    if unknown:
        raise Paddle3EnvError(f"unknown Paddle 3 environment extra(s) {unknown}; known: {sorted(EXTRAS)}")
    root = venv_dir()
    python = root / "bin" / "python"
    stamp = root / f".installed-{_stamp(extras)}"
    if stamp.is_file() and python.is_file():
        return python
    root.parent.mkdir(parents=True, exist_ok=True)
    with (root.parent / f"{root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another command may be making it: wait, then use its result
        if stamp.is_file() and python.is_file():
            return python
        base = _stamp(())
        if not (root / f".installed-{base}").is_file():
            log.warning(
                "making the Paddle 3 reference environment in %s (first use: pip install %s, about 200 MB)",
                root, " ".join(REFERENCE),
            )  # fmt: skip
            shutil.rmtree(root, ignore_errors=True)
            made = process.run([_base_python(), "-m", "venv", str(root)], timeout_s=300.0)
            if made.returncode != 0:
                raise Paddle3EnvError(f"python -m venv {root} failed: {made.tail(3)}")
            _pip(python, ["--upgrade", "pip"])
            _pip(python, list(REFERENCE))
            (root / f".installed-{base}").touch()
        for extra in extras:
            with_deps, no_deps = EXTRAS[extra]
            log.warning("adding %s to the Paddle 3 environment %s", extra, root)
            _pip(python, list(with_deps))
            _pip(python, ["--no-deps", *no_deps])
        stamp.touch()
    return python


def _base_python() -> str:
    """The interpreter the toolkit's own venv was made from (a venv made from a venv's python works too, but this
    keeps the Paddle 3 environment independent of the toolkit's)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def main(argv: list[str] | None = None) -> int:
    """`python -m converter.reference.paddle3_env [EXTRA ...]` (make paddle3-env [PADDLE3_EXTRAS=exports]): make
    the environment now (with the named extras), print its python."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    extras = tuple(sys.argv[1:] if argv is None else argv)
    try:
        print(paddle3_python(extras))
    except Paddle3EnvError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
