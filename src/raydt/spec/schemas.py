"""JSON Schemas for ``raydt schema``: the seed's contract plus raydt's documented extensions (the input's
from the spec model, the output's from the result model)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from raydt.registry import FRAMEWORKS
from raydt.results.schema import output_schema as _generated_output_schema
from raydt.space import DOMAINS, DomainType
from raydt.spec.model import Spec


@cache
def seed(kind: str) -> dict[str, Any]:
    """The seed's own input or output schema, verbatim."""
    text = resources.files("raydt.spec").joinpath(f"seed_{kind}_schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def input_schema() -> dict[str, Any]:
    """The input schema: the model's JSON Schema (a superset of the seed's), with registry names."""
    schema = Spec.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "raydt spec"
    schema["description"] = (
        "A raydt spec (the ray-distributed-trainer skill's input). The seed's usage-example wrapper "
        '{"kind": "skill", "skill": {"name": "ray-distributed-trainer", "context": SPEC}} is accepted too. '
        f"Frameworks available in this version: {', '.join(FRAMEWORKS)}."
    )
    schema["$defs"]["SearchSpace"] = search_space_schema()
    search = schema["$defs"]["TuneConfig"]["properties"]["searchSpace"]
    search.pop("additionalProperties", None)
    search.pop("type", None)
    search["$ref"] = "#/$defs/SearchSpace"
    return schema


def search_space_schema() -> dict[str, Any]:
    """``tuneConfig.searchSpace``: every value a domain of ``raydt.space.DOMAINS``, a group (the same, nested) or
    a constant. Validation says more (min < max, ...): this describes the vocabulary."""
    tagged = {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}
    group = {"$ref": "#/$defs/SearchSpace", "not": tagged, "description": "A group of nested hyperparameters."}
    constant = {"not": {"type": "object"}, "description": "A constant, passed to every trial as it is."}
    domains = [_domain_schema(name, info) for name, info in DOMAINS.items()]
    return {"type": "object", "additionalProperties": {"anyOf": [*domains, group, constant]}}


def _domain_schema(name: str, info: DomainType) -> dict[str, Any]:
    number = {"type": "integer" if info.kind == "int" else "number"}
    keys: dict[str, dict[str, Any]] = {"min": number, "max": number, "q": number}
    keys.update(mean={"type": "number"}, sd={"type": "number"}, values={"type": "array", "minItems": 1})
    return {
        "type": "object",
        "title": name,
        "description": f"{name}: {info.samples}.",
        "properties": {"type": {"const": name}, **{key: keys[key] for key in info.keys}},
        "required": ["type", *info.keys],
        "additionalProperties": False,
    }


def output_schema() -> dict[str, Any]:
    """The output schema: generated from the result model (``raydt.results``), which keeps the seed's keys."""
    return _generated_output_schema()
