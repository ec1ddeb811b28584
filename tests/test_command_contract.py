"""The commands' contract (converter.cli.contract), table-driven: every subcommand of both CLIs and
android_demo.install against each class of bad input that applies to it. For each: the exit code, exactly one
`error:` line naming the input, no traceback, no password, and nothing converted or measured before the refusal
(--out and --reports stay empty). Set CONTRACT_TABLE=FILE.json to write (command, class, exit code, seconds)."""

from __future__ import annotations

import importlib
import json
import os
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from android_demo import install
from converter.cli import main as convert_cli
from tests.conftest import PORTRAIT_V2, built_once

bench_cli = importlib.import_module("benchmark.cli.main")  # the package re-exports main(), shadowing the module
SECRET = "s3cr3t-pw"
MAINS: dict[str, Callable[[list[str] | None], int]] = {
    "converter": convert_cli.main,
    "benchmark": bench_cli.main,
    "android_demo.install": install.main,
}


@dataclass(frozen=True)
class Case:
    cli: str  # converter | benchmark | android_demo.install
    argv: list[str]  # {placeholders} filled from the inputs fixture
    kind: str  # the class of bad input
    names: str  # what the error line must name ({placeholders} too)
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> str:
        return self.cli if self.cli == "android_demo.install" else f"{self.cli} {self.argv[0]}"


MISSING, WRONG, CORRUPT, NUMBER, NAME, SERVER, ENV, TOOL = (
    "missing file/folder",
    "wrong kind of file",
    "corrupt model",
    "bad number/shape",
    "unknown name",
    "unreachable/refusing server",
    "bad environment variable",
    "missing tool",
)
OUT = ["--out", "{out}"]
REP = ["--reports", "{reports}"]
ZOO = ["--offline", *OUT]
NO_QEMU = {"PATH": "{empty}"}
NO_ARM = {"ARM_RUNTIME_DIR": "{missing}"}


def c(cli: str, argv: str, kind: str, names: str, code: int = 2, **env: str) -> Case:
    return Case(cli, argv.split(), kind, names, code, dict(env))


CONVERTER = [
    c("converter", "zoo --models no_such_model --offline --out {out}", NAME, "no_such_model"),
    c("converter", "zoo --offline --out {out}", NAME, "no_such_model", MODELS="no_such_model"),
    c("converter", "zoo --models-dir {missing} --offline --out {out}", MISSING, "--models-dir"),
    c("converter", "zoo --offline --out {out}", ENV, "MODELS_DIR", MODELS_DIR="{missing}"),
    c("converter", "zoo --zoo {txt} --offline --out {out}", WRONG, "{txt}"),
    c("converter", "zoo --zoo {missing} --offline --out {out}", MISSING, "{missing}"),
    c("converter", "zoo --offline --out {txt}", WRONG, "--out"),
    c("converter", "zoo --precision fp64 --offline --out {out}", NAME, "fp64"),
    c("converter", "zoo --offline --out {out}", ENV, "fp64", PRECISIONS="fp64"),
    c("converter", "zoo --offline --out {out}", ENV, "FALLBACK", FALLBACK="bogus"),
    c("converter", "zoo --offline --out {out}", ENV, "CALIB", CALIB="{missing}"),
    c("converter", "zoo --targets mips --offline --out {out}", NAME, "mips"),
    c("converter", "zoo --runtimes tflite --offline --out {out}", NAME, "tflite"),
    c("converter", "zoo --offline --out {out}", ENV, "ncnn,x", RUNTIMES="ncnn,x"),
    c("converter", "zoo --calib-per-image 0 --offline --out {out}", NUMBER, "--calib-per-image"),
    c("converter", "model {missing} --out {out}", MISSING, "{missing}"),
    c("converter", "model {txt} --out {out}", WRONG, "{txt}"),
    c("converter", "model {empty} --out {out}", WRONG, "{empty}"),
    c("converter", "model {corrupt} --out {out}", CORRUPT, "{corrupt}"),
    c("converter", "model {pir} --out {out}", CORRUPT, "{pir}"),
    c("converter", "model {pir} --out {out}", ENV, "PADDLE3_PYTHON", PADDLE3_PYTHON="{missing}"),
    c("converter", "model {small} --out {out}", ENV, "IMAGES", IMAGES="{missing}"),
    c("converter", "model {small} --input-shape 1,3,0,4 --out {out}", NUMBER, "1,3,0,4"),
    c("converter", "model {small} {small} --name x --out {out}", NUMBER, "--name"),
    c("converter", "model {small} --precision fp64 --out {out}", NAME, "fp64"),
    c("converter", "inspect {missing}", MISSING, "{missing}"),
    c("converter", "inspect {empty}", WRONG, "{empty}"),
    c("converter", "inspect {garbage_nb}", CORRUPT, "{garbage_nb}", code=1),  # read, and judged corrupt
]

