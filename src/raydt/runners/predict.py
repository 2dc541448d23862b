"""``mode: predict``: a dataset scored with a trained model on Ray Data (``map_batches`` with the model loaded once
per actor of a pool), written by Ray Data's writer into a staging folder that takes the output's place at the end.

Ray's own guidance for batch inference: Ray Data, never Ray Core tasks or a Serve endpoint called in a loop.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

from raydt import plan, ray_session
from raydt.errors import DataError, InfeasibleResourcesError, RaydtError, SpecIssue, UserCodeError
from raydt.predict import output
from raydt.predict.batch import BadRowsError, ScoreOptions, Scorer
from raydt.progress import ProgressView
from raydt.results import Document, Results
from raydt.results.model import ClusterStatus
from raydt.results.outputs import PredictOutput
from raydt.spec.loader import LoadedSpec
from raydt.spec.model import DataSource

#: seconds between two live-view lines of a predict run
PROGRESS_EVERY_S = 2.0


def run(loaded: LoadedSpec, view: ProgressView) -> dict[str, Any]:
    p = plan.predict(loaded)
    from raydt.serving.loading import model_checkpoint

    checkpoint = model_checkpoint(loaded, p.checkpoint_path, p.experiment_path, view.event)  # as serve picks it
    view.event(f"predict: scoring with {checkpoint}")
    view.event(f"connecting to {ray_session.describe(p.address)}")
    # no dashboard and no Ray Train settings: a predict run starts no trainer, and its workers start sooner
    with ray_session.connect(p.address, p.ray_init, dashboard=False, warm=("ray.data", "pandas"), train=False):
        status = ray_session.cluster_status(loaded.spec.config.autoscaling)
        status.update(ray_session.connection())
        actors, notes = pool_size(p, status)
        for note in notes:
            view.event(note)
        counts, elapsed, files = _score(dataclasses.replace(p, concurrency=actors), checkpoint, view)
    rows_out, bad = counts
    found = Results(
        num_trials=0,
        completed_trials=0,
        rows_in=rows_out + bad,
        rows_out=rows_out,
        bad_rows=bad,
        rows_per_second=round((rows_out + bad) / elapsed, 1) if elapsed > 0 else 0.0,
    )
    doc = Document(
        mode="predict",
        results=found,
        checkpoint_path=checkpoint,
        output=PredictOutput.model_validate({"path": p.output_path, "format": p.output_format, "files": files}),
        cluster_status=ClusterStatus.model_validate(status),
    )
    if bad:
        notes.append(f"{bad} row(s) could not be scored and were skipped (predictConfig.onBadRows: skip)")
    doc.warnings = notes
    view.event(f"predict: {rows_out} row(s) written to {p.output_path} in {elapsed:.1f}s")
    return doc.dump()


def pool_size(p: plan.PredictPlan, status: dict[str, Any]) -> tuple[int, list[str]]:
    """The actors to start, and why fewer than asked: the pool leaves one CPU to Ray Data's read and write tasks.
    Without it they wait on each other for ever (measured: 2 one-CPU actors on a 2-CPU machine never wrote a row,
    the writer backpressured on its resource budget). An autoscaling cluster adds nodes: the spec's count stands."""
    cpu = p.actor_resources.get("CPU", 1.0)
    total = float(status.get("totalCpu") or 0.0)
    if status.get("autoscaler") or cpu <= 0 or total <= 0:
        return p.concurrency, []
    fit = math.floor((total - 1.0) / cpu + 1e-9)
    if fit >= p.concurrency:
        return p.concurrency, []
    if fit < 1:
        raise InfeasibleResourcesError(
            f"a predict actor takes {cpu:g} CPU of the cluster's {total:g}: none would be left for Ray Data's "
            "read and write tasks, and the run would wait for ever",
            hint=f"Give config.resourcesPerWorker.cpu at most {total - 1.0:g}, or run on a bigger cluster.",
        )
    return fit, [
        f"predict: {fit} actor(s) instead of {p.concurrency} ({cpu:g} CPU each on {total:g} CPUs): one CPU stays "
        "free for Ray Data's read and write tasks"
    ]


def _score(p: plan.PredictPlan, checkpoint: str, view: ProgressView) -> tuple[tuple[int, int], float, list[str]]:
    """Read, check the columns, score on the actor pool and write: ((rows out, bad rows), seconds, files)."""
    import ray.data

    from raydt.data.pipeline import read

    start = time.monotonic()  # rowsPerSecond: from the first read to the output in place
    source = DataSource.model_validate({"format": p.data_format, "paths": p.data_paths})
    ds = read(source, "predictConfig.data", ())
    names = list(ds.schema().names)
    check_columns(p, checkpoint, names)
    counter = _counter()
    opts = ScoreOptions(
        checkpoint=checkpoint,
        predictor_path=p.predictor,
        input_columns=p.features,
        keep_columns=list(p.keep_columns),
        probabilities=p.probabilities,
        generation=p.generation,
        skip_bad_rows=p.on_bad_rows == "skip",
        probabilities_as_text=p.output_format == "csv",
        counter=counter,
    )
    scored = ds.map_batches(
        Scorer,
        fn_constructor_kwargs={"options": opts},
        batch_size=p.batch_size,
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=p.concurrency),
        **_actor_resources(p.actor_resources),
    )
    total = parquet_rows(p.data_paths) if p.data_format == "parquet" else None
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(counter, total, start, stop, view), daemon=True)
    watcher.start()
    staging = output.staging_for(p.output_path)
    try:
        output.write(scored, p.output_path, p.output_format)
        files = output.publish(staging, p.output_path, p.overwrite)
    except BaseException as exc:  # Ctrl-C too: nothing half-written stays beside the output
        output.discard(staging, p.output_path)
        if not isinstance(exc, Exception):
            raise
        raise _explained(exc) from None
    finally:
        stop.set()
        watcher.join(timeout=5)
    done, bad = ray.get(counter.get.remote())
    return (done, bad), time.monotonic() - start, files


