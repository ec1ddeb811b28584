"""The shape of the code that `make lint` keeps: records, run files and manifests are read as their types (never
by string key), JSON is parsed only at the seams that read outside formats, every converter module lives in a room
of the converter's layers contract, and each exception class name means one class."""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

from pydantic import BaseModel

from benchmark.records import cost_types, parts, rows, runs, types
from converter.artifacts import app_spec
from converter.schema import manifest_types
from tests.conftest import REPO

SOURCE = ("converter", "benchmark", "android_demo")
# Fields that are untyped on purpose: a snapshot of the measurement settings as the user gave them (their meaning
# is the command line's), and a Paddle attribute value (any of Paddle's attribute types).
UNTYPED_FIELDS = {("LatencyRun", "settings"), ("FilledAttribute", "value")}
# The modules that parse JSON, and what they parse: each an outside format, a worker's protocol, or the one reader
# of a file the toolkit writes (which then validates it into its type).
JSON_SEAMS = {
    "benchmark/records/run_files.py": "run files, validated into benchmark.records.runs",
    "converter/artifacts/manifest.py": "manifest.json, validated into converter.schema.manifest_types",
    "converter/pir/json_format.py": "Paddle 3 PIR programs (an outside format)",
    "converter/reference/paddle3_worker.py": "the Paddle 3 worker's requests",
    "converter/base/process.py": "line workers' answers",
    "benchmark/host/lite.py": "the Paddle-Lite x86 worker's answer",
    "benchmark/host/perf.py": "the profiled worker's timings line",
    "benchmark/farm/history.py": "records stored in the history database, validated into LatencyRecord",
    "benchmark/farm/history_transfer.py": "history export files (runs and records), records validated",
    "benchmark/emulated/runner.py": "the emulated phone's own description file, validated",
    "converter/quant/quantize.py": "the quantization worker's report",
    "converter/standins/build.py": "a stand-in's STANDIN.json mark",
    "converter/standins/store.py": "a stand-in's STANDIN.json mark",
}
RUN_KINDS = "|".join(runs.RUN_TYPES)


def _sources() -> list[Path]:
    return sorted(p for root in SOURCE for p in (REPO / root).rglob("*.py"))


def _typed_models() -> list[type[BaseModel]]:
    found = []
    for mod in (types, cost_types, parts, rows, runs, manifest_types, app_spec):
        for value in vars(mod).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == mod.__name__:
                found.append(value)
    return found


def _has_any(annotation: object) -> bool:
    return annotation is typing.Any or any(_has_any(a) for a in typing.get_args(annotation))


def test_records_run_files_and_manifests_have_no_untyped_part() -> None:
    untyped = {
        (cls.__name__, name)
        for cls in _typed_models()
        for name, field in cls.model_fields.items()
        if _has_any(field.annotation)
    }
    assert untyped == UNTYPED_FIELDS, (
        f"untyped fields (a dict[str, Any] is read by string key): {untyped - UNTYPED_FIELDS}"
    )


def test_json_is_parsed_only_at_its_seams() -> None:
    parsing = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("load", "loads")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "json"
            ):
                parsing.add(str(path.relative_to(REPO)))
    assert parsing <= set(JSON_SEAMS), (
        f"JSON parsed outside its seams (read it as its type): {parsing - set(JSON_SEAMS)}"
    )


def _dumped(node: ast.AST) -> bool:
    """A call of .to_json() / .model_dump(): a record turned back into a dict."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("to_json", "model_dump")
    )


def test_no_record_is_read_back_by_string_key() -> None:
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            read = isinstance(node, ast.Subscript) and _dumped(node.value)
            got = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "pop", "setdefault")
                and _dumped(node.func.value)
            )
            if read or got:
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, f"records read back as dicts: {offenders}"


def test_tests_read_run_files_through_the_record_api() -> None:
    pattern = re.compile(
        rf'\["records"\]|json\.loads\([^\n]*(?:{RUN_KINDS})-\*\.json|manifest\.json"\)\.read_text\(\)\)'
    )
    offenders = [
        f"{p.name}:{n}"
        for p in sorted((REPO / "tests").glob("*.py"))
        if p.name != "test_code_shape.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line) and "by hand" not in line
    ]
    assert not offenders, f"run files or manifests read as JSON dicts (use tests/runs.py): {offenders}"


def test_every_converter_module_is_in_a_room_of_the_layers_contract() -> None:
    text = (REPO / "pyproject.toml").read_text()
    block = text.split("name = \"converter's rooms", 1)[1].split("]", 1)[0]
    rooms = {
        name.strip() for layer in re.findall(r'"([^"]+)"', block.split("layers = [", 1)[1]) for name in layer.split("|")
    }
    loose = [p.name for p in (REPO / "converter").glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not loose, f"converter modules outside a room: {loose}"
    packages = {f"converter.{p.parent.name}" for p in (REPO / "converter").glob("*/__init__.py")}
    assert packages == rooms, f"rooms without a layer: {packages - rooms}; layers without a room: {rooms - packages}"


def test_one_exception_class_per_name() -> None:
    seen: dict[str, list[str]] = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                (isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception")) or b.id in ("ToolkitError",)))
                or (isinstance(b, ast.Attribute) and b.attr.endswith("Error"))
                for b in node.bases
            ):
                seen.setdefault(node.name, []).append(str(path.relative_to(REPO)))
    twice = {name: where for name, where in seen.items() if len(where) > 1}
    assert not twice, f"exception classes defined twice: {twice}"
