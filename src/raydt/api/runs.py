"""Runs: load, plan, run, and always return a result (``raydt.run``, ``raydt run``, a Ray Job's entrypoint, MCP)."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

from raydt import results
from raydt.errors import InterruptedRunError, RaydtError
from raydt.progress import ProgressView
from raydt.results.outputs import Deployment
from raydt.runners import Handoff
from raydt.spec import loader
from raydt.spec.model import Spec

SpecSource = str | Path | dict[str, Any]


def validate(spec: SpecSource) -> Spec:
    """Validate a spec (file path, '-' for stdin, or dict) without importing Ray; raises ``SpecError``."""
    return loader.load(spec).spec


def execute(
    spec: SpecSource | loader.LoadedSpec, view: ProgressView | None = None, handoff: Handoff | None = None
) -> tuple[dict[str, Any], int]:
    """Run a spec and return (result, exit code); never raises for a bad spec or a failed run. ``handoff``:
    how a serve run hands its result over before it ends (the CLI prints it then).

    The result has passed through the result model (``results.finalize``): documented keys, strict types.
    """
    from raydt.tracking import notify

    view = view or ProgressView()
    notifier = None  # runConfig.notify: every run whose spec loaded ends with its message (tracking.notify)
    try:
        loaded = spec if isinstance(spec, loader.LoadedSpec) else loader.load(spec)
        from raydt.runners import runner

        notifier = notify.start(loaded.spec, view)
        out = runner(loaded.spec.mode, handoff)(loaded, view)
        if loaded.spec.mode in ("train", "tune") and loaded.spec.serve_config is not None:
            notify.ended(notifier, out)  # told when the training ends, not when serving does
            out = _then_serve(loaded, view, out, handoff)
    except RaydtError as err:  # runConfig.report: the report of the failed run rides on the error
        doc, code = results.error_result(err, reportPath=getattr(err, "report_path", None)), err.exit_code
    except KeyboardInterrupt:
        stop = InterruptedRunError("interrupted by the user (Ctrl-C)")
        doc, code = results.error_result(stop), stop.exit_code
    except Exception as exc:  # a bug of ours: still one JSON result, never a bare traceback
        bug = RaydtError(f"internal error: {type(exc).__name__}: {exc}")
        bug.details = {"traceback": traceback.format_exc().splitlines()[-15:]}
        traceback.print_exc()  # the whole of it, into the run's log file (the CLI sends stderr there)
        doc, code = results.error_result(bug), bug.exit_code
    else:
        doc = results.finalize(out)
        code = results.exit_code(doc)
    if notifier is None:
        return doc, code
    return results.finalize(notify.close(notifier, doc)), code


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
    try:
        spec = resume_source(experiment_dir)
    except RaydtError as err:
        return results.error_result(err)
    return run(spec, quiet=quiet)


def serve_status(port: int | None = None) -> dict[str, Any]:
    """The serve runs recorded on this machine (foreground or detached), optionally only ``port``'s:
    pid, port, endpoint, alive, healthy and Ray Serve's replica counts (``raydt serve status``)."""
    from raydt.serving import state

    found = [e for e in state.entries() if port is None or e.get("port") == port]
    return results.Document(mode="serve", deployments=[Deployment.model_validate(e) for e in found]).dump()


def serve_shutdown(port: int | None = None) -> tuple[dict[str, Any], int]:
    """Stop the recorded serve run (on ``port``, or the only one): (result, exit code); never raises."""
    from raydt.errors import UsageError
    from raydt.serving import state

    try:
        entry = _one_serve_run(port, alive_only=False)  # a dead run's record is removed too
    except UsageError as err:
        return results.error_result(err), err.exit_code
    if not state.stop(entry):
        from raydt.errors import RunError

        alive = RunError(f"the serve run (pid {entry.get('pid')}, port {entry.get('port')}) did not stop")
        alive.details = {"deployment": entry}
        return results.error_result(alive), alive.exit_code
    entry.update({"alive": False, "healthy": False})
    return results.Document(mode="serve", stopped=[Deployment.model_validate(entry)]).dump(), 0


def serve_update(
    model: str | None,
    checkpoint: str | None,
    experiment: str | None,
    variant: str | None = None,
    port: int | None = None,
    timeout: float = 600.0,
) -> tuple[dict[str, Any], int]:
    """Replace one model of the running multi-model serve run (on ``port``, or the only one) with a new checkpoint
    (``raydt serve update``): (result, exit code); never raises. The serving process deploys the new generation,
    switches its routes once it answers, then drains the old one."""
    from raydt.errors import RaydtError, UsageError
    from raydt.serving import control

    checkpoint, experiment = checkpoint or None, experiment or None  # an empty --checkpoint "" is none given
    try:
        if not model or (checkpoint is None) == (experiment is None):
            raise UsageError(
                "raydt serve update needs --model NAME and one of --checkpoint DIR and --experiment DIR",
                hint="e.g. raydt serve update --model churn --checkpoint results/run2/checkpoint_000004",
            )
        source = os.path.abspath(os.path.expanduser(checkpoint or experiment or ""))
        if not os.path.isdir(source):
            flag = "--checkpoint" if checkpoint else "--experiment"
            raise UsageError(f"{flag} must be an existing directory (got {checkpoint or experiment})")
        entry = _one_serve_run(port)
        request = {"model": model, "variant": variant, "checkpoint" if checkpoint else "experiment": source}
        reply = control.ask(int(entry["port"]), request, timeout)
        if reply is None:
            raise UsageError(f"the serve run on port {entry['port']} did not answer within {timeout:g}s")
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    return reply, 0 if reply.get("status") == "success" else 1