def parquet_rows(data_paths: list[str]) -> int | None:
    """The rows of local Parquet files, from their footers (no read): the live view's total and ETA. None for
    URIs, or anything pyarrow cannot open (the run itself says what is wrong with the data)."""
    from raydt.paths import expand, is_remote

    if any(is_remote(path) for path in data_paths):
        return None
    try:
        import pyarrow.parquet as pq

        files = [str(f) for path in expand(data_paths) for f in _parquet_files(path)]
        return int(sum(pq.ParquetFile(f).metadata.num_rows for f in files))
    except Exception:  # noqa: BLE001 - the total is for the live view only
        return None


def _parquet_files(path: str) -> list[Path]:
    found = Path(path)
    return sorted(found.rglob("*.parquet")) if found.is_dir() else [found]


def _actor_resources(resources: dict[str, float]) -> dict[str, Any]:
    """``config.resourcesPerWorker`` as ``map_batches``' per-actor arguments."""
    out: dict[str, Any] = {"num_cpus": resources.get("CPU", 1.0), "num_gpus": resources.get("GPU", 0.0)}
    if resources.get("memory"):
        out["memory"] = resources["memory"]
    custom = {k: v for k, v in resources.items() if k not in ("CPU", "GPU", "memory")}
    return {**out, "resources": custom} if custom else out


def check_columns(p: plan.PredictPlan, checkpoint: str, names: list[str]) -> None:
    """Before the pool starts: the kept columns, the given features, and (for a checkpoint trained with
    dataConfig) the raw columns its saved preprocessing needs must be columns of the data."""
    from raydt.frameworks.checkpoint_format import read_meta

    issues = []
    for where, wanted in (("predictConfig.keepColumns", p.keep_columns), ("predictConfig.data.features", p.features)):
        missing = [c for c in wanted or [] if c not in names]
        if missing:
            issues.append(SpecIssue(where, f"not columns of the data: {', '.join(missing)}", missing, _columns(names)))
    meta = read_meta(checkpoint) or {}
    if meta.get("task") == "generation" and not p.features:  # a language model reads its prompt from one column
        from raydt.predict.batch import PROMPT_COLUMNS

        if not set(PROMPT_COLUMNS) & set(names):
            hint = "Name the prompt column with predictConfig.data.features: [column]."
            rule = f"has none of the prompt columns {', '.join(PROMPT_COLUMNS)}"
            issues.append(SpecIssue("predictConfig.data", rule, names, hint))
    pipeline_file = meta.get("preprocessing", {}).get("pipeline")
    raw = (meta.get("data") or {}).get("rawColumns") or []
    if pipeline_file and raw and not p.predictor:  # the saved preprocessing reads these (some it drops)
        from raydt.data.pipeline import Pipeline

        unused = set(Pipeline.load(os.path.join(checkpoint, pipeline_file)).unused())
        missing = [c for c in raw if c not in names and c not in unused]
        if missing:
            rule = f"lacks column(s) the model was trained on: {', '.join(missing)}"
            issues.append(SpecIssue("predictConfig.data", rule, missing, _columns(names)))
    if issues:
        raise DataError(issues)


def _columns(names: list[str]) -> str:
    return f"The data's columns: {', '.join(names)}."


def _explained(exc: BaseException) -> BaseException:
    """A failure inside the pool as raydt's error: bad rows are the data's, any other exception the model's."""
    if isinstance(exc, RaydtError):
        return exc
    text = str(exc)
    marker = BadRowsError.__name__
    if marker in text:
        message = text.split(f"{marker}: ", 1)[-1].strip().splitlines()[0]
        hint = "Fix or drop those rows, or set predictConfig.onBadRows: skip to count and skip them."
        return DataError([SpecIssue("predictConfig.data", message, None, hint)])
    last = text.strip().splitlines()[-1] if text.strip() else type(exc).__name__
    return UserCodeError(f"scoring failed: {last}", hint="See the run's log file for the whole traceback.")


def _counter() -> Any:
    """A Ray actor the scorers tell how many rows they scored and skipped (the live view reads it)."""
    import ray

    @ray.remote(num_cpus=0)
    class Counter:
        def __init__(self) -> None:
            self.done = self.bad = 0

        def add(self, done: int, bad: int) -> None:
            self.done += done
            self.bad += bad

        def get(self) -> tuple[int, int]:
            return self.done, self.bad

    return Counter.remote()  # type: ignore[attr-defined]


def _watch(counter: Any, total: int | None, start: float, stop: threading.Event, view: ProgressView) -> None:
    """Rows done (of the total when known), rows/s and the ETA, every few seconds while the pool runs."""
    import ray

    while not stop.wait(PROGRESS_EVERY_S):
        try:
            done, bad = ray.get(counter.get.remote(), timeout=PROGRESS_EVERY_S)
        except Exception:  # noqa: BLE001 - the live view is best effort
            continue
        rate = (done + bad) / max(time.monotonic() - start, 1e-6)
        of = f"/{total}" if total else ""
        eta = f", ETA {max(total - done - bad, 0) / rate:.0f}s" if total and rate > 0 else ""
        view.event(f"predict: {done + bad}{of} rows ({bad} bad), {rate:.0f} rows/s{eta}")
