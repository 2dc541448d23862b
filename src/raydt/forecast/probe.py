"""``raydt plan --probe``: one trial of the run (or the train run) for its first iterations, for real, on the target.

The spec is copied with its paths made absolute (``paths.absolute_spec``) and cut down: one sample (a grid
search keeps its first point), one trial at a time, ``PROBE_ITERATIONS`` epochs when the spec fixes the epochs
(else the whole trial), no tracking, report or serving, into a temporary experiment folder. It runs as ``raydt
run`` does, in a child process (its stdout holds only its result), timed from start to exit; the folder is
removed afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from raydt import paths
from raydt.errors import RunError
from raydt.forecast.measure import Measured, from_folder
from raydt.spec.loader import LoadedSpec

PROBE_ITERATIONS = 2
#: The most a probe may take (it is a short run; a longer one says the estimate's basis is too long to probe).
PROBE_TIMEOUT_S = 900.0


def probe_spec(loaded: LoadedSpec, storage: str, epochs: int | None, address: str | None) -> dict[str, Any]:
    """The cut-down spec a probe runs (``epochs``: the run's per-trial epochs when the spec fixes them)."""
    spec = paths.absolute_spec(loaded.raw, loaded.base_dirs)
    run = spec.setdefault("runConfig", {})
    for key in ("tracking", "report", "name", "resume"):
        run.pop(key, None)
    run |= {"storagePath": storage, "name": "raydt-plan-probe"}
    spec.pop("serveConfig", None)
    if address is not None:
        spec.setdefault("config", {})["address"] = address
    train = spec.setdefault("trainConfig", {})
    if epochs is not None:
        train["epochs"] = min(epochs, PROBE_ITERATIONS)
    tune = spec.get("tuneConfig")
    if isinstance(tune, dict):
        tune |= {"numSamples": 1, "maxConcurrentTrials": 1}
        for key in ("stopAt", "warmStart", "timeBudgetS"):
            tune.pop(key, None)
        tune["searchSpace"] = _first_grid_point(tune.get("searchSpace") or {})
    return spec


def _first_grid_point(node: Any) -> Any:
    """A search space whose grid domains hold only their first value (one sample is then one trial)."""
    if not isinstance(node, dict):
        return node
    if node.get("type") == "grid" and isinstance(node.get("values"), list) and node["values"]:
        return {**node, "values": node["values"][:1]}
    return {k: _first_grid_point(v) for k, v in node.items()}


def probe(loaded: LoadedSpec, epochs: int | None, address: str | None) -> tuple[Measured, float]:
    """Run the probe; (what it measured, its wall time). Raises ``RunError`` when it did not succeed."""
    folder = Path(tempfile.mkdtemp(prefix="raydt-plan-probe-"))
    try:
        spec_file = folder / "probe.json"
        spec_file.write_text(json.dumps(probe_spec(loaded, str(folder / "results"), epochs, address)))
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "raydt", "run", str(spec_file), "-q"],
                capture_output=True,
                text=True,
                timeout=PROBE_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise RunError(
                f"the probe ran longer than {PROBE_TIMEOUT_S:g}s",
                hint="Plan without --probe (the estimate then comes from earlier runs of the experiment, if any).",
            ) from None
        wall = time.monotonic() - started
        result = _result(proc.stdout)
        if result.get("status") == "error":
            error = result.get("error") or {}
            raise RunError(
                f"the probe run failed: {error.get('code')}: {error.get('message')}",
                hint=str(error.get("hint") or "Run the spec with `raydt run` to see the failure."),
            )
        measured = from_folder(str(result.get("experimentPath") or ""), wall_s=wall)
        if measured is None:
            raise RunError(
                "the probe ran, but its trial reported nothing to time",
                hint="The trainer must report at least once per iteration (ray.train.report / tune.report).",
            )
        return measured, wall
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _result(stdout: str) -> dict[str, Any]:
    try:
        doc = json.loads(stdout)
    except ValueError:
        raise RunError(f"the probe printed no result: {stdout[-300:]!r}") from None
    return doc if isinstance(doc, dict) else {}
