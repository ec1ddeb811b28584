"""`python -m android_demo.unit_tests`: the demo's pure-Java core tested on the host JVM (JUnit 4) against golden
files from the Python pipeline (android_demo.goldens: the zoo's preprocessing, desktop Paddle Inference outputs
and masks on real images, camera-like YUV frames). Prints one `N passed, N failed` line; exit 1 on failure."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from android_demo.goldens import image_files, write_goldens
from android_demo.toolchain import APP, ToolchainError, junit_classpath, run_tool
from converter.base import process
from converter.base.errors import ToolkitError
from converter.cli.args import setup_logging

DEFAULT_OUT = APP.parent / "build" / "android" / "unit-tests"
TIMEOUT_S = 600


def test_classes() -> list[str]:
    root = APP / "test"
    return sorted(str(p.relative_to(root).with_suffix("")).replace("/", ".") for p in root.rglob("*Test.java"))


def run_unit_tests(model_dir: Path, images: list[Path], out: Path) -> tuple[int, str]:
    goldens = write_goldens(model_dir, images, out / "goldens")
    classes_dir = out / "classes"
    shutil.rmtree(classes_dir, ignore_errors=True)
    classes_dir.mkdir(parents=True)
    cp = junit_classpath()
    javac = shutil.which("javac")
    java = shutil.which("java")
    if javac is None or java is None:
        raise ToolchainError("a JDK is needed (javac, java): sudo apt-get install -y openjdk-17-jdk-headless")
    sources = [
        str(p)
        for d in (APP / "src" / "com" / "pplite" / "humanseg" / "core", APP / "test")
        for p in sorted(d.rglob("*.java"))
    ]
    run_tool([javac, "-source", "8", "-target", "8", "-encoding", "UTF-8", "-Xlint:all,-options", "-cp", cp,
              "-d", str(classes_dir), *sources], "javac (unit tests)")  # fmt: skip
    argv = [java, f"-Dgoldens={goldens}", "-cp", f"{classes_dir}:{cp}", "com.pplite.humanseg.TestMain", *test_classes()]
    r = process.run(argv, timeout_s=TIMEOUT_S)
    if r.timed_out:
        raise ToolchainError(f"the Java unit tests did not finish within {TIMEOUT_S} s")
    return r.returncode, r.stdout + r.stderr


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m android_demo.unit_tests`."""
    p = argparse.ArgumentParser(prog="python -m android_demo.unit_tests", description=__doc__)
    p.add_argument("--model-dir", type=Path, required=True, help="converted model folder (build/models/NAME)")
    p.add_argument("--images", type=Path, help="folder of real images for the goldens (default: generated)")
    p.add_argument("--max-images", type=int, default=3)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        images = image_files(args.images, args.max_images)
        code, output = run_unit_tests(args.model_dir, images, args.out)
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(output.rstrip())
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
