"""The entrypoint of a job ``raydt submit`` sent: ``python -m raydt.cli.job_entry`` on the cluster.

It runs the spec from ``RAYDT_JOB_SPEC`` exactly as ``raydt run`` does (the live view on stderr, Ray's own
output in the run's log file), and ends with the result document on one line after ``RESULT_MARKER``: the
job's log is the only channel back to the submitter, and ``raydt jobs result`` reads it from there.
SIGTERM (``raydt jobs stop``; Ray waits ``RAY_JOB_STOP_WAIT_TIME_S`` before SIGKILL) is taken as Ctrl-C, so
a stopped run ends as an interrupted one: partial, with what was finished, resumable."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from raydt.jobs.package import RESULT_MARKER, SPEC_ENV


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    from raydt import api, experiment, results
    from raydt.errors import SpecFileError

    signal.signal(signal.SIGTERM, _interrupt)
    experiment.SUBMITTED_JOB["active"] = True
    try:
        spec = json.loads(os.environ[SPEC_ENV])
    except (KeyError, ValueError):
        err = SpecFileError(f"the job carries no readable spec in {SPEC_ENV}", hint="Submit it with raydt submit.")
        doc, code = results.error_result(err), err.exit_code
        sys.stdout.write(RESULT_MARKER + json.dumps(doc) + "\n")
        return code
    return api.run_logged(spec, quiet=False, result_prefix=RESULT_MARKER)


if __name__ == "__main__":  # pragma: no cover - runs on the cluster, as a job's entrypoint
    sys.exit(main())
