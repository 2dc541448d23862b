"""One spec in, KubeRay documents out: load, plan, check every rule, size, write. ``render`` makes the YAML."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from raydt import __version__, plan
from raydt.errors import SpecError
from raydt.k8s import idle, install, manifest, options, payload, sizing
from raydt.spec import loader


@dataclass(frozen=True)
class Manifests:
    """The documents (the ConfigMap, then the RayJob or RayCluster; with idle stop, the RayCluster's ServiceAccount,
    Role and RoleBinding before it) and what the user should know about them."""

    documents: list[dict[str, Any]]
    notes: tuple[str, ...]
    origin: str
    mode: str
    image_build: dict[str, bytes] | None = None  # --dockerfile: the files of the image's build folder

    @property
    def names(self) -> list[str]:
        """``Kind/name`` of every document."""
        return [f"{d['kind']}/{d['metadata']['name']}" for d in self.documents]


def build(source: str | Path | dict[str, Any] | loader.LoadedSpec, flags: options.Flags | None = None) -> Manifests:
    """The manifests of a spec (file, '-', dict or loaded); raises ``SpecError`` / ``OptionError`` listing every
    problem (the spec's, the options', and what a KubeRay job of it could not run)."""
    loaded = source if isinstance(source, loader.LoadedSpec) else _load(source)
    flags = flags or options.Flags()
    issues = payload.refused(loaded)
    if loaded.spec.mode not in payload.MODES:
        raise SpecError(issues)
    the_plan = plan.tune(loaded) if loaded.spec.mode == "tune" else plan.train(loaded)
    train = the_plan.train if isinstance(the_plan, plan.TunePlan) else the_plan
    opts, found = options.resolve(loaded, train, flags)
    pods, more = payload.build(loaded, opts)
    ready, unready = install.resolve(opts, install.extras(the_plan, loaded), train.workers.use_gpu)
    issues += found + more + unready
    if issues:
        raise options.error(issues)
    group = sizing.size(the_plan)
    notes = [*ready.notes, *group.notes, *pods.notes, *_notes(opts, train, ready.pip)]
    documents = manifest.documents(opts, group, pods, ready.pip)
    return Manifests(documents, tuple(notes), loaded.origin, loaded.spec.mode, ready.build)


def _load(source: str | Path | dict[str, Any]) -> loader.LoadedSpec:
    """The spec, validated after its mode: a mode raydt k8s refuses is said first, not what that mode lacks."""
    outer, base_dirs, origin = loader.read(source)
    raw, prefix = loader.unwrap(outer)
    refused = payload.refused_mode(raw.get("mode"), prefix)
    if refused:
        raise SpecError(refused)
    return loader.validated(outer, base_dirs, origin)


def _notes(opts: options.Options, train: plan.TrainPlan, pip: list[str]) -> list[str]:
    notes = []
    if train.workers.use_gpu and not opts.image.startswith(options.RAY_IMAGE):
        notes.append(f"config.useGpu is true: make sure {opts.image} has CUDA (raydt cannot tell from its tag)")
    if train.workers.accelerator_type and not opts.config.node_selector:
        notes.append(
            f"acceleratorType {train.workers.accelerator_type}: add a node selector for that GPU "
            "(k8sConfig.nodeSelector) so the worker pods land on it"
        )
    if opts.config.pip == []:
        notes.append(f"k8sConfig.pip is []: {opts.image} must have raydt {__version__} installed")
    if opts.kind == "RayCluster":
        notes.append(
            f"the RayCluster runs nothing by itself: kubectl port-forward svc/{opts.name}-head-svc 8265:8265, then "
            f"{manifest.submit_command(pip)}"
        )
    if opts.idle_stop_s is not None:
        notes.append(
            f"the RayCluster suspends itself after {idle.duration_text(opts.idle_stop_s)} without a job, driver or "
            f"Serve application (its head pod's {idle.CONTAINER} container; why: the raydt/stopped annotation); start "
            f'it again: kubectl patch raycluster {opts.name} --type merge -p \'{{"spec":{{"suspend":false}}}}\''
        )
    if opts.config.auth == "token":
        notes.append(
            "Ray token authentication is on (authOptions; KubeRay >= 1.5.1 generates the token into a Secret of "
            "the cluster): a client of the dashboard needs RAY_AUTH_MODE=token and RAY_AUTH_TOKEN from that Secret"
        )
    return notes


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the spec file, runtimeEnvYAML) as literal blocks, readable in the manifest."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(manifests: Manifests) -> str:
    """One multi-document YAML (``kubectl apply -f``), with a comment header: origin, versions, notes."""
    header = [
        f"# KubeRay manifests for {manifests.origin}, written by raydt {__version__} (`raydt k8s`) for Ray "
        f"{options.RAY_VERSION}.",
        "# Apply: kubectl apply -f FILE",
        *(f"# note: {note}" for note in manifests.notes),
    ]
    body = yaml.dump_all(manifests.documents, Dumper=_Dumper, sort_keys=False, explicit_start=True, width=120)
    return "\n".join(header) + "\n" + body
