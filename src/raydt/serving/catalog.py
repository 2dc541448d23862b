"""What each model of a multi-model endpoint serves: its plan (``plan.serving``) resolved to checkpoints, as the
JSON-ready definition its Ray Serve application is built from, and as ``GET /models`` lists it. Imports no Ray
Serve (Ray Train/Tune only to rank an experiment's checkpoints)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from raydt.errors import RunError
from raydt.plan.serving import ModelPlan, SourcePlan

#: Ray Serve application names: the router (the HTTP ingress) and each model's generation
ROUTER_APP = "raydt"


def app_name(name: str, generation: int) -> str:
    return f"raydt-model-{name}-g{generation}"


def definition(
    model: ModelPlan, generation: int, settings: dict[str, Any], fetch: Callable[[str | None, str | None], str]
) -> dict[str, Any]:
    """The model at ``generation``: members (name, checkpoint, weight, metric), replicas, resources, and the
    serveConfig ``settings`` every replica reads. ``fetch(checkpoint, experiment)``: the checkpoint to use."""
    from raydt.frameworks.checkpoint_format import read_meta
    from raydt.serving.loading import top_checkpoints

    metric: dict[str, Any] | None = None
    if model.kind == "ensemble":
        metric, ranked = top_checkpoints(model.sources[0].experiment_path or "", model.top_k)
        members: list[dict[str, Any]] = [
            {"name": f"m{i + 1}", "checkpoint": c, "metric": v} for i, (c, v) in enumerate(ranked)
        ]
        metric = {**metric, "value": ranked[0][1]}
    else:
        members = [_member(model, source, fetch) for source in model.sources]
        if model.kind == "single" and model.sources[0].experiment_path:
            metric = _metric_of(model.sources[0].experiment_path, members[0])
    metas = [read_meta(str(m["checkpoint"])) or {} for m in members]
    if model.kind == "ensemble" and model.predictor is None:
        _same_classes(model.name, members, metas)
    framework = model.framework or next((str(m["framework"]) for m in metas if m.get("framework")), None)
    return {
        "name": model.name,
        "kind": model.kind,
        "generation": generation,
        "app": app_name(model.name, generation),
        "members": members,
        "combine": model.combine if model.kind == "ensemble" else None,
        "framework": framework,
        "metric": metric,
        "predictorPath": model.predictor,
        "replicas": model.replicas,
        "cpu": model.cpu,
        "gpu": model.gpu,
        **settings,
    }


def _member(model: ModelPlan, source: SourcePlan, fetch: Callable[[str | None, str | None], str]) -> dict[str, Any]:
    member: dict[str, Any] = {"name": source.name, "checkpoint": fetch(source.checkpoint_path, source.experiment_path)}
    if model.kind == "variants":
        member["weight"] = source.weight
    return member


def _metric_of(experiment: str, member: dict[str, Any]) -> dict[str, Any] | None:
    """{name, mode, value} of the experiment's metric for the checkpoint chosen from it (None: not found there)."""
    from raydt.serving.loading import top_checkpoints

    try:
        named, ranked = top_checkpoints(experiment, 1)
    except RunError:
        return None
    values = {c: v for c, v in ranked}
    return {**named, "value": values.get(member["checkpoint"])} if member["checkpoint"] in values else None


def _same_classes(name: str, members: list[dict[str, Any]], metas: list[dict[str, Any]]) -> None:
    """Probabilities are averaged (or votes counted) class by class: the members must share their classes."""
    seen = [((m.get("data") or {}).get("classes") or m.get("numClasses")) for m in metas]
    if any(s != seen[0] for s in seen[1:]):
        raise RunError(
            f"the ensemble '{name}' mixes checkpoints with different classes: "
            + "; ".join(f"{m['checkpoint']}: {s}" for m, s in zip(members, seen, strict=True)),
            hint="Ensemble the trials of one search (one dataset, one label column).",
        )


def listing(definition: dict[str, Any], url: str) -> dict[str, Any]:
    """The model as ``GET /models`` and the run's result list it (``results.ServedModelInfo``'s keys)."""
    base = f"{url}/models/{definition['name']}"
    return {
        "name": definition["name"],
        "kind": definition["kind"],
        "predict": f"{base}/predict",
        "metadata": f"{base}/metadata",
        "framework": definition["framework"],
        "metric": definition["metric"],
        "checkpoints": definition["members"],
        "generation": definition["generation"],
        "combine": definition["combine"],
        "replicas": definition["replicas"],
        "resourcesPerReplica": {"CPU": float(definition["cpu"]), "GPU": float(definition["gpu"])},
    }


def replaced(model: ModelPlan, checkpoint: str | None, experiment: str | None, variant: str | None) -> ModelPlan:
    """``raydt serve update``: the model with one source replaced (a variant's, named, for a canary split)."""
    if model.kind == "ensemble":
        if experiment is None:
            raise RunError(
                f"model '{model.name}' is an ensemble: update it with --experiment DIR (its top {model.top_k} serve)"
            )
        return dataclasses.replace(model, sources=(SourcePlan(model.name, None, experiment),))
    if model.kind == "variants":
        names = [s.name for s in model.sources]
        if variant not in names:
            raise RunError(
                f"model '{model.name}' is a canary split: name the variant to replace with --variant "
                f"(one of {', '.join(names)}; given: {variant})"
            )
        sources = tuple(
            SourcePlan(s.name, checkpoint, experiment, s.weight) if s.name == variant else s for s in model.sources
        )
        return dataclasses.replace(model, sources=sources)
    if variant is not None:
        raise RunError(f"model '{model.name}' has no variants: leave out --variant (given: {variant})")
    return dataclasses.replace(model, sources=(SourcePlan(model.name, checkpoint, experiment),))
