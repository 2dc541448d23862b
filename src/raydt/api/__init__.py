"""The one entry to raydt, for users, the CLI, the MCP server and a Ray Job's entrypoint.

- runs (``api.runs``): ``validate``, ``run``, ``resume``, ``execute`` (result and exit code), ``run_logged`` (as
  ``raydt run`` makes it), ``run_detached``, ``serve_status`` / ``serve_shutdown``, ``schema``;
- bundles (``api.bundles``): ``bundle`` (``raydt bundle DIR``); ``explain`` and ``report`` read a bundle too;
- operations (``api.operations``), each (result document, exit code): ``validate_document``, ``report``,
  ``doctor``, ``explain``, ``plan``, ``submit``, ``job``, ``k8s``, ``cluster``; and the Python forms ``k8s_manifests``,
  ``cluster_up`` / ``cluster_down`` / ``cluster_status``.

Nothing here imports Ray at import time.
"""

from raydt.api.bundles import bundle
from raydt.api.operations import (
    Outcome,
    cluster,
    cluster_down,
    cluster_spec,
    cluster_status,
    cluster_up,
    doctor,
    explain,
    job,
    k8s,
    k8s_manifests,
    plan,
    report,
    submit,
    validate_document,
)
from raydt.api.runs import (
    SpecSource,
    continued_source,
    execute,
    resume,
    resume_source,
    run,
    run_detached,
    run_logged,
    schema,
    serve_shutdown,
    serve_status,
    serve_update,
    validate,
)

__all__ = [
    "Outcome",
    "SpecSource",
    "bundle",
    "cluster",
    "cluster_down",
    "cluster_spec",
    "cluster_status",
    "cluster_up",
    "continued_source",
    "doctor",
    "execute",
    "explain",
    "job",
    "k8s",
    "k8s_manifests",
    "plan",
    "report",
    "resume",
    "resume_source",
    "run",
    "run_detached",
    "run_logged",
    "schema",
    "serve_shutdown",
    "serve_status",
    "serve_update",
    "submit",
    "validate",
    "validate_document",
]
