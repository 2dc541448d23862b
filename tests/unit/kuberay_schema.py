"""KubeRay's own CRD schemas as a real validator, for the manifests ``raydt k8s`` writes.

The schema is the ``openAPIV3Schema`` of the CRD's served version the manifest's ``apiVersion`` names (``ray.io/v1``),
from KubeRay's repository (``tests/fixtures/kuberay-crds``, see its SOURCE.md), checked with ``jsonschema`` the way
the Kubernetes API server reads a structural schema:

- an object schema refuses keys it does not list (the API server prunes unknown fields, or refuses them under
  kubectl's strict field validation: either way a key our generator misspells is lost), unless it has
  ``additionalProperties`` or ``x-kubernetes-preserve-unknown-fields``; ``x-kubernetes-embedded-resource`` objects
  keep apiVersion/kind/metadata;
- ``nullable: true`` admits null; ``x-kubernetes-int-or-string`` admits an integer or a string (the quantity
  ``pattern`` then checks strings);
- ``x-kubernetes-list-type: map`` lists are unique by their ``x-kubernetes-list-map-keys`` (containers by name,
  ports by port and protocol), ``set`` lists have unique items;
- ``format: int32|int64`` integers are in range;
- ``x-kubernetes-validations`` (CEL rules) cannot be evaluated here: a manifest that sets such a field fails, so no
  rule goes unchecked silently;
- ``metadata`` is checked as Kubernetes' ObjectMeta (name, namespace, label keys and values), ``status`` is refused.

``kuberay_rules`` adds the checks KubeRay's controller makes beyond the schema (names, replica bounds, TTL).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError

from tests.conftest import FIXTURES

CRDS = FIXTURES / "kuberay-crds"
FILES = {"RayJob": "ray.io_rayjobs.yaml", "RayCluster": "ray.io_rayclusters.yaml"}
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_1035 = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
QUALIFIED_NAME = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
OBJECT_META = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
        "namespace": {"type": "string", "maxLength": 63, "pattern": DNS_LABEL},
        "labels": {
            "type": "object",
            "propertyNames": {"pattern": QUALIFIED_NAME, "maxLength": 316},
            "additionalProperties": {"type": "string", "maxLength": 63, "pattern": LABEL_VALUE},
        },
        "annotations": {
            "type": "object",
            "propertyNames": {"pattern": QUALIFIED_NAME},
            "additionalProperties": {"type": "string"},
        },
    },
}
#: A core/v1 ConfigMap as raydt writes it (not a KubeRay resource: Kubernetes' own rules for these fields).
CONFIG_MAP = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "data"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "v1"},
        "kind": {"const": "ConfigMap"},
        "metadata": OBJECT_META,
        "data": {
            "type": "object",
            "propertyNames": {"pattern": r"^[-._a-zA-Z0-9]+$", "maxLength": 253},
            "additionalProperties": {"type": "string"},
        },
        "binaryData": {
            "type": "object",
            "propertyNames": {"pattern": r"^[-._a-zA-Z0-9]+$", "maxLength": 253},
            "additionalProperties": {"type": "string", "contentEncoding": "base64", "pattern": r"^[A-Za-z0-9+/]*=*$"},
        },
    },
}
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
#: Kubernetes' core/v1 ServiceAccount and rbac.authorization.k8s.io/v1 Role and RoleBinding as the API server takes
#: them (their fields, the required ones, and the rules of ``pkg/apis/rbac/validation``: verbs never empty, a
#: RoleBinding's roleRef in the RBAC group, a ServiceAccount subject without apiGroup)
SERVICE_ACCOUNT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "v1"},
        "kind": {"const": "ServiceAccount"},
        "metadata": OBJECT_META,
        "automountServiceAccountToken": {"type": "boolean"},
    },
}
POLICY_RULE = {
    "type": "object",
    "required": ["verbs"],
    "additionalProperties": False,
    "properties": {
        "verbs": _STRINGS,
        "apiGroups": {"type": "array", "items": {"type": "string"}},
        "resources": _STRINGS,
        "resourceNames": _STRINGS,
        "nonResourceURLs": _STRINGS,
    },
}
ROLE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "rules"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "rbac.authorization.k8s.io/v1"},
        "kind": {"const": "Role"},
        "metadata": OBJECT_META,
        "rules": {"type": "array", "items": POLICY_RULE},
    },
}
ROLE_BINDING = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "roleRef"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "rbac.authorization.k8s.io/v1"},
        "kind": {"const": "RoleBinding"},
        "metadata": OBJECT_META,
        "roleRef": {
            "type": "object",
            "required": ["apiGroup", "kind", "name"],
            "additionalProperties": False,
            "properties": {
                "apiGroup": {"const": "rbac.authorization.k8s.io"},
                "kind": {"enum": ["Role", "ClusterRole"]},
                "name": {"type": "string", "pattern": DNS_SUBDOMAIN},
            },
        },
        "subjects": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind", "name"],
                "additionalProperties": False,
                "properties": {
                    "kind": {"const": "ServiceAccount"},
                    "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
                    "namespace": {"type": "string", "pattern": DNS_LABEL},
                },
            },
        },
    },
}
CORE = {"ConfigMap": CONFIG_MAP, "ServiceAccount": SERVICE_ACCOUNT, "Role": ROLE, "RoleBinding": ROLE_BINDING}
RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _structural(node: dict[str, Any]) -> dict[str, Any]:
    """The schema as the API server applies it (see the module docstring), in plain JSON Schema."""
    out = dict(node)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: _structural(sub) for name, sub in out["properties"].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = _structural(out[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if isinstance(out.get(key), list):
            out[key] = [_structural(sub) for sub in out[key]]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string") and "anyOf" not in out and "type" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("x-kubernetes-embedded-resource"):
        embedded = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": OBJECT_META}
        out["properties"] = {**embedded, **out.get("properties", {})}
    if out.get("type") == "object" and "additionalProperties" not in out:
        if not out.get("x-kubernetes-preserve-unknown-fields"):  # pruned: only the listed properties survive
            out["additionalProperties"] = False
    return out


def _list_type(validator: Any, kind: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not isinstance(instance, list):
        return
    if kind == "map":
        keys = schema.get("x-kubernetes-list-map-keys", [])
        seen = [tuple(item.get(k) for k in keys) for item in instance if isinstance(item, dict)]
        dupes = {s for s in seen if seen.count(s) > 1}
        if dupes:
            yield ValidationError(f"list-map keys {keys} must be unique, repeated: {sorted(dupes, key=str)}")
    elif kind == "set":
        texts = [repr(item) for item in instance]
        if len(set(texts)) != len(texts):
            yield ValidationError("x-kubernetes-list-type set: items must be unique")


def _cel(
    validator: Any, rules: list[dict[str, Any]], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    messages = "; ".join(str(r.get("message") or r.get("rule")) for r in rules)
    yield ValidationError(f"a field with CEL rules, which this validator cannot evaluate: {messages}")


def _integer_format(checker: jsonschema.FormatChecker) -> jsonschema.FormatChecker:
    for name, (low, high) in RANGES.items():
        checker.checks(name)(lambda value, low=low, high=high: not isinstance(value, int) or low <= value <= high)
    return checker


Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator, {"x-kubernetes-list-type": _list_type, "x-kubernetes-validations": _cel}
)


@cache
def crd(kind: str) -> dict[str, Any]:
    with (CRDS / FILES[kind]).open(encoding="utf-8") as stream:
        doc: dict[str, Any] = yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    assert doc["kind"] == "CustomResourceDefinition" and doc["spec"]["names"]["kind"] == kind
    return doc


@cache
def schema(kind: str, version: str = "v1") -> dict[str, Any]:
    """The structural schema of ``kind`` at a served ``version`` of group ray.io."""
    doc = crd(kind)
    assert doc["spec"]["group"] == "ray.io"
    served = {v["name"]: v for v in doc["spec"]["versions"] if v.get("served")}
    assert version in served, f"{kind} {version} is not served; served: {sorted(served)}"
    root = _structural(copy.deepcopy(served[version]["schema"]["openAPIV3Schema"]))
    root["properties"].pop("status", None)
    root["properties"].update(apiVersion={"const": f"ray.io/{version}"}, kind={"const": kind}, metadata=OBJECT_META)
    root["required"] = ["apiVersion", "kind", "metadata", "spec"]
    root["additionalProperties"] = False
    Validator.check_schema(root)
    return root


def schema_errors(doc: dict[str, Any]) -> list[str]:
    """Every place ``doc`` breaks its schema (a KubeRay CRD's, or a core kind's: ConfigMap, ServiceAccount, Role,
    RoleBinding), as 'path: message'."""
    kind = doc.get("kind")
    if kind in CORE:
        target = CORE[str(kind)]
    else:
        api = str(doc.get("apiVersion", ""))
        target = schema(str(kind), api.removeprefix("ray.io/"))
    validator = Validator(target, format_checker=_integer_format(jsonschema.FormatChecker()))
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '<doc>'}: {e.message}" for e in validator.iter_errors(doc))


def kuberay_rules(doc: dict[str, Any]) -> list[str]:
    """What KubeRay's controller checks beyond the CRD schema (``ray-operator/controllers/ray/utils/validation.go``)."""
    import re

    problems = []
    name, kind = doc["metadata"]["name"], doc["kind"]
    limit = {"RayJob": 47, "RayCluster": 53}.get(kind)
    if limit and (len(name) > limit or not re.match(DNS_1035, name)):
        problems.append(f"{kind} name {name!r}: a DNS-1035 label of at most {limit} characters")
    if kind == "RayJob":
        spec = doc["spec"]
        if not spec.get("shutdownAfterJobFinishes") and spec.get("ttlSecondsAfterFinished", 0) > 0:
            problems.append("ttlSecondsAfterFinished needs shutdownAfterJobFinishes")
        if "runtimeEnvYAML" in spec and not isinstance(yaml.safe_load(spec["runtimeEnvYAML"]), dict):
            problems.append("runtimeEnvYAML must be a YAML mapping")
        cluster = spec.get("rayClusterSpec")
    else:
        cluster = doc.get("spec")
    if cluster is not None:
        groups = cluster.get("workerGroupSpecs", [])
        names = [g["groupName"] for g in groups]
        if len(set(names)) != len(names):
            problems.append(f"worker group names repeat: {names}")
        for g in groups:
            if not g["minReplicas"] <= g.get("replicas", g["minReplicas"]) <= g["maxReplicas"]:
                problems.append(f"group {g['groupName']}: minReplicas <= replicas <= maxReplicas")
        if not cluster["headGroupSpec"]["template"]["spec"]["containers"]:
            problems.append("the head pod has no container")
    return problems


