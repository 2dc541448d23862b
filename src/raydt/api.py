"""The Python API behind both ``raydt.run`` and the CLI: load, plan, run, and always return a result."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from raydt import results
from raydt.errors import InterruptedRunError, RaydtError
from raydt.progress import ProgressView
from raydt.runners import Handoff
from raydt.spec import loader
from raydt.spec.model import Spec

SpecSource = str | Path | dict[str, Any]


def validate(spec: SpecSource) -> Spec:
    """Validate a spec (file path, '-' for stdin, or dict) without importing Ray; raises ``SpecError``."""
    return loader.load(spec).spec


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
) -> list[dict[str, Any]]:
    """KubeRay manifests for a spec (``raydt k8s``): the ConfigMap with the spec the pods run and its code folder,
    then a RayJob (or a RayCluster with ``cluster=True``). The keywords are the command's flags (they win over
    ``k8sConfig``); ``storage`` is a URI or ``pvc:NAME``; ``dockerfile``: a folder to write the build of ``image``
    into. Never imports Ray; raises ``SpecError`` (``OptionError`` when only options are wrong).
    """
    from raydt import k8s

    flags = k8s.Flags(cluster, namespace, name, image, storage, queue, working_dir, tuple(exclude), dockerfile)
    built = k8s.build(spec, flags)
    if built.image_build and dockerfile:
        k8s.write_image_build(built.image_build, dockerfile)
    return built.documents


def execute(
    spec: SpecSource | loader.LoadedSpec, view: ProgressView | None = None, handoff: Handoff | None = None
) -> tuple[dict[str, Any], int]:
    """Run a spec and return (result, exit code); never raises for a bad spec or a failed run. ``handoff``:
    how a serve run hands its result over before it ends (the CLI prints it then).

    The result has passed through the result model (``results.finalize``): documented keys, strict types.
    """
    view = view or ProgressView()
    try:
        loaded = spec if isinstance(spec, loader.LoadedSpec) else loader.load(spec)
        from raydt.runners import runner

        out = runner(loaded.spec.mode, handoff)(loaded, view)
        if loaded.spec.mode in ("train", "tune") and loaded.spec.serve_config is not None:
            out = _then_serve(loaded, view, out, handoff)
    except RaydtError as err:  # runConfig.report: the report of the failed run rides on the error
        return results.error_result(err, reportPath=getattr(err, "report_path", None)), err.exit_code
    except KeyboardInterrupt:
        stop = InterruptedRunError("interrupted by the user (Ctrl-C)")
        return results.error_result(stop), stop.exit_code
    except Exception as exc:  # a bug of ours: still one JSON result, never a bare traceback
        bug = RaydtError(f"internal error: {type(exc).__name__}: {exc}")
        bug.details = {"traceback": traceback.format_exc().splitlines()[-15:]}
        traceback.print_exc()  # the whole of it, into the run's log file (the CLI sends stderr there)
        return results.error_result(bug), bug.exit_code
    doc = results.finalize(out)
    return doc, results.exit_code(doc)


def _then_serve(
    loaded: loader.LoadedSpec, view: ProgressView, out: dict[str, Any], handoff: Handoff | None
) -> dict[str, Any]:
    """A train or tune spec with serveConfig: once the run succeeded, deploy its best checkpoint."""
    if out.get("status") != results.SUCCESS or not out.get("checkpointPath"):
        out.setdefault("warnings", []).append("not served: the run did not succeed with a checkpoint")
        return out
    from raydt.runners.serve import serve_checkpoint

    view.event(f"serving the best checkpoint {out['checkpointPath']}")
    return serve_checkpoint(loaded, view, out["checkpointPath"], out, handoff)


def run(spec: SpecSource, *, quiet: bool = True) -> dict[str, Any]:
    """Run a spec (file path, '-' for stdin, or dict) and return the JSON-ready result dict.

    Failures do not raise: they come back as ``{"status": "error", "error": {...}}``.
    """
    return execute(spec, ProgressView.stderr(quiet))[0]


def resume(experiment_dir: str | Path, *, quiet: bool = True) -> dict[str, Any]:
    """Continue the experiment in ``experiment_dir`` (a result's ``experimentPath``) and return its result."""
    from raydt import experiment

    try:
        spec = experiment.spec_for_resume(experiment_dir)
    except RaydtError as err:
        return results.error_result(err)
    return run(spec, quiet=quiet)


def serve_status(port: int | None = None) -> dict[str, Any]:
    """The serve runs recorded on this machine (foreground or detached), optionally only ``port``'s:
    pid, port, endpoint, alive, healthy and Ray Serve's replica counts (``raydt serve status``)."""
    from raydt.serving import state

    found = [e for e in state.entries() if port is None or e.get("port") == port]
    return {"status": results.SUCCESS, "results": results.empty_results(), "mode": "serve", "deployments": found}


def serve_shutdown(port: int | None = None) -> tuple[dict[str, Any], int]:
    """Stop the recorded serve run (on ``port``, or the only one): (result, exit code); never raises."""
    from raydt.errors import UsageError
    from raydt.serving import state

    found = serve_status(port)["deployments"]
    if not found:
        none = UsageError(f"no running serve run{'' if port is None else f' on port {port}'} is recorded")
        return results.error_result(none), none.exit_code
    if len(found) > 1:
        ports = ", ".join(str(e.get("port")) for e in found)
        many = UsageError(f"several serve runs (ports {ports}): pass --port")
        return results.error_result(many), many.exit_code
    entry = found[0]
    if not state.stop(entry):
        from raydt.errors import RunError

        alive = RunError(f"the serve run (pid {entry.get('pid')}, port {entry.get('port')}) did not stop")
        alive.details = {"deployment": entry}
        return results.error_result(alive), alive.exit_code
    entry.update({"alive": False, "healthy": False})
    out = {"status": results.SUCCESS, "results": results.empty_results(), "mode": "serve", "stopped": [entry]}
    return out, 0


def run_detached(spec: str | Path, *, quiet: bool = True, err: Any = None) -> tuple[dict[str, Any], int]:
    """Start a spec that serves (mode serve, or serveConfig on train/tune) as a background process and
    return its result once the endpoint answers (``raydt run --detach``); ``err`` gets its live view."""
    from raydt.errors import UsageError
    from raydt.serving import detach

    try:
        loaded = loader.load(spec)
        if loaded.spec.serve_config is None:
            raise UsageError("--detach applies to specs that serve (mode serve, or serveConfig on train/tune)")
    except RaydtError as error:
        return results.error_result(error), error.exit_code
    return detach.start(str(spec), loaded, quiet=quiet or err is None, err=err)


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