LATENCY_PATH = [
    c("benchmark", "latency --adb 127.0.0.1:1 --offline --out {out} --reports {reports}", SERVER, "127.0.0.1:1"),
    c("benchmark", "latency --adb {not_adb} --offline --out {out} --reports {reports}", SERVER, "{not_adb}"),
    c(
        "benchmark",
        "latency --offline --out {out} --reports {reports}",
        ENV,
        "ANDROID_ADB_SERVER_PORT",
        ANDROID_ADB_SERVER_PORT="abc",
    ),  # fmt: skip
    c("benchmark", "latency --adb {lab} --serial nosuch --offline --out {out} --reports {reports}", NAME, "nosuch"),
    c(
        "benchmark",
        "latency --adb {lab} --runner {missing} --offline --out {out} --reports {reports}",
        TOOL,
        "--runner",
    ),  # fmt: skip
    c("benchmark", "latency --adb {lab} --runner {txt} --offline --out {out} --reports {reports}", WRONG, "{txt}"),
    c(
        "benchmark",
        "latency --adb {lab} --models no_such_model --offline --out {out} --reports {reports}",
        NAME,
        "no_such_model",
    ),  # fmt: skip
    c("benchmark", "latency --adb {lab} --rounds 0 --offline --out {out} --reports {reports}", NUMBER, "--rounds"),
    c("benchmark", "latency --adb {lab} --duration 1x --offline --out {out} --reports {reports}", NUMBER, "1x"),
    c(
        "benchmark",
        "latency --adb {lab} --images {missing} --offline --out {out} --reports {reports}",
        MISSING,
        "--images",
    ),  # fmt: skip
    c(
        "benchmark", "latency --adb {lab} --dataset {empty} --offline --out {out} --reports {reports}", WRONG, "{empty}"
    ),  # fmt: skip
    c(
        "benchmark", "latency --adb {lab} --offline --out {out} --reports {reports}", ENV, "RUNNER", RUNNER="{missing}"
    ),  # fmt: skip
    c("benchmark", "bench-emulated --devices 0 --offline --out {out} --reports {reports}", NUMBER, "--devices"),
    c("benchmark", "bench-emulated --phone nosuch --offline --out {out} --reports {reports}", NAME, "nosuch"),
    c("benchmark", "bench-emulated --profile nosuch --offline --out {out} --reports {reports}", NAME, "nosuch"),
    c(
        "benchmark",
        "bench-emulated --phone sd855-arm --offline --out {out} --reports {reports}",
        TOOL,
        "ARM_RUNTIME_DIR",
        **NO_ARM,
    ),  # fmt: skip
    c(
        "benchmark",
        "bench-emulated --phone sd855-arm --offline --out {out} --reports {reports}",
        TOOL,
        "qemu-aarch64",
        **NO_QEMU,
    ),  # fmt: skip
    c("benchmark", "bench-emulated --offline --out {out} --reports {reports}", ENV, "nosuch", PHONE="nosuch"),
    c(
        "benchmark",
        "bench-emulated --phone sd855-arm --offline --out {out} --reports {reports}",
        ENV,
        "{broken_costs}",
        COST_MODELS_DIR="{broken_costs}",
    ),  # fmt: skip
    c("benchmark", "bench-emulated --repeats 0 --offline --out {out} --reports {reports}", NUMBER, "--repeats"),
    c(
        "benchmark",
        "bench-emulated --models no_such_model --offline --out {out} --reports {reports}",
        NAME,
        "no_such_model",
    ),  # fmt: skip
    c("benchmark", "bench-emulated --runner {missing} --offline --out {out} --reports {reports}", TOOL, "--runner"),
    c(
        "benchmark",
        "bench-emulated --runtimes paddle-lite,ncnn --offline --out {out} --reports {reports}",
        WRONG,
        "sd855-arm",
    ),  # fmt: skip  (ncnn variants on the x86 emulated phone)
    c(
        "benchmark",
        "bench-emulated --phone sd855-arm --runtimes paddle-lite,ncnn --ncnn-runner {missing} --offline --out {out} "
        "--reports {reports}",
        TOOL,
        "--ncnn-runner",
    ),  # fmt: skip
    c(
        "benchmark",
        "bench-emulated --phone sd855-arm --runtimes paddle-lite,ncnn --ncnn-runner {txt} --offline --out {out} "
        "--reports {reports}",
        WRONG,
        "{txt}",
    ),  # fmt: skip
    c(
        "benchmark",
        "bench-emulated --phone sd855-arm --runtimes paddle-lite,ncnn --offline --out {out} --reports {reports}",
        TOOL,
        "{missing}",
        NCNN_RUNTIME_DIR="{missing}",
    ),  # fmt: skip
    c(
        "benchmark",
        "latency --adb {lab} --runner {script} --runtimes paddle-lite,ncnn --offline --out {out} --reports {reports}",
        TOOL,
        "--ncnn-runner",
    ),  # fmt: skip
    c("benchmark", "bench-emulated --offline --out {out} --reports {txt}", WRONG, "--reports"),
    c(
        "benchmark", "overhead --models no_such_model --offline --out {out} --reports {reports}", NAME, "no_such_model"
    ),  # fmt: skip
    c("benchmark", "overhead --rounds 0 --offline --out {out} --reports {reports}", NUMBER, "--rounds"),
    c("benchmark", "overhead --runner {txt} --offline --out {out} --reports {reports}", WRONG, "{txt}"),
    c("benchmark", f"sweep --model {PORTRAIT_V2} --offline --out {{out}} --reports {{reports}}", NUMBER, "--shapes"),
    c("benchmark", f"sweep --model {PORTRAIT_V2} --shapes 0x1 --offline --out {{out}}", NUMBER, "0x1"),
    c(
        "benchmark",
        f"sweep --model {PORTRAIT_V2} --shapes 64x64 --threads-list a --out {{out}}",
        NUMBER,
        "thread counts",
    ),  # fmt: skip
    c(
        "benchmark",
        f"sweep --model {PORTRAIT_V2} --shapes 64x64 --power-modes 9 --offline --out {{out}}",
        NUMBER,
        "--power-modes",
    ),  # fmt: skip
    c(
        "benchmark",
        f"sweep --model {PORTRAIT_V2} --shapes 64x64 --adb 127.0.0.1:1 --offline --out {{out}}",
        SERVER,
        "127.0.0.1:1",
    ),  # fmt: skip
    c(
        "benchmark",
        f"sweep --model {PORTRAIT_V2} --shapes 64x64 --adb {{lab}} --serial nosuch --offline --out {{out}}",
        NAME,
        "nosuch",
    ),  # fmt: skip
    c(
        "benchmark",
        "sweep --model no_such_model --shapes 64x64 --emulated --offline --out {out}",
        NAME,
        "no_such_model",
    ),  # fmt: skip
    c("benchmark", "profile-arm --phone sd855 --offline --out {out} --reports {reports}", NAME, "sd855"),
    c("benchmark", "profile-arm --phone nosuch --offline --out {out} --reports {reports}", NAME, "nosuch"),
    c("benchmark", "profile-arm --offline --out {out} --reports {reports}", TOOL, "ARM_RUNTIME_DIR", **NO_ARM),
    c("benchmark", "profile-arm --offline --out {out} --reports {reports}", TOOL, "qemu-aarch64", **NO_QEMU),
    c(
        "benchmark",
        "profile-arm --offline --out {out} --reports {reports}",
        ENV,
        "{broken_costs}",
        COST_MODELS_DIR="{broken_costs}",
    ),  # fmt: skip
    c(
        "benchmark",
        "profile-arm --models no_such_model --offline --out {out} --reports {reports}",
        NAME,
        "no_such_model",
    ),  # fmt: skip
    c("benchmark", "profile-arm --converted nosuch --out {out} --reports {reports}", NAME, "nosuch"),
    c("benchmark", "profile-arm --converted small --precision int8 --out {conv} --reports {reports}", NAME, "int8"),
    c("benchmark", "bench-emulated --images {missing} --offline --out {out} --reports {reports}", MISSING, "--images"),
    c("benchmark", "overhead --offline --out {out} --reports {reports}", ENV, "RUNNER", RUNNER="{missing}"),
    c("benchmark", "overhead --runner {missing} --offline --out {out} --reports {reports}", TOOL, "--runner"),
    c(
        "benchmark",
        f"sweep --model {PORTRAIT_V2} --shapes 64x64 --emulated --runner {{missing}} --out {{out}}",
        MISSING,
        "--runner",
    ),  # fmt: skip
    c(
        "benchmark",
        f"sweep --model {PORTRAIT_V2} --shapes 64x64 --emulated --runner {{txt}} --out {{out}}",
        WRONG,
        "{txt}",
    ),  # fmt: skip
    c(
        "benchmark",
        f"sweep --model {PORTRAIT_V2} --shapes 64x64 --offline --out {{out}}",
        ENV,
        "ANDROID_ADB_SERVER_PORT",
        ANDROID_ADB_SERVER_PORT="0",
    ),  # fmt: skip
    c("benchmark", "profile-arm --runner {missing} --offline --out {out} --reports {reports}", MISSING, "--runner"),
    c("benchmark", "profile-arm --offline --out {out} --reports {txt}", WRONG, "--reports"),
]

