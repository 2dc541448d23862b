"""The published schemas keep the seed's contract exactly and document every extension."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from raydt.registry import FRAMEWORKS, SEED_FRAMEWORKS
from raydt.spec import schemas

SHARED_SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_1823aecdbd8fe97f.txt"
EXTENSIONS = [name for name in FRAMEWORKS if name not in SEED_FRAMEWORKS]
ADDED_VALUES = {".mode": {"serve", "predict"}, ".trainConfig.framework": set(EXTENSIONS)}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return _resolve(schema, schema["$defs"][node["$ref"].split("/")[-1]])
    for option in node.get("anyOf", []):
        if option.get("type") != "null":
            return _resolve(schema, option)
    return node


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    return {kind} if isinstance(kind, str) else set(kind or [])


def _check_superset(seed: dict[str, Any], ours: dict[str, Any], root: dict[str, Any], path: str) -> None:
    ours = _resolve(root, ours)
    if "type" in seed:
        expected = _types(seed)
        got = _types(ours)
        assert expected <= got or (expected == {"number"} and got <= {"number", "integer"}), (
            path,
            expected,
            got,
        )
    if "enum" in seed:
        # the seed's values, in its order, first; the only values raydt adds are modes 'serve' (issue 6) and
        # 'predict' (issue 28), and the registry's frameworks beyond the seed's (issue 14: lightgbm)
        enum = ours.get("enum", [])
        assert enum[: len(seed["enum"])] == seed["enum"], path
        assert set(enum) - set(seed["enum"]) <= ADDED_VALUES.get(path, set()), path
    for key in seed.get("required", []):
        assert key in ours.get("required", []), f"{path}.{key} must stay required"
    for key, sub in seed.get("properties", {}).items():
        assert key in ours.get("properties", {}), f"{path}.{key} missing"
        _check_superset(sub, ours["properties"][key], root, f"{path}.{key}")


def test_input_schema_contains_the_seed_input_schema() -> None:
    ours = schemas.input_schema()
    _check_superset(schemas.seed("input"), ours, ours, "")


def test_output_schema_contains_the_seed_output_schema() -> None:
    ours = schemas.output_schema()
    _check_superset(schemas.seed("output"), ours, ours, "")
    jsonschema.Draft202012Validator.check_schema(ours)


def test_packaged_seed_schemas_match_the_seed_file() -> None:
    if not SHARED_SEED.exists():
        pytest.skip("shared/seeds is not beside this checkout")
    import re

    blocks = re.findall(r"```json\n(.*?)```", SHARED_SEED.read_text(), re.S)
    assert json.loads(blocks[0]) == schemas.seed("input")
    assert json.loads(blocks[1]) == schemas.seed("output")


def test_framework_enum_is_the_seed_enum_then_the_registry_extensions() -> None:
    ours = schemas.input_schema()
    tc = _resolve(ours, ours["properties"]["trainConfig"])
    framework = tc["properties"]["framework"]
    assert framework["enum"] == [*SEED_FRAMEWORKS, *EXTENSIONS]  # the seed's, in its order, then raydt's
    assert set(SEED_FRAMEWORKS) <= set(FRAMEWORKS)  # every seed framework is implemented
    assert EXTENSIONS == ["lightgbm", "lightning", "transformers"]  # issues 14, 18 and 29
    assert all(name in framework["description"] for name in framework["enum"])  # documented


def test_every_input_key_is_camel_case_and_documented() -> None:
    ours = schemas.input_schema()
    for name, model in ours["$defs"].items():
        for key in model.get("properties", {}):
            assert "_" not in key, f"{name}.{key} is not camelCase"


def test_scheduler_and_searcher_docs_come_from_the_registries() -> None:
    import json

    from raydt.registry import SCHEDULERS, SEARCHERS
    from raydt.spec.schemas import input_schema

    text = json.dumps(input_schema())
    for info in (*SCHEDULERS.values(), *SEARCHERS.values()):
        assert f"{info.name}: {info.description}".replace('"', '\\"') in text or info.description in text, info.name
