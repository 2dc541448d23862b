"""The ``raydt`` command: run, validate, schema, cluster, submit, jobs, k8s. One JSON document on stdout,
progress on stderr.

Exit codes: 0 success, 3 partial, 1 error while running, 2 invalid spec or usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TextIO

from raydt import api, cli_cluster, cli_diagnose, cli_jobs, cli_k8s, cli_mcp, cli_report, results
from raydt.errors import EXIT_SUCCESS, RaydtError, SpecError, SpecIssue, UsageError

EXAMPLES = """\
commands:
  run SPEC          run a spec (mode train | tune | cluster | serve) and print the JSON result
                      raydt run examples/train-default.yaml
                      echo '{"mode": "train", "config": {"numWorkers": 2}}' | raydt run -
                      raydt run serve.yaml --detach   (serve: return once the endpoint answers)
  serve status      the running serve runs: alive, answering, replicas by state
  serve shutdown    stop a serve run (--port P when there are several)
  validate SPEC     check a spec without starting Ray; every problem is listed
                      raydt validate examples/train-default.yaml
  schema KIND       print the JSON Schema of the spec (input) or of the result (output)
                      raydt schema input
  resume DIR        continue an interrupted experiment (its experimentPath): finished trials stay
                      raydt resume ~/raydt_results/raydt-tune-20261122-061859
  cluster up        start a lasting local Ray cluster (127.0.0.1, token auth) that raydt run then uses
                      raydt cluster up --cpus 2 --workers 1 --worker-cpus 1
  cluster status    show the Ray cluster's nodes and resources (mode: cluster); plain `cluster` too
                      raydt cluster status --address 127.0.0.1:6379
  cluster down      stop the cluster `cluster up` started (its processes, by pid)
  submit SPEC       submit a spec to a Ray cluster as a Ray Job (validated here first; the code's folder
                    and raydt travel with it); --wait follows it and prints the run's result
                      raydt submit examples/train-default.yaml --address http://127.0.0.1:8265 --wait
  jobs ACTION       list | status JOB | logs JOB [--follow] | stop JOB | result JOB [--wait]
                      raydt jobs logs raydt-train-20261201-101500-ab12-3f2a1c --follow
  report DIR        an experiment's report: one self-contained HTML file (opens offline) and a PNG per figure
                      raydt report ~/raydt_results/raydt-tune-20261122-061859 --out report.html
  doctor [SPEC]     check the environment (and a spec; a cluster with --address); exit 1 when a check fails
                      raydt doctor examples/train-default.yaml --address 127.0.0.1:6379
  explain PATH      why a run failed: root causes with evidence (file, line) and fixes, across trials
                      raydt explain ~/raydt_results/raydt-tune-20261122-061859
  k8s SPEC          write KubeRay YAML for the spec: a ConfigMap (the spec and its code folder) + a RayJob (or
                    --cluster: a RayCluster); --dockerfile DIR writes the build of the --image with raydt in it
                      raydt k8s examples/train-default.yaml --storage s3://bucket/raydt --out job.yaml \
                        --image registry.example.com/ml/raydt:0.1.0 --dockerfile build/
  mcp               serve raydt to AI agents over the Model Context Protocol: stdio, or --http --port P
                    (127.0.0.1); tools validate_spec, run (background, a runId), get_run, cancel_run, ...
  skill             print raydt's agent skill file (SKILL.md)