HOST = [
    c("benchmark", "parity --models no_such_model --offline --out {out} --reports {reports}", NAME, "no_such_model"),
    c("benchmark", "parity --images {missing} --offline --out {out} --reports {reports}", MISSING, "--images"),
    c("benchmark", "parity --images {txt} --offline --out {out} --reports {reports}", WRONG, "{txt}"),
    c("benchmark", "parity --images {empty} --offline --out {out} --reports {reports}", WRONG, "{empty}"),
    c("benchmark", "parity --offline --out {out} --reports {reports}", ENV, "IMAGES", IMAGES="{missing}"),
    c(
        "benchmark",
        "parity --device --adb 127.0.0.1:1 --offline --out {out} --reports {reports}",
        SERVER,
        "127.0.0.1:1",
    ),  # fmt: skip
    c("benchmark", "parity --device --adb {not_adb} --offline --out {out} --reports {reports}", SERVER, "{not_adb}"),
    c(
        "benchmark",
        "parity --device --offline --out {out} --reports {reports}",
        ENV,
        "ANDROID_ADB_SERVER_PORT",
        ANDROID_ADB_SERVER_PORT="99999",
    ),  # fmt: skip
    c(
        "benchmark",
        "parity --device --adb {lab} --serial nosuch --offline --out {out} --reports {reports}",
        NAME,
        "nosuch",
    ),  # fmt: skip
    c(
        "benchmark",
        "parity --device --adb {lab} --runner {missing} --offline --out {out} --reports {reports}",
        TOOL,
        "--runner",
    ),  # fmt: skip
    c("benchmark", "parity --converted nosuch --out {out} --reports {reports}", NAME, "nosuch"),
    c("benchmark", "parity --dataset {empty} --offline --out {out} --reports {reports}", WRONG, "--dataset"),
    c("benchmark", "host-run {missing}", MISSING, "{missing}"),
    c("benchmark", "host-run {empty}", WRONG, "{empty}"),
    c("benchmark", "host-run {garbage_nb}", CORRUPT, "{garbage_nb}"),
    c("benchmark", "host-run {arm_nb}", WRONG, "arm"),
    c("benchmark", "host-run {x86_nb} --input-shape 1,3,x", NUMBER, "1,3,x"),
    c("benchmark", "host-run {x86_nb} --images {missing}", MISSING, "--images"),
    c("benchmark", "host-perf {missing} --reports {reports}", MISSING, "{missing}"),
    c("benchmark", "host-profile {arm_nb} --reports {reports}", WRONG, "arm"),
    c("benchmark", "host-perf {x86_nb} --runs 0 --reports {reports}", NUMBER, "--runs"),
    c("benchmark", "host-perf {x86_nb} --reports {reports}", TOOL, "perf", PATH="{empty}"),
    c("benchmark", "report --reports {missing}", MISSING, "--reports"),
    c("benchmark", "report --reports {txt}", WRONG, "--reports"),
    c("benchmark", "report --reports {empty}", ENV, "ftp", HISTORY="ftp://host/x"),
    c("benchmark", "int8-study --offline --out {out} --reports {reports}", MISSING, "--dataset"),
    c("benchmark", "int8-study --dataset {missing} --offline --out {out} --reports {reports}", MISSING, "--dataset"),
    c("benchmark", "int8-study --dataset {empty} --offline --out {out} --reports {reports}", WRONG, "{empty}"),
    c(
        "benchmark",
        "int8-study --dataset {data} --models no_such_model --offline --out {out} --reports {reports}",
        NAME,
        "no_such_model",
    ),  # fmt: skip
    c(
        "benchmark",
        "int8-study --dataset {data} --groups -1 --offline --out {out} --reports {reports}",
        NUMBER,
        "--groups",
    ),  # fmt: skip
    c("benchmark", "int8-study --dataset {data} --algos bogus --offline --out {out}", NAME, "bogus"),
    c(
        "benchmark",
        "int8-study --dataset {data} --offline --out {out} --reports {reports}",
        ENV,
        "CALIB",
        CALIB="{missing}",
    ),  # fmt: skip
]