def _one_serve_run(port: int | None, alive_only: bool = True) -> dict[str, Any]:
    """The recorded serve run on ``port`` (or the only one; ``alive_only``: whose process lives)."""
    from raydt.errors import UsageError

    found = [e for e in serve_status(port)["deployments"] if e.get("alive") or not alive_only]
    if not found:
        raise UsageError(f"no running serve run{'' if port is None else f' on port {port}'} is recorded")
    if len(found) > 1:
        ports = ", ".join(str(e.get("port")) for e in found)
        raise UsageError(f"several serve runs (ports {ports}): pass --port")
    return dict(found[0])


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


def schema(kind: str) -> dict[str, Any]:
    """``raydt schema KIND``: the spec's JSON Schema (``input``) or the result's (``output``); the MCP server's
    get_schema and schema resources serve the same."""
    from raydt.spec import schemas

    return schemas.input_schema() if kind == "input" else schemas.output_schema()


def run_logged(source: Any, *, quiet: bool, result_prefix: str = "", mode: str | None = None) -> int:
    """A run as ``raydt run`` makes it: the live view on stderr (unless ``quiet``), Ray's output in the run's log
    file (``logFile``), the result on stdout; returns the exit code. ``result_prefix``: the result as one line
    after it (a Ray Job's entrypoint, whose log ``raydt jobs result`` reads back). ``mode``: the only mode the
    command runs (``raydt predict``): a spec of another mode is a usage error (exit 2), before anything starts."""
    from raydt import experiment
    from raydt.experiment.logs import log_file as log_file_of
    from raydt.progress.quarantine import quarantine

    def emit(doc: dict[str, Any], code: int, stream: TextIO) -> int:
        doc, code = results.finalize_with_code(doc, code)
        text = result_prefix + json.dumps(doc, default=str) if result_prefix else json.dumps(doc, indent=2, default=str)
        stream.write(text + "\n")
        stream.flush()
        return code

    try:
        loaded = loader.load(source)
        if mode is not None and loaded.spec.mode != mode:
            raise _wrong_mode(mode, loaded)
        loaded = experiment.name_unnamed(loaded)  # the log is named after the experiment: explain finds it
        log_file = log_file_of(loaded)
    except RaydtError as err:
        return emit(results.error_result(err), err.exit_code, sys.stdout)
    with quarantine(log_file) as (real_out, err_stream):
        view = ProgressView.open(None if quiet else err_stream)  # a table on a terminal, else the line log
        emitted: list[bool] = []

        def ready(early: dict[str, Any]) -> None:  # a serve run: the JSON goes out once the endpoint answers
            view.finish()  # the table stops redrawing before the JSON reaches a terminal it may share
            emit({**early, "logFile": str(log_file)}, 0, real_out)
            emitted.append(True)

        try:
            view.event(f"spec {loaded.origin}: mode {loaded.spec.mode}; Ray's own output goes to {log_file}")
            result, code = execute(loaded, view, Handoff(ready, str(log_file)))
            result["logFile"] = str(log_file)
            view.event(f"done: {result['status']}")
        finally:  # Ctrl-C or an error too: the terminal gets its cursor back and keeps the last table
            view.finish()
        return code if emitted else emit(result, code, real_out)


def _wrong_mode(mode: str, loaded: loader.LoadedSpec) -> RaydtError:
    from raydt.errors import UsageError

    return UsageError(
        f"raydt {mode} runs specs of mode {mode}; {loaded.origin} has mode {loaded.spec.mode}",
        hint=f"Run it with `raydt run SPEC` (every mode), or set mode: {mode} in the spec.",
    )


def continued_source(spec: SpecSource, experiment_dir: str | Path, *, init_from_best: bool = False) -> dict[str, Any]:
    """``raydt run SPEC --continue-from DIR``: the spec as a new search beside the one in ``experiment_dir``, warm
    started from it (``experiment.continuation``), with its paths resolved; raises ``RaydtError`` when it cannot.
    Validated here, so a refused continuation is an error before anything starts."""
    from raydt import paths
    from raydt.experiment import continuation

    outer, base_dirs, _ = loader.read(spec)
    raw, prefix = loader.unwrap(outer)
    continuation.prepare(raw, experiment_dir, base_dirs, init_from_best)
    absolute = paths.absolute_spec(raw, base_dirs)
    if prefix:
        outer = {**outer, "skill": {**outer["skill"], "context": absolute}}
    else:
        outer = absolute
    loader.validated(outer, base_dirs, str(spec) if not isinstance(spec, dict) else "<dict>")
    return outer


def resume_source(experiment_dir: str | Path) -> dict[str, Any]:
    """The stored spec ``raydt resume DIR`` runs again; raises ``RaydtError`` when there is none."""
    from raydt import experiment

    return experiment.spec_for_resume(experiment_dir)