SPEC is a .json, .yaml or .yml file, or - for stdin. Exit codes: 0 success, 3 partial,
1 error while running, 2 invalid spec or usage.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _registries() -> str:
    from raydt.registry import FRAMEWORKS, SCHEDULERS, SEARCHERS

    lines = ["", "what a spec can name (registries):"]
    for title, table in (("frameworks", FRAMEWORKS), ("schedulers", SCHEDULERS), ("searchers", SEARCHERS)):
        lines.append(f"  {title}:")
        lines += [f"    {name:<11} {info.description}" for name, info in table.items()]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="raydt",
        description="One declarative spec in, distributed training, tuning and cluster status on Ray out.",
        epilog=EXAMPLES + _registries(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser("run", help="run a spec and print the JSON result")
    run.add_argument("spec", help="spec file (.json/.yaml/.yml) or - for stdin")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    run.add_argument(
        "--detach",
        action="store_true",
        help="specs that serve: keep serving in the background (the live view is shown until it serves)",
    )
    srv = sub.add_parser("serve", help="running serve runs: status | shutdown")
    srv.add_argument("action", choices=["status", "shutdown"])
    srv.add_argument("--port", type=int, help="the serve run's port (shutdown: which one)")
    val = sub.add_parser("validate", help="validate a spec without starting Ray")
    val.add_argument("spec", help="spec file (.json/.yaml/.yml) or - for stdin")
    schema = sub.add_parser("schema", help="print a JSON Schema")
    schema.add_argument("kind", choices=["input", "output"], help="input: the spec; output: the result")
    resume = sub.add_parser("resume", help="continue an interrupted experiment")
    resume.add_argument("experiment", help="the experiment directory (experimentPath of a result)")
    resume.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    cli_cluster.add_parser(sub)
    cli_jobs.add_parsers(sub)
    cli_report.add_parser(sub)
    cli_diagnose.add_parser(sub)
    cli_mcp.add_parser(sub)
    cli_k8s.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``raydt`` console script."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        return _emit(results.error_result(err), err.exit_code, sys.stdout)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.version:
        from raydt import __version__

        print(__version__)
        return EXIT_SUCCESS
    if args.command is None:
        build_parser().print_help(sys.stderr)
        return _emit(results.error_result(UsageError("no command given")), 2, sys.stdout)
    if args.command == "schema":
        print(json.dumps(schema_document(args.kind), indent=2))
        return EXIT_SUCCESS
    if args.command == "validate":
        return _validate(args.spec)
    if args.command == "k8s":
        out, code = cli_k8s.command(args)
        if isinstance(out, str):  # the YAML itself
            sys.stdout.write(out)
            return code
        return _emit(out, code, sys.stdout)
    if args.command == "serve":
        return _serve_command(args.action, args.port)
    if args.command == "report":
        return _emit(*cli_report.command(args), sys.stdout)
    if args.command in ("doctor", "explain"):
        return _emit(*cli_diagnose.command(args), sys.stdout)
    if args.command in ("mcp", "skill"):
        failed = cli_mcp.command(args, schema_document)
        return EXIT_SUCCESS if failed is None else _emit(*failed, sys.stdout)
    if args.command in ("submit", "jobs"):
        outcome = cli_jobs.submit(args) if args.command == "submit" else cli_jobs.jobs(args)
        return EXIT_SUCCESS if outcome is None else _emit(*outcome, sys.stdout)
    if args.command == "cluster":
        done = cli_cluster.command(args)
        if done is not None:
            return _emit(*done, sys.stdout)
    if args.command == "run" and args.detach:
        return _detach(args.spec, args.quiet)
    if args.command == "resume":
        from raydt import experiment

        try:
            source: Any = experiment.spec_for_resume(args.experiment)
        except RaydtError as err:
            return _emit(results.error_result(err), err.exit_code, sys.stdout)
    else:
        source = args.spec if args.command == "run" else api.cluster_spec(args.address)
    return run_source(source, quiet=args.quiet)


def schema_document(kind: str) -> dict[str, Any]:
    """``raydt schema KIND``: the spec's JSON Schema (input) or the result's (output); the MCP server's
    get_schema and schema resources print the same."""
    from raydt.spec import schemas

    return schemas.input_schema() if kind == "input" else schemas.output_schema()


def _validate(source: str) -> int:
    try:
        spec = api.validate(source)
    except RaydtError as err:
        return _emit(results.error_result(err), err.exit_code, sys.stdout)
    out = {"status": results.SUCCESS, "results": results.empty_results(), "valid": True, "mode": spec.mode}
    return _emit(out, EXIT_SUCCESS, sys.stdout)


def _detach(source: str, quiet: bool) -> int:
    """Start the run as a background process, relay its live view to stderr (unless ``quiet``) and print
    its JSON once the endpoint answers."""
    doc, code = api.run_detached(source, quiet=quiet, err=sys.stderr)
    return _emit(doc, code, sys.stdout)


def _serve_command(action: str, port: int | None) -> int:
    if action == "status":
        return _emit(api.serve_status(port), EXIT_SUCCESS, sys.stdout)
    doc, code = api.serve_shutdown(port)
    return _emit(doc, code, sys.stdout)


def run_source(source: Any, *, quiet: bool, result_prefix: str = "") -> int:
    """``raydt run``: the live view on stderr (unless ``quiet``), Ray's output in the run's log file, the
    result on stdout. ``result_prefix``: the result as one line after it (a Ray Job's entrypoint, whose
    log is read back by ``raydt jobs result``)."""
    from raydt import experiment
    from raydt.progress import ProgressView
    from raydt.runners import Handoff
    from raydt.spec import loader

    def emit(doc: dict[str, Any], code: int, stream: TextIO) -> int:
        if not result_prefix:
            return _emit(doc, code, stream)
        doc, code = results.finalize_with_code(doc, code)
        stream.write(result_prefix + json.dumps(doc, default=str) + "\n")
        stream.flush()
        return code

    try:
        loaded = experiment.name_unnamed(loader.load(source))  # the log is named after the experiment: explain finds it
        log_file = _log_path(loaded)
    except RaydtError as err:
        return emit(results.error_result(err), err.exit_code, sys.stdout)
    with _quarantine(log_file) as (out, err_stream):
        view = ProgressView.open(None if quiet else err_stream)  # a table on a terminal, else the line log
        emitted: list[bool] = []

        def ready(early: dict[str, Any]) -> None:  # a serve run: the JSON goes out once the endpoint answers
            view.finish()  # the table stops redrawing before the JSON reaches a terminal it may share
            emit({**early, "logFile": str(log_file)}, EXIT_SUCCESS, out)
            emitted.append(True)

        try:
            view.event(f"spec {loaded.origin}: mode {loaded.spec.mode}; Ray's own output goes to {log_file}")
            result, code = api.execute(loaded, view, Handoff(ready, str(log_file)))
            result["logFile"] = str(log_file)
            view.event(f"done: {result['status']}")
        finally:  # Ctrl-C or an error too: the terminal gets its cursor back and keeps the last table
            view.finish()
        return code if emitted else emit(result, code, out)


def _log_path(loaded: Any) -> Path:
    from raydt.paths import is_remote
    from raydt.plan import DEFAULT_STORAGE, storage_path

    storage = storage_path(loaded.spec)
    if is_remote(storage):  # the log is this process's output: it stays on this machine
        storage = os.path.expanduser(DEFAULT_STORAGE)
    name = loaded.spec.run_config.name or loaded.spec.mode
    from raydt.experiment import LOGS_DIR

    directory = Path(storage) / LOGS_DIR
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the spec names a storage path that cannot be written: the spec's fault
        rule = f"cannot create the run's log folder {directory}: {exc.strerror or exc}"
        hint = "Point runConfig.storagePath at a folder you can write (default ~/raydt_results)."
        raise SpecError([SpecIssue("runConfig.storagePath", rule, storage, hint)]) from None
    return directory / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"


@contextmanager
def _quarantine(log_file: Path) -> Iterator[tuple[TextIO, TextIO]]:
    """Send everything written to fds 1 and 2 (Ray, its child processes, libraries) to ``log_file``.

    Yields streams on the real stdout and stderr, for the JSON result and the progress view.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log_fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    out = os.fdopen(os.dup(saved_out), "w", encoding="utf-8")
    err = os.fdopen(os.dup(saved_err), "w", encoding="utf-8")
    try:
        yield out, err
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        out.flush()
        err.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        out.close()
        err.close()


def _emit(result: dict[str, Any], code: int, stream: TextIO) -> int:
    """Print one result document, checked against the result model (a document it refuses is printed as
    the INTERNAL error ``results.finalize`` makes of it, with that error's exit code)."""
    doc, code = results.finalize_with_code(result, code)
    stream.write(json.dumps(doc, indent=2, default=str) + "\n")
    stream.flush()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
