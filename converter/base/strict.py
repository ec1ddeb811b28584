"""The base of every typed file and record of the toolkit (zoo, manifest, app spec, farm, device profiles, op
table, run records): an unknown key fails when the file is read, and a record is read by attribute, never as a
mapping (`"key" in record` is an error instead of a silent False)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def __contains__(self, key: Any) -> bool:
        raise TypeError(
            f"{type(self).__name__} is a typed record: test its attribute (record.{key} is None), not {key!r} in it"
        )


class Frozen(Strict):
    """A Strict type whose instances never change once read (configuration)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
