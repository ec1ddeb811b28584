"""Child process that runs an x86 `.nb` with the Paddle-Lite Python runtime. The runtime segfaults on an ARM
`.nb` or a corrupt file, so it never runs inside the harness: benchmark/lite_host.py starts this module.

Usage: python -m benchmark.host.lite_worker --model X.nb --inputs in.npz --outputs out.npz
in.npz holds arrays named "<item>/<input index>"; out.npz gets "<item>/<output name>".
Prints one JSON line with init_ms and run_ms (per item) on stdout.
With --perf-control FIFO (benchmark/host/profile.py) the first item is run --warmup times first, and "enable" /
"disable" are written to perf's control FIFO around the items, so a profile holds the inference loop only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark.host.lite_worker")
    p.add_argument("--model", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--outputs", required=True)
    p.add_argument("--perf-control", help="perf record --control FIFO to enable around the items")
    p.add_argument("--warmup", type=int, default=0, help="runs of the first item before the items")
    p.add_argument("--repeat", type=int, default=1, help="runs per item (run_ms has each; outputs are the last's)")
    args = p.parse_args(argv)

    import numpy as np
    from numpy.typing import NDArray
    from paddlelite import lite

    t0 = time.perf_counter()
    config = lite.MobileConfig()
    config.set_model_from_file(args.model)
    predictor = lite.create_paddle_predictor(config)
    init_ms = (time.perf_counter() - t0) * 1e3
    out_names = list(predictor.get_output_names())

    data = np.load(args.inputs)
    items: dict[str, dict[int, NDArray[Any]]] = {}
    for key in data.files:
        item, idx = key.split("/")
        items.setdefault(item, {})[int(idx)] = data[key]
    results: dict[str, NDArray[Any]] = {}
    run_ms: list[float] = []
    first = items[min(items, key=int)] if items else {}
    for _ in range(args.warmup):
        for idx, x in sorted(first.items()):
            predictor.get_input(idx).from_numpy(np.ascontiguousarray(x))
        predictor.run()
    control = os.open(args.perf_control, os.O_WRONLY) if args.perf_control else None
    if control is not None:
        os.write(control, b"enable\n")
    for item in sorted(items, key=int):
        for idx, x in sorted(items[item].items()):
            predictor.get_input(idx).from_numpy(np.ascontiguousarray(x))
        for _ in range(max(1, args.repeat)):
            t1 = time.perf_counter()
            predictor.run()
            run_ms.append((time.perf_counter() - t1) * 1e3)
        for j, name in enumerate(out_names):
            # .numpy() aliases predictor memory that the next run overwrites: copy it.
            results[f"{item}/{name}"] = np.array(predictor.get_output(j).numpy(), copy=True)
    if control is not None:
        os.write(control, b"disable\n")
        os.close(control)
    tmp = args.outputs + ".tmp.npz"
    np.savez(tmp, **results)
    os.replace(tmp, args.outputs)
    print(json.dumps({"init_ms": init_ms, "run_ms": run_ms, "outputs": out_names}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