def extract(documents: list[dict[str, Any]], folder: Path) -> Path:
    """What every pod of the manifests finds at ``/raydt`` (the ConfigMap's volume, its ``items`` and the mount's
    ``subPath``, as the kubelet lays them out), written into ``folder``: the path of ``spec.json`` there. Asserts
    Kubernetes' rules on the way (keys in data or binaryData, once; relative item paths without '..')."""
    import base64

    cm = next(d for d in documents if d["kind"] == "ConfigMap")
    data, binary = cm.get("data", {}), cm.get("binaryData", {})
    assert not set(data) & set(binary), "a key in both data and binaryData"
    main = next(d for d in documents if d["kind"] in FILES)
    cluster = main["spec"]["rayClusterSpec"] if main["kind"] == "RayJob" else main["spec"]
    layouts = []
    for group in [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]:
        pod = group["template"]["spec"]
        (volume,) = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") == cm["metadata"]["name"]]
        (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
        assert mount["mountPath"] == "/raydt" and mount.get("readOnly") is True
        layouts.append((mount.get("subPath", ""), volume["configMap"]["items"]))
    assert all(layout == layouts[0] for layout in layouts), "the pods see different files"
    sub, items = layouts[0]
    for item in items:
        path = PurePosixPath(item["path"])
        assert not path.is_absolute() and not any(part.startswith("..") for part in path.parts), item
        key = item["key"]
        content = data[key].encode() if key in data else base64.b64decode(binary[key], validate=True)
        target = folder / path.relative_to(sub)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return folder / "spec.json"


def check(doc: dict[str, Any]) -> None:
    """Assert that ``doc`` is valid: its schema, then KubeRay's controller rules."""
    problems = schema_errors(doc) + (kuberay_rules(doc) if doc.get("kind") not in CORE else [])
    assert not problems, f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}:\n" + "\n".join(problems)