FARM = [
    c("benchmark", "farm --farm {missing} --offline --out {out} --reports {reports}", MISSING, "{missing}"),
    c("benchmark", "farm --farm {txt} --offline --out {out} --reports {reports}", WRONG, "{txt}"),
    c("benchmark", "farm --offline --out {out} --reports {reports}", ENV, "ftp", HISTORY="ftp://host/x"),
    c(
        "benchmark",
        "farm --offline --out {out} --reports {reports}",
        ENV,
        "postgresql",
        code=2,
        HISTORY=f"postgresql://farm:{SECRET}@127.0.0.1:1/farm",
    ),  # fmt: skip
    c("benchmark", "farm --models no_such_model --offline --out {out} --reports {reports}", NAME, "no_such_model"),
    c("benchmark", "farm --run-name Bad! --offline --out {out} --reports {reports}", NAME, "--run-name"),
    c("benchmark", "farm --runner {txt} --offline --out {out} --reports {reports}", WRONG, "{txt}"),
    c("benchmark", "farm --farm {dead_farm} --offline --out {out} --reports {reports}", SERVER, "127.0.0.1:1"),
    c("benchmark", "gate --baseline previous --reports {reports}", ENV, "ftp", HISTORY="ftp://host/x"),
    c("benchmark", "farm-scaling --devices 1 --offline --out {out} --reports {reports}", NUMBER, "--devices"),
    c("benchmark", "farm-scaling --latency-ms 0 --offline --out {out} --reports {reports}", NUMBER, "--latency-ms"),
    c(
        "benchmark",
        "farm-scaling --models no_such_model --offline --out {out} --reports {reports}",
        NAME,
        "no_such_model",
    ),  # fmt: skip
    c(
        "benchmark",
        "gate --baseline previous --threshold-percent -1 --reports {reports}",
        NUMBER,
        "--threshold-percent",
    ),  # fmt: skip
    c(
        "benchmark", "gate --baseline previous --threshold-percent 0 --reports {reports}", NUMBER, "--threshold-percent"
    ),  # fmt: skip
    c("benchmark", "gate --baseline previous --cv-factor -1 --reports {reports}", NUMBER, "--cv-factor"),
    c("benchmark", "gate --baseline previous --history {missing} --reports {reports}", MISSING, "{missing}"),
    c("benchmark", "gate --baseline previous --history {txt} --reports {reports}", WRONG, "{txt}"),
    c(
        "benchmark",
        "gate --baseline previous --reports {reports}",
        SERVER,
        "127.0.0.1:1",
        HISTORY=f"postgresql://farm:{SECRET}@127.0.0.1:1/farm",
    ),  # fmt: skip
    c("benchmark", "gate --baseline previous --run nosuch --history {history} --reports {reports}", NAME, "nosuch"),
    c("benchmark", "gate --baseline previous --history {history} --reports {reports}", NAME, "no finished farm run"),
    c("benchmark", "gate --baseline {missing}.json --history {history} --reports {reports}", MISSING, "{missing}"),
    c("benchmark", "gate --baseline previous --farm {txt} --reports {reports}", WRONG, "{txt}"),
    c("benchmark", "history runs --history {missing}", MISSING, "{missing}"),
    c("benchmark", "history runs", ENV, "ftp", HISTORY="ftp://host/x"),
    c("benchmark", "history export --history {history}", MISSING, "-o"),
    c("benchmark", "history import {missing} --history {out}/h.sqlite", MISSING, "{missing}"),
    c("benchmark", "history bogus", NAME, "bogus"),
]

