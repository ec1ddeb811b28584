"""python -m benchmark.emulated --root DIR --port PORT [--profile sd855|FILE] [--isolate auto|yes|no]"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from benchmark.emulated.device import run_device
from benchmark.emulated.namespace import inside_namespace, namespace_available, reexec_in_namespace
from benchmark.emulated.phone import PhoneSpecError, load_phone
from converter.base.errors import ToolkitError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark.emulated", description=__doc__)
    p.add_argument("--root", type=Path, required=True, help="folder for the device's file tree")
    p.add_argument("--port", type=int, default=0, help="TCP port (avoid 5555-5585: adb servers scan them)")
    p.add_argument("--profile", default="sd855", help="phone name in configs/emulated or a YAML file")
    p.add_argument(
        "--isolate",
        choices=["auto", "yes", "no"],
        default="auto",
        help="user + mount namespace with chroot (auto: when the kernel allows it)",
    )
    raw = list(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(raw)
    if 5555 <= args.port <= 5585:
        print("error: ports 5555-5585 are scanned by every adb server on the machine; pick another", file=sys.stderr)
        return 2
    try:
        phone = load_phone(args.profile)
    except PhoneSpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    chroot = inside_namespace()
    if not chroot and args.isolate != "no":
        if namespace_available():
            args.root.mkdir(parents=True, exist_ok=True)
            reexec_in_namespace([a if a != str(args.root) else str(args.root.resolve()) for a in raw])
        elif args.isolate == "yes":
            print(
                "error: user namespaces are not available here (unshare -U -r -m failed); use --isolate no",
                file=sys.stderr,
            )
            return 2
        else:
            print("user namespaces unavailable: plain mode (absolute paths rewritten)", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_device(phone, args.root.resolve(), args.port, chroot=chroot)
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
