"""python -m benchmark.emulated --root DIR --port PORT [--profile sd855|FILE]"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from benchmark.emulated.device import run_device
from benchmark.emulated.profile import ProfileError, load_profile


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark.emulated", description=__doc__)
    p.add_argument("--root", type=Path, required=True, help="folder for the device's file tree")
    p.add_argument("--port", type=int, default=0, help="TCP port (avoid 5555-5585: adb servers scan them)")
    p.add_argument("--profile", default="sd855", help="profile name in configs/emulated or a YAML file")
    args = p.parse_args(argv)
    if 5555 <= args.port <= 5585:
        print("error: ports 5555-5585 are scanned by every adb server on the machine; pick another", file=sys.stderr)
        return 2
    try:
        profile = load_profile(args.profile)
    except ProfileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_device(profile, args.root, args.port)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