ARM = [
    c("benchmark", "graph-fixes --rounds 0 --offline --out {out} --reports {reports}", NUMBER, "--rounds"),
    c("benchmark", "graph-fixes --paddle26 nosuch --offline --out {out} --reports {reports}", NAME, "nosuch"),
    c("benchmark", "graph-fixes --adb 127.0.0.1:1 --offline --out {out} --reports {reports}", SERVER, "127.0.0.1:1"),
    c(
        "benchmark", "graph-fixes --adb {lab} --serial nosuch --offline --out {out} --reports {reports}", NAME, "nosuch"
    ),  # fmt: skip
    c("benchmark", "graph-fixes --offline --out {out} --reports {reports}", TOOL, "ARM_RUNTIME_DIR", **NO_ARM),
    c(
        "benchmark",
        "graph-fixes --models no_such_model --offline --out {out} --reports {reports}",
        NAME,
        "no_such_model",
    ),  # fmt: skip
    c("benchmark", "video-check --offline --out {out} --reports {reports}", MISSING, "--dataset"),
    c("benchmark", "video-check --video {missing} --offline --out {out} --reports {reports}", MISSING, "{missing}"),
    c("benchmark", "video-check --video {txt} --offline --out {out} --reports {reports}", WRONG, "{txt}"),
    c("benchmark", "video-check --video {txt} --frames 1 --offline --out {out}", NUMBER, "--frames"),
    c("benchmark", "video-check --dataset {missing} --offline --out {out} --reports {reports}", MISSING, "--dataset"),
    c(
        "benchmark",
        "video-check --dataset {data} --phone sd855 --offline --out {out} --reports {reports}",
        NAME,
        "sd855",
    ),  # fmt: skip
    c(
        "benchmark",
        "video-check --dataset {data} --offline --out {out} --reports {reports}",
        TOOL,
        "ARM_RUNTIME_DIR",
        **NO_ARM,
    ),  # fmt: skip
    c(
        "benchmark",
        "video-check --dataset {data} --models no_such_model --offline --out {out} --reports {reports}",
        NAME,
        "no_such_model",
    ),  # fmt: skip
    c("benchmark", "layer-diff --model nosuch --out {out} --reports {reports}", NAME, "nosuch"),
    c("benchmark", "layer-diff --model small --precision fp32 --out {conv}", NAME, "fp32"),
    c("benchmark", "layer-diff --model small --out {conv} --reports {reports}", TOOL, "ARM_RUNTIME_DIR", **NO_ARM),
    c("benchmark", "layer-diff --model small --out {conv} --reports {reports}", TOOL, "qemu-aarch64", **NO_QEMU),
    c("benchmark", "layer-diff --model small --image {missing} --out {conv} --reports {reports}", MISSING, "--image"),
    c("benchmark", "layer-diff --model small --image {txt} --out {conv} --reports {reports}", WRONG, "{txt}"),
    c("benchmark", "layer-diff --model small --tolerance 0 --out {conv} --reports {reports}", NUMBER, "--tolerance"),
    c("benchmark", "layer-diff --model small --precision int8 --out {conv} --reports {reports}", MISSING, "int8"),
    c("benchmark", "runtimes --phone sd855 --offline --out {out} --reports {reports}", NAME, "sd855"),
    c(
        "benchmark",
        "runtimes --offline --out {out} --reports {reports}",
        TOOL,
        "ncnn_run",
        NCNN_RUNTIME_DIR="{missing}",
    ),
    c("benchmark", "runtimes --offline --out {out} --reports {reports}", TOOL, "qemu-aarch64", **NO_QEMU),
    c("benchmark", "runtimes --precision int8 --offline --out {out} --reports {reports}", NAME, "int8"),
    c("benchmark", "runtimes --models no_such_model --offline --out {out} --reports {reports}", NAME, "no_such_model"),
    c("benchmark", "runtimes --images {missing} --offline --out {out} --reports {reports}", MISSING, "--images"),
    c("benchmark", "runtimes --max-images 0 --offline --out {out} --reports {reports}", NUMBER, "--max-images"),
    c("benchmark", "runtimes --converted nosuch --out {out} --reports {reports}", NAME, "nosuch"),
    c("benchmark", "calibrate --device-class NOSUCHSOC --reports {reports}", NAME, "NOSUCHSOC"),
    c("benchmark", "calibrate --reports {reports}", ENV, "{broken_costs}", COST_MODELS_DIR="{broken_costs}"),
    c("benchmark", "calibrate --reports {reports}", ENV, "COST_MODELS_DIR", COST_MODELS_DIR="{txt}"),
    c("benchmark", "calibrate --reports {reports} --write-to {txt}", WRONG, "--write-to"),
]

