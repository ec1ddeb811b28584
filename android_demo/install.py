"""`python -m android_demo.install`: install the demo APK on an attached device and start it, through the
toolkit's device seam (push verified by md5, `pm install -r`, `am start`). Refuses APKs that carry a model with
random weights (a stand-in): its masks would be meaningless on a phone."""

from __future__ import annotations

import argparse
import shlex
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from android_demo.build import APK_NAME, DEFAULT_OUT
from benchmark.device.adb import AdbDevice, AdbServer
from benchmark.device.select import select_devices
from benchmark.workflow import preflight
from converter.artifacts.app_spec import SPEC_NAME, AppSpec, read_spec
from converter.base.errors import ToolkitError
from converter.base.needs import existing_file
from converter.cli.args import setup_logging
from converter.cli.contract import EXIT_CODES_HELP, Command, run_command

PACKAGE = "com.pplite.humanseg"
ACTIVITY = f"{PACKAGE}/.app.MainActivity"
REMOTE = f"/data/local/tmp/{PACKAGE}.apk"  # named after the package (the emulated device's pm shim reads it)


class InstallError(ToolkitError):
    """The APK cannot or must not be installed."""


def apk_model(apk: Path) -> AppSpec:
    """The model_spec.json inside the APK."""
    try:
        with zipfile.ZipFile(apk) as z:
            return read_spec(z.read(f"assets/{SPEC_NAME}"))
    except FileNotFoundError:
        raise InstallError(f"{apk} does not exist; build it with `make android-demo`") from None
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise InstallError(f"{apk} is not a demo APK with assets/{SPEC_NAME}: {e}") from None


def install(apk: Path, server: AdbServer, serial: str | None) -> str:
    spec = apk_model(apk)
    if spec.weights == "random":
        raise InstallError(
            f"{apk} carries {spec.model} with RANDOM weights (a stand-in for a model whose weights were not "
            "available): its masks are meaningless; rebuild the APK with a trained model (make android-demo)"
        )
    serials = select_devices(server, serial)
    if not serials:
        raise InstallError(f"no usable device on the adb server {server} (`adb devices` lists them)")
    if len(serials) > 1:
        raise InstallError(f"{len(serials)} devices attached ({', '.join(serials)}): choose one with SERIAL=...")
    device = AdbDevice(server, serials[0])
    device.push(apk.read_bytes(), REMOTE)
    r = device.shell(f"pm install -r -t {shlex.quote(REMOTE)}; rc=$?; rm -f {shlex.quote(REMOTE)}; exit $rc", 300)
    if r.returncode != 0 or "Success" not in r.stdout:
        raise InstallError(f"{serials[0]}: pm install failed: {(r.stdout + r.stderr).strip()[-400:]}")
    r = device.shell(f"am start -n {ACTIVITY}", 60)
    if r.returncode != 0 or "Error" in r.stdout + r.stderr:
        raise InstallError(f"{serials[0]}: installed, but am start failed: {(r.stdout + r.stderr).strip()[-400:]}")
    return serials[0]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m android_demo.install", description=__doc__, epilog=EXIT_CODES_HELP)
    p.add_argument("--apk", type=Path, default=DEFAULT_OUT / APK_NAME)
    p.add_argument("--adb", help="adb server HOST:PORT (default $ANDROID_ADB_SERVER_HOST/PORT or 127.0.0.1:5037)")
    p.add_argument("--serial", help="the device (default $ANDROID_SERIAL, else the only one attached)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


@dataclass(frozen=True)
class InstallCommand:
    apk: Path
    server: AdbServer
    serial: str


def check_install(args: argparse.Namespace) -> InstallCommand:
    """The APK (a demo APK with a trained model), the adb server, exactly one device: before anything is pushed."""
    existing_file(args.apk, "--apk", fix="build it with `make android-demo`")
    spec = apk_model(args.apk)
    if spec.weights == "random":
        raise InstallError(
            f"{args.apk} carries {spec.model} with RANDOM weights (a stand-in for a model whose weights were not "
            "available): its masks are meaningless; rebuild the APK with a trained model (make android-demo)"
        )
    server = preflight.adb_server(args.adb)
    serials = preflight.devices(server, args.serial)
    if len(serials) > 1:
        raise InstallError(f"{len(serials)} devices attached ({', '.join(serials)}): choose one with SERIAL=...")
    return InstallCommand(args.apk, server, serials[0])


def run_install(cmd: InstallCommand) -> int:
    serial = install(cmd.apk, cmd.server, cmd.serial)
    print(f"installed {cmd.apk} on {serial} and started {ACTIVITY}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.verbose)
    return run_command(Command(check_install, run_install), args)


if __name__ == "__main__":
    sys.exit(main())
