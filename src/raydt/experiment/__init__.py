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

and ``<storagePath>/logs/<name>-<time>-<pid>.log``: the CLI's log of each run, beside the experiments.
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
    "LEDGER_FILE",
    "LOGS_DIR",
    "MAY_DIFFER",
    "MLFLOW_ARTIFACTS",
    "MLFLOW_DB",
    "MLFLOW_STATE_FILE",
    "REPORT_DIR",
    "REPORT_FILE",
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
