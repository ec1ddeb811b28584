"""The base of every typed record and record part (benchmark.records.types, benchmark.records.cost_types)."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import ConfigDict, PrivateAttr

from converter.base.strict import Strict

R = TypeVar("R", bound="Record")


class Sub(Strict):
    """A typed record or part of one: an unknown key or a wrong type fails at once, when it is set
    (validate_assignment), not when the run file is written."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def set(self, **fields: Any) -> None:
        """Set several fields, each validated as it is set."""
        for key, value in fields.items():
            setattr(self, key, value)


class Record(Sub):
    """One record of a run file, as its producer builds it and its readers read it."""

    LEGACY_KEYS: ClassVar[dict[str, str]] = {}  # old key -> current key, for files before schema version 2
    _run_file: str | None = PrivateAttr(default=None)  # the run file it was read from (readers only)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)  # the keys the producer set, None included

    @classmethod
    def from_json(cls: type[R], data: dict[str, Any], run_file: str | None = None) -> R:
        rec = cls.model_validate({cls.LEGACY_KEYS.get(k, k): v for k, v in data.items()})
        rec._run_file = run_file
        return rec

    @property
    def run_file(self) -> str | None:
        return self._run_file
