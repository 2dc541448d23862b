"""The CLI's log of a run (Ray's own output, the full traceback of a bug):
``<storagePath>/logs/<name>-<time>-<pid>.log``, beside the experiments (``raydt explain`` finds it there)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from raydt.errors import SpecError, SpecIssue
from raydt.experiment import LOGS_DIR
from raydt.spec.loader import LoadedSpec


def log_file(loaded: LoadedSpec) -> Path:
    """The log file of a run of ``loaded`` started now (its folder created); a storage path that cannot be
    written is the spec's error."""
    from raydt.paths import is_remote
    from raydt.plan import DEFAULT_STORAGE, storage_path

    storage = storage_path(loaded.spec)
    if is_remote(storage):  # the log is this process's output: it stays on this machine
        storage = os.path.expanduser(DEFAULT_STORAGE)
    name = loaded.spec.run_config.name or loaded.spec.mode
    directory = Path(storage) / LOGS_DIR
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the spec names a storage path that cannot be written: the spec's fault
        rule = f"cannot create the run's log folder {directory}: {exc.strerror or exc}"
        hint = "Point runConfig.storagePath at a folder you can write (default ~/raydt_results)."
        raise SpecError([SpecIssue("runConfig.storagePath", rule, storage, hint)]) from None
    return directory / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
