"""``raydt schema output``: the JSON Schema of a result, generated from the model (``results.model``).

Pydantic's schema is made readable: every ``$ref`` is written out where it is used (the result is a tree,
so ``raydt schema output`` reads top-down and ``properties.results.properties`` lists the results' keys),
and pydantic's generated ``title``s and ``default``s (a default is never printed: an absent key stays
absent) are dropped. What stays: types, enums, required keys, ``additionalProperties`` and every key's
description.
"""

from __future__ import annotations

from typing import Any

from raydt.results.model import Result

_DROPPED = ("title", "default")


def output_schema() -> dict[str, Any]:
    """The JSON Schema of every document raydt prints; it contains the seed's output schema."""
    generated = Result.model_json_schema(by_alias=True, mode="validation")
    defs = generated.pop("$defs", {})
    body = _inline(generated, defs)
    body.pop("description", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "raydt result",
        "description": "The ray-distributed-trainer skill's output (status, results, checkpointPath, "
        "clusterStatus, trainingTime, exactly as the seed defines them) plus raydt's camelCase extensions. "
        "A key without a value is left out; only keys whose type lists null are ever null.",
        **body,
    }


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with each ``$ref`` replaced by its definition (the node's own keywords win, e.g. a field's
    description over its class docstring), and without pydantic's titles and defaults."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "properties":  # a mapping of key -> schema: the names themselves are kept as they are
            out[key] = {name: _inline(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _inline(value, defs)
    return out
