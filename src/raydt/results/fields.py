"""How a result key is declared: the base class every part of a result shares, ``Number`` and ``opt``.

- ``ResultModel``: camelCase keys (snake_case fields, aliases only), strict JSON types, unknown keys refused.
- ``Number``: a JSON number kept as given (an int stays an int).
- ``ErrorCode``: one of raydt's error codes (``raydt.errors.ERROR_CODES``, a class each), listed as the schema's enum.
- ``opt(description)``: a key that is a value or absent, never ``null`` (its schema lists no null); a field
  declared ``X | None = Field(None, description=...)`` instead may be ``null``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from raydt.errors import ERROR_CODES


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number_type", "Input should be a number")
    return value


#: a JSON number, kept as given: an int stays an int (pydantic's ``float`` would turn 1 into 1.0)
Number = Annotated[float | int, PlainValidator(_number), WithJsonSchema({"type": "number"})]


def _error_code(value: str) -> str:
    if value not in ERROR_CODES:
        raise PydanticCustomError(
            "error_code", "{code} is none of raydt's error codes (errors.ERROR_CODES)", {"code": value}
        )
    return value


#: ``error.code``: a code of raydt's, each the ``code`` of a class in ``raydt.errors``
ErrorCode = Annotated[str, AfterValidator(_error_code), WithJsonSchema({"type": "string", "enum": list(ERROR_CODES)})]


def _never_null(schema: JsonDict) -> None:
    """The JSON Schema of an ``opt`` field: pydantic's ``null`` branch dropped (the key is left out instead)."""
    options = schema.pop("anyOf", None)
    if not isinstance(options, list):
        return
    kept = [o for o in options if o != {"type": "null"}]
    if len(kept) == 1 and isinstance(kept[0], dict):
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept


def opt(description: str) -> Any:
    """An optional key: a value, or no key at all (never ``null``)."""
    return Field(None, description=description, json_schema_extra=_never_null)


class ResultModel(BaseModel):
    """Base of every part of a result: camelCase keys, strict JSON types, unknown keys and stray nulls refused."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        strict=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_documented(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if value is None and field is not None and field.json_schema_extra is _never_null:
            raise PydanticCustomError("null", "null is not allowed: leave the key out, or give a value")
        return value

    def dump(self) -> dict[str, Any]:
        """The JSON-ready dict: camelCase keys, only the keys that were given (never a null nobody set)."""
        return self.model_dump(mode="python", by_alias=True, exclude_unset=True)
