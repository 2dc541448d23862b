"""Operations around runs, one function per command: each returns (result document, exit code) and never raises
for a usage or environment problem (``raydt report``, ``doctor``, ``explain``, ``submit``, ``jobs``, ``k8s``,
``cluster up|down``). The CLI, the MCP server and users call these; none of them reaches past this module."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO, cast

from raydt import results
from raydt.api.runs import SpecSource, run
from raydt.errors import EXIT_SUCCESS, OptionError, RaydtError, SpecIssue
from raydt.results.outputs import K8sManifests

Outcome = tuple[dict[str, Any], int]


def validate_document(spec: SpecSource) -> Outcome:
    """``raydt validate``: the spec checked without starting Ray (``valid``, ``mode``), or every problem."""
    from raydt.spec import loader

    try:
        mode = loader.load(spec).spec.mode
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    return results.Document(valid=True, mode=mode).dump(), EXIT_SUCCESS


def plan(spec: SpecSource, *, address: str | None = None, k8s: bool = False, probe: bool = False) -> Outcome:
    """``raydt plan``: what a train or tune run would do on its target, without running it (``result.plan``); exit 0
    when it fits, 2 (``DOES_NOT_FIT``) when it cannot. Imports no Ray unless ``address`` (or the address the run
    would use) names a running cluster, or ``probe`` runs one short trial on the target to time it."""
    from raydt import forecast

    return forecast.plan(spec, address=address, k8s=k8s, probe=probe)


def report(experiment_dir: str | Path, out: str | None = None) -> Outcome:
    """``raydt report``: ``reportPath``, ``reportFigures``, and notes on figures left out as warnings; of a bundle
    (``raydt bundle``'s .tar.gz) too."""
    from raydt.bundle import is_bundle
    from raydt.report import document as report_document
    from raydt.report import write

    if is_bundle(experiment_dir):
        from raydt.api import bundles

        return bundles.report(str(experiment_dir), out)

    try:
        written = write(experiment_dir, out)
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    return report_document(written).dump(), EXIT_SUCCESS


def doctor(spec: str | None = None, address: str | None = None, *, summary: TextIO | None = None) -> Outcome:
    """``raydt doctor``: the checks of this machine (and a spec, a cluster); exit 1 when one fails. ``summary``:
    where the human-readable summary goes (the CLI's stderr)."""
    from raydt import diagnose

    doc, checks, code = diagnose.doctor(spec, address)
    if summary is not None:
        summary.write(diagnose.summary(checks))
        summary.flush()
    return doc, code


def explain(path: str) -> Outcome:
    """``raydt explain``: the root causes of a failed run, with evidence and fixes; of a bundle too."""
    from raydt import diagnose
    from raydt.bundle import is_bundle

    if is_bundle(path):
        from raydt.api import bundles

        return bundles.explain(path)

    return diagnose.explain(path)


def submit(spec: SpecSource, *, address: str | None = None, token_file: str | None = None, wait: bool = False,
           err: TextIO | None = None, **options: Any) -> Outcome:  # fmt: skip
    """``raydt submit``: the spec as a Ray Job; ``options``: ``jobs.package.Options``' fields (working_dir,
    excludes, max_upload_mb, python, ship_raydt, entrypoint_cpus, entrypoint_gpus)."""
    from raydt.jobs import commands, package

    opts = package.Options(**options)
    return commands.guarded(
        lambda: commands.submit(spec, opts, address=address, token_file=token_file, wait=wait, err=err)
    )


def job(action: str, job_id: str | None, *, address: str | None = None, token_file: str | None = None,
        wait: bool = False, follow: bool = False, out: TextIO | None = None) -> Outcome | None:  # fmt: skip
    """``raydt jobs ACTION``: list | status | stop | result (``wait``) | logs (written to ``out``; None)."""
    from raydt.jobs import commands

    if action == "list":
        return commands.guarded(lambda: commands.list_jobs(address, token_file))
    assert job_id is not None  # the CLI and the MCP tool ask for it
    conn = (job_id, address, token_file)
    if action == "status":
        return commands.guarded(lambda: commands.status(*conn))
    if action == "stop":
        return commands.guarded(lambda: commands.stop(*conn))
    if action == "result":
        return commands.guarded(lambda: commands.result(*conn, wait=wait))
    try:
        commands.logs(*conn, follow=follow, out=out)  # type: ignore[arg-type]  # logs: the CLI passes stdout
    except RaydtError as exc:
        return results.error_result(exc), exc.exit_code
    return None


def k8s(spec: SpecSource, out: str | None = None, **flags: Any) -> tuple[dict[str, Any] | str, int]:
    """``raydt k8s``: the YAML (or, with ``out``, the file written and a JSON summary); ``flags``: ``k8s.Flags``'
    fields (cluster, namespace, name, image, storage, queue, working_dir, excludes, dockerfile, idle_stop)."""
    from raydt import k8s as kube

    try:
        manifests = kube.build(spec, kube.Flags(**flags))
        text = kube.render(manifests)
        build, folder = manifests.image_build, str(flags.get("dockerfile") or "")
        dockerfile = _written(
            "--dockerfile", folder, lambda: build and folder and kube.write_image_build(build, folder)
        )
        if out:
            _written("--out", out, lambda: Path(out).write_text(text, encoding="utf-8"))
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    if not out:
        return text, EXIT_SUCCESS
    written: dict[str, Any] = {"file": str(Path(out).resolve()), "documents": manifests.names}
    if dockerfile:
        written["dockerfile"] = str(dockerfile)
    doc = results.Document(mode=cast(results.Mode, manifests.mode), manifests=K8sManifests.model_validate(written))
    if manifests.notes:
        doc.warnings = list(manifests.notes)
    return doc.dump(), EXIT_SUCCESS


def _written(flag: str, value: str | None, write: Any) -> Any:
    """``write()``'s result; an OSError is the flag's usage error."""
    try:
        return write()
    except OSError as exc:
        issue = SpecIssue(flag, f"cannot be written ({exc.strerror or exc})", value, "Pick a writable path.")
        raise OptionError([issue]) from None


def k8s_manifests(
    spec: SpecSource,
    *,
    cluster: bool = False,
    namespace: str | None = None,
    name: str | None = None,
    image: str | None = None,
    storage: str | None = None,
    queue: str | None = None,
    working_dir: str | None = None,
    exclude: tuple[str, ...] = (),
    dockerfile: str | None = None,
    idle_stop: str | None = None,
) -> list[dict[str, Any]]:
    """KubeRay manifests for a spec (``raydt k8s``): the ConfigMap with the spec the pods run and its code folder,
    then a RayJob (or a RayCluster with ``cluster=True``). The keywords are the command's flags (they win over
    ``k8sConfig``); ``storage`` is a URI or ``pvc:NAME``; ``dockerfile``: a folder to write the build of ``image``
    into; ``idle_stop`` (with ``cluster``): suspend the RayCluster after this long unused (``30m``). Never imports
    Ray; raises ``SpecError`` (``OptionError`` when only options are wrong).
    """
    from raydt import k8s

    flags = k8s.Flags(
        cluster, namespace, name, image, storage, queue, working_dir, tuple(exclude), dockerfile, idle_stop
    )
    built = k8s.build(spec, flags)
    if built.image_build and dockerfile:
        k8s.write_image_build(built.image_build, dockerfile)
    return built.documents


def cluster(action: str, flags: dict[str, Any] | None = None, spec: SpecSource | None = None) -> Outcome:
    """``raydt cluster up | down``; ``flags``: ``up``'s (None values: not given)."""
    from raydt.clusters import commands

    return commands.up(flags or {}, spec) if action == "up" else commands.down()


def cluster_up(
    *,
    cpus: float | None = None,
    gpus: float | None = None,
    memory: int | None = None,
    resources: dict[str, float] | None = None,
    workers: int = 0,
    worker_cpus: float | None = None,
    worker_gpus: float | None = None,
    worker_resources: dict[str, float] | None = None,
    host: str | None = None,
    spec: SpecSource | None = None,
) -> dict[str, Any]:
    """Start a lasting local Ray cluster (``raydt cluster up``): a head plus ``workers`` worker raylets on
    this machine, on 127.0.0.1 unless ``host`` says otherwise, with token authentication. Resources come from
    the keywords, else ``spec``'s ``config.rayInit``. Returns the result (``lastingCluster``); never raises."""
    flags = {"cpus": cpus, "gpus": gpus, "memory": memory, "resources": resources, "workers": workers,
             "worker_cpus": worker_cpus, "worker_gpus": worker_gpus, "worker_resources": worker_resources,
             "host": host}  # fmt: skip
    from raydt.clusters import commands

    return commands.up(flags, spec)[0]


def cluster_down() -> dict[str, Any]:
    """Stop the cluster ``cluster_up`` started: exactly its processes, by pid (``raydt cluster down``)."""
    from raydt.clusters import commands

    return commands.down()[0]


def cluster_status(address: str | None = None, *, quiet: bool = True) -> dict[str, Any]:
    """``mode: cluster`` (``raydt cluster status``): nodes and resources of ``address``, else RAY_ADDRESS,
    else the cluster ``cluster_up`` started when it runs, else an embedded Ray."""
    return run(cluster_spec(address), quiet=quiet)


def cluster_spec(address: str | None) -> dict[str, Any]:
    """The ``mode: cluster`` spec of ``raydt cluster [status] [--address]``."""
    spec: dict[str, Any] = {"mode": "cluster", "config": {}}
    if address:
        spec["config"]["address"] = address
    return spec
