"""The experiment folder: every file raydt writes there, named once, and the two ledgers that record a run.

Layout of ``<storagePath>/<name>/`` (Ray's own files beside them)::

    raydt_spec.json        the spec the run was started with (``stored_spec``): ``raydt resume DIR`` reads it
    raydt_trials.jsonl     a search's trial ledger (``ledger``): starts, reports, failures, stops
    raydt_train.jsonl      a train run's ledger (``ledger``): starts, reports, worker failures
    raydt_user_errors/     a trial's own exception, pickled by its worker (<trial id>.pkl)
    raydt_usage/           what each trial's or training worker's process used (``raydt.utilisation``):
                           <trial id or "train">.<rank>.<pid>.<n>.json, rewritten while it runs (a folder:
                           Tune's restore copies the root's .json files over newer ones, not a folder's)
    report/report.html     ``raydt report`` / ``runConfig.report``
    raydt_mlflow.json      the MLflow run ids, so a resumed run logs into the same runs
    mlflow.db, mlartifacts/ the local MLflow store when no tracking URI is given
    raydt_postmortem/      what ``raydt explain`` needs of each failure, copied when it happened (``postmortem``):
      <trial id|train>-<n>/  error.txt, node.json (memory, disk), postmortem.json (what was copied or not
                             reachable), logs/ (tails of the failing worker's Ray logs)
    raydt_result.json      a saved result document, in a bundle when ``raydt bundle --result`` packed one

and ``<storagePath>/logs/<name>-<time>-<pid>.log``: the CLI's log of each run, beside the experiments. A bundle
(``raydt bundle``) is a .tar.gz of ``<name>/`` and ``logs/<name>-*.log`` with ``raydt_bundle.json`` beside them.
"""

from __future__ import annotations

SPEC_FILE = "raydt_spec.json"
#: Not ".json": Ray Tune copies an experiment's .json/.pkl files to its staging folder on restore and back at
#: every sync, which would put an old copy over the events written since.
LEDGER_FILE = "raydt_trials.jsonl"
TRAIN_LEDGER = "raydt_train.jsonl"
USER_ERRORS_DIR = "raydt_user_errors"
USAGE_DIR = "raydt_usage"
REPORT_DIR, REPORT_FILE = "report", "report.html"
MLFLOW_STATE_FILE = "raydt_mlflow.json"
MLFLOW_DB = "mlflow.db"
MLFLOW_ARTIFACTS = "mlartifacts"
LOGS_DIR = "logs"  # in the storage path, beside the experiments
POSTMORTEM_DIR = "raydt_postmortem"
#: the files of one post-mortem (``<POSTMORTEM_DIR>/<key>-<n>/``) and the most an experiment keeps
POSTMORTEM_ERROR, POSTMORTEM_NODE, POSTMORTEM_INDEX, POSTMORTEM_LOGS = (
    "error.txt",
    "node.json",
    "postmortem.json",
    "logs",
)
MAX_POSTMORTEMS = 20
RESULT_FILE = "raydt_result.json"
BUNDLE_MANIFEST = "raydt_bundle.json"  # beside the experiment folder in a bundle

# the stored spec's functions, read as ``experiment.save_spec`` etc. (imported last: it reads SPEC_FILE above)
from raydt.experiment.stored_spec import (  # noqa: E402
    MAY_DIFFER,
    SUBMITTED_JOB,
    check_new,
    check_same_spec,
    differences,
    name_unnamed,
    save_spec,
    spec_for_resume,
)

__all__ = [
    "BUNDLE_MANIFEST",
    "LEDGER_FILE",
    "LOGS_DIR",
    "MAX_POSTMORTEMS",
    "MAY_DIFFER",
    "MLFLOW_ARTIFACTS",
    "MLFLOW_DB",
    "MLFLOW_STATE_FILE",
    "POSTMORTEM_DIR",
    "POSTMORTEM_ERROR",
    "POSTMORTEM_INDEX",
    "POSTMORTEM_LOGS",
    "POSTMORTEM_NODE",
    "REPORT_DIR",
    "REPORT_FILE",
    "RESULT_FILE",
    "SPEC_FILE",
    "SUBMITTED_JOB",
    "TRAIN_LEDGER",
    "USAGE_DIR",
    "USER_ERRORS_DIR",
    "check_new",
    "check_same_spec",
    "differences",
    "name_unnamed",
    "save_spec",
    "spec_for_resume",
]