INSTALL = [
    c("android_demo.install", "--apk {missing}", MISSING, "{missing}"),
    c("android_demo.install", "--apk {empty}", WRONG, "{empty}"),
    c("android_demo.install", "--apk {txt}", WRONG, "not a demo APK"),
    c("android_demo.install", "--apk {apk} --adb 127.0.0.1:1", SERVER, "127.0.0.1:1"),
    c("android_demo.install", "--apk {apk} --adb {not_adb}", SERVER, "{not_adb}"),
    c("android_demo.install", "--apk {apk}", ENV, "ANDROID_ADB_SERVER_PORT", ANDROID_ADB_SERVER_PORT="abc"),
    c("android_demo.install", "--apk {apk} --adb {lab} --serial nosuch", NAME, "nosuch"),
]

CASES = CONVERTER + LATENCY_PATH + HOST + FARM + ARM + INSTALL


def _listen_and_close() -> tuple[str, Callable[[], None]]:
    """A loopback TCP server that accepts and closes at once: a port that answers, but not as adb."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.close()
            except OSError:
                continue

    threading.Thread(target=serve, daemon=True).start()
    host, port = srv.getsockname()

    def close() -> None:
        stop.set()
        srv.close()

    return f"{host}:{port}", close


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, tiny_models, lab, data_dir: Path) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """Bad inputs of every class, and the good ones the later checks need (a converted tiny model: x86 and arm)."""
    from benchmark.farm.history import History

    root = tmp_path_factory.mktemp("contract")
    (root / "notes.txt").write_text("not a model, an image, a video, a zoo or a runner\n")
    (root / "runner.sh").write_text("#!/bin/sh\nexit 0\n")  # a runner that passes the file check
    (root / "empty").mkdir()
    corrupt = root / "corrupt"
    corrupt.mkdir()
    (corrupt / "model.pdmodel").write_bytes(os.urandom(512))
    (corrupt / "model.pdiparams").write_bytes(os.urandom(512))
    pir = root / "pir"
    pir.mkdir()
    (pir / "inference.json").write_text("{not json")
    (pir / "inference.pdiparams").write_bytes(os.urandom(64))
    (root / "garbage.nb").write_bytes(os.urandom(4096))
    costs = root / "costs"
    costs.mkdir()
    (costs / "SM8150.yaml").write_text("device_class: [unclosed\n")
    (costs / "SDM625.yaml").write_text("device_class: [unclosed\n")
    (root / "dead-farm.yaml").write_text(f"servers: [127.0.0.1:1]\nhistory: {root / 'farm.sqlite'}\n")
    with History(root / "history.sqlite"):
        pass
    small = tiny_models("small")

    def convert(out: Path) -> None:
        args = ["model", str(small), "--name", "small", "--precision", "fp32,fp16", "--out", str(out)]
        assert convert_cli.main(args) == 0

    conv = built_once(tmp_path_factory, "contract-small", convert)
    apk = root / "demo.apk"  # no app, but the spec a demo APK carries: enough for the checks before the device
    with zipfile.ZipFile(apk, "w") as z:
        z.write(conv / "small" / "model_spec.json", "assets/model_spec.json")
    not_adb, close = _listen_and_close()
    yield {
        "root": str(root),
        "txt": str(root / "notes.txt"),
        "script": str(root / "runner.sh"),
        "empty": str(root / "empty"),
        "missing": str(root / "no-such-path"),
        "corrupt": str(corrupt),
        "pir": str(pir),
        "garbage_nb": str(root / "garbage.nb"),
        "broken_costs": str(costs),
        "history": str(root / "history.sqlite"),
        "dead_farm": str(root / "dead-farm.yaml"),
        "small": str(small),
        "apk": str(apk),
        "conv": str(conv),
        "x86_nb": str(conv / "small" / "x86-fp32.nb"),
        "arm_nb": str(conv / "small" / "arm-fp32.nb"),
        "data": str(data_dir / "mini_supervisely_subset"),
        "not_adb": not_adb,
        "lab": str(lab.server),
    }
    close()


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format(**values) if "{" in text else text


TIMINGS: list[dict[str, object]] = []


@pytest.mark.parametrize("case", CASES, ids=lambda k: f"{k.command}|{k.kind}|{' '.join(k.argv[1:])[:60]}")
def test_bad_input_is_refused_before_any_work(
    case: Case,
    inputs: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    values = {**inputs, "out": str(tmp_path / "out"), "reports": str(tmp_path / "reports")}
    argv = [_fill(a, values) for a in case.argv]
    for k, v in case.env.items():
        monkeypatch.setenv(k, _fill(v, values))
    start = time.monotonic()
    try:
        rc = MAINS[case.cli](argv)
    except SystemExit as e:  # argparse's own refusal (usage + `error:`), exit 2
        rc = int(e.code or 0)
    seconds = time.monotonic() - start
    out, err = capsys.readouterr()
    TIMINGS.append({"command": case.command, "class": case.kind, "argv": argv, "code": rc, "seconds": seconds})
    errors = [line for line in err.splitlines() if "error: " in line]
    assert rc == case.code, f"{argv}: exit {rc}\n{err}"
    assert len(errors) == 1, f"{argv}: want one error line, got:\n{err}"
    assert _fill(case.names, values) in errors[0], f"{argv}: the error line does not name the input:\n{errors[0]}"
    assert "Traceback" not in err + out and SECRET not in err + out
    for folder in ("out", "reports"):
        made = [p for p in (tmp_path / folder).rglob("*") if p.is_file()] if (tmp_path / folder).exists() else []
        assert not made, f"{argv}: wrote {made} before refusing"


def test_every_subcommand_is_in_the_table() -> None:
    """A new command gets its rows here: every subcommand of both CLIs has at least one bad-input case."""
    import argparse

    covered = {k.command for k in CASES}
    for cli, parser in (("converter", convert_cli._parser()), ("benchmark", bench_cli._parser())):
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        names = {n for n, p in sub.choices.items() if n == p.prog.split()[-1]}  # not the aliases
        missing = sorted(f"{cli} {n}" for n in names if f"{cli} {n}" not in covered)
        assert not missing, f"no bad-input case for {missing}"
    assert "android_demo.install" in covered


def teardown_module() -> None:
    path = os.environ.get("CONTRACT_TABLE")
    if path and TIMINGS:
        Path(path).write_text(json.dumps(TIMINGS, indent=1))


def test_the_readme_and_every_help_state_the_same_exit_codes() -> None:
    import argparse

    from converter.cli.contract import EXIT_CODES_HELP

    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    assert EXIT_CODES_HELP in readme
    assert install.parser().epilog == EXIT_CODES_HELP
    for parser in (convert_cli._parser(), bench_cli._parser()):
        assert parser.epilog == EXIT_CODES_HELP
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for name, command in sub.choices.items():
            assert command.epilog == EXIT_CODES_HELP, name
            assert "exit codes: 0" in command.format_help(), name


@pytest.mark.parametrize(
    "argv",
    [
        ["benchmark", "latency", "--offline"],
        ["android_demo.install", "--apk", "README.md"],
    ],
)
def test_a_bad_port_variable_is_one_line_in_a_fresh_process(argv: list[str], tmp_path: Path) -> None:
    """adbutils reads $ANDROID_ADB_SERVER_PORT when it is imported: only a fresh process shows what a user sees."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "ANDROID_ADB_SERVER_PORT": "abc"}
    r = subprocess.run(
        [sys.executable, "-m", *argv], cwd=repo, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert r.returncode == 2, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in r.stderr and len(errors) == 1, r.stderr
    if argv[0] == "benchmark":
        assert "ANDROID_ADB_SERVER_PORT" in errors[0]
