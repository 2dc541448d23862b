"""The base of every spec section: camelCase keys, strict JSON types, unknown keys rejected. Never imports Ray."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

MAX_WORKERS = 10_000
MAX_RESOURCE = 1_000_000.0


class StrictModel(BaseModel):
    """Base for every spec section: camelCase keys, strict JSON types, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=False,
        strict=True,
        frozen=True,
        allow_inf_nan=False,
    )

    #: The rule an unknown key of this section is reported with (``spec.pydantic_issues``).
    UNKNOWN_KEY: ClassVar[str] = "unknown key"
