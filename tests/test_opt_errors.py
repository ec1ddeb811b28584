"""opt's failures classified from its log, not its exit alone: each kind gets its own message with the op, the
attribute or the data type named and the fix. The log lines are opt 2.13's own (measured: a Paddle 2.6 relu6
without `threshold`, a params file cut short, a program cut short)."""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.base.process import ProcessResult
from converter.opt.run import classify_failure
from converter.sources.model_files import ModelFiles

FILES = ModelFiles(Path("/m"), Path("/m/model.pdmodel"), Path("/m/model.pdiparams"), "pdmodel")
LOADED = "Loading topology data from /m/model.pdmodel\n1. Model is successfully loaded!\n"


def _result(stderr: str, returncode: int = -6) -> ProcessResult:
    return ProcessResult(("opt",), returncode, LOADED, stderr, 1.0, False)


@pytest.mark.parametrize(
    ("log", "kind", "says"),
    [
        (
            "[F 12/ 4 14:23:39.645 ...general/op_desc.h:118 GetAttr] Check failed: it != attrs().end(): "
            "No attributes called threshold found for relu6",
            "missing_attribute",
            "its relu6 op has no attribute 'threshold'",
        ),
        (
            "[F 12/ 4 14:26:22.287 .../core/model/base/io.cc:54 Read] Check failed: (fread(dst, 1, size, file_) == "
            "size): 0!==98304 Failed to read 98304 bytes.",
            "bad_model_files",
            "truncated or corrupt",
        ),
        (
            "[libprotobuf ERROR ...message_lite.cc:119] Can't parse message of type \"paddle.framework.proto."
            'ProgramDesc" because it is missing required fields: blocks[0].vars[133].name\n'
            "[F 12/ 4 14:26:22.359 ...pb/var_desc.cc:41 GetType] Unknown var type",
            "bad_model_files",
            "truncated or corrupt",
        ),
        (
            "[F 12/ 4 14:30:00.000 ...naive_buffer/param_desc.cc:98 GetDataType] Unknown var data type",
            "unsupported_dtype",
            "does not handle one of its data types (Unknown var data type)",
        ),
        (
            "[F 12/ 4 14:30:00.000 ...some_pass.cc:12 Apply] Check failed: node->IsStmt()",
            "opt_crash",
            "was killed by SIGABRT: Check failed: node->IsStmt()",
        ),
    ],
)
def test_each_failure_gets_its_own_message(log: str, kind: str, says: str) -> None:
    err = classify_failure("m", FILES, _result(log), "conversion to arm/fp32", 900)
    assert err.kind == kind and says in str(err)
    if kind == "missing_attribute":
        assert err.missing_attribute == ("relu6", "threshold") and "Re-export" in err.detail


def test_unsupported_ops_are_still_listed() -> None:
    log = "Error: This model is not supported, because 1 ops are not supported on 'arm'. "
    log += "These unsupported ops are: 'cumprod'."
    err = classify_failure("m", FILES, _result(log, 1), "op preflight", 300)
    assert err.kind == "unsupported_ops" and err.unsupported_ops == ["cumprod"]
