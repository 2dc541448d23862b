"""``raydt submit`` and ``raydt jobs list | status | logs | stop | result``: Ray's Job Submission API
(``JobSubmissionClient``) does the work; raydt validates first, packs what travels (``package``), follows
the job's log and reads the run's result back from it (``entry.RESULT_MARKER``). Each command returns
(result document, exit code) and never raises: every failure is a ``RaydtError`` turned into JSON."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO, cast

from raydt import results
from raydt.errors import (
    EXIT_SUCCESS,
    JobFailedError,
    JobNoResultError,
    JobNotFoundError,
    JobsError,
    JobStoppedError,
    JobsUnreachableError,
    RaydtError,
)
from raydt.jobs import cluster_fit, connect, package
from raydt.jobs.package import RESULT_MARKER
from raydt.results.outputs import JobRow, JobStatus, Submission

TERMINAL = ("STOPPED", "SUCCEEDED", "FAILED")
STOP_TIMEOUT_S = package.STOP_WAIT_S + 30.0
Outcome = tuple[dict[str, Any], int]


def guarded(action: Callable[[], Outcome]) -> Outcome:
    """Run a command; a ``RaydtError`` becomes its error document and exit code."""
    try:
        return action()
    except RaydtError as err:
        return results.error_result(err), err.exit_code


def _session(address: str | None, token_file: str | None) -> tuple[connect.Target, Any, str]:
    target = connect.resolve(address, token_file)
    ray_version = connect.probe(target)
    return target, connect.client(target), ray_version


def submit(source: Any, opts: package.Options, *, address: str | None, token_file: str | None,
           wait: bool, err: TextIO | None) -> Outcome:  # fmt: skip
    """Validate and pack the spec (nothing is sent when that fails), submit it, and either return at once or
    follow it to its result (Ctrl-C: stop following, the job goes on)."""
    target = connect.resolve(address, token_file)
    pack = package.build(source, opts, target.lasting)
    ray_version = connect.probe(target)
    cluster_fit.check(target, pack.demand)  # what the run there would refuse at its start: before the upload
    client = connect.client(target)
    job_id = _call(target, lambda: client.submit_job(
        entrypoint=pack.entrypoint, submission_id=pack.job_id, runtime_env=pack.runtime_env,
        entrypoint_num_cpus=pack.entrypoint_resources["CPU"], entrypoint_num_gpus=pack.entrypoint_resources["GPU"],
        metadata={"raydt": "submit", "runName": pack.run_name, "mode": pack.mode},
    ))  # fmt: skip
    submission = {**pack.summary, **target.describe(), "clusterRayVersion": ray_version}
    extra = {"jobId": job_id, "address": target.address, "submission": submission}
    warnings = list(pack.warnings) + _version_note(ray_version)
    if not wait:
        pending = results.Document(
            job_id=job_id,
            address=target.address,
            submission=Submission.model_validate(submission),
            job_status="PENDING",
        )
        return _with_warnings(pending.dump(), warnings), EXIT_SUCCESS
    if err is not None:
        err.write(f"[raydt] submitted job {job_id} to {target.address}; following its log (Ctrl-C stops "
                  "following, the job goes on)\n")  # fmt: skip
    try:
        _follow(client, job_id, err)
    except KeyboardInterrupt:
        return _detached(target, job_id, extra, warnings), EXIT_SUCCESS
    doc, code = _result_of(target, client, job_id)
    doc.update(extra)
    return _with_warnings(doc, warnings), code


def _version_note(ray_version: str) -> list[str]:
    import importlib.metadata as md

    try:
        local = md.version("ray")
    except md.PackageNotFoundError:  # pragma: no cover - raydt depends on ray
        return []
    return [] if local == ray_version else [f"the cluster runs Ray {ray_version}, this machine Ray {local}"]


def _detached(target: connect.Target, job_id: str, extra: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    where = f" --address {target.address}"
    note = (f"Ctrl-C: stopped following; job {job_id} goes on. Follow: raydt jobs logs {job_id} --follow{where}; "
            f"result: raydt jobs result {job_id} --wait{where}; stop: raydt jobs stop {job_id}{where}")  # fmt: skip
    doc = results.Document(**{**extra, "jobStatus": "RUNNING", "detached": True})  # extra: camelCase keys
    return _with_warnings(doc.dump(), [*warnings, note])


def _with_warnings(doc: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    merged = list(doc.get("warnings") or []) + warnings
    if merged:
        doc["warnings"] = merged
    return doc


def _call(target: connect.Target, request: Callable[[], Any]) -> Any:
    """One request through Ray's client, its failures as ``JobsError``s."""
    from ray.exceptions import AuthenticationError

    try:
        return request()
    except AuthenticationError:
        raise connect.auth_error(target, 403) from None
    except ConnectionError as exc:
        raise JobsUnreachableError(f"the Ray dashboard at {target.address} went away: {exc}") from None
    except RuntimeError as exc:
        text = str(exc)
        if "404" in text or "does not exist" in text:
            raise JobNotFoundError(f"no such job at {target.address}: {text}",
                                   hint="List the jobs: raydt jobs list --address ...") from None  # fmt: skip
        raise JobsError(f"the Jobs API at {target.address} refused the request: {text}") from None


def _follow(client: Any, job_id: str, err: TextIO | None) -> None:
    """Relay the job's log to ``err`` (without the result line) until the job ends."""
    import asyncio

    async def tail() -> None:
        pending = ""
        async for chunk in client.tail_job_logs(job_id):
            pending += chunk
            *lines, pending = pending.split("\n")
            for line in lines:
                if err is not None and not line.startswith(RESULT_MARKER):
                    err.write(line + "\n")
                    err.flush()
        if err is not None and pending and not pending.startswith(RESULT_MARKER):
            err.write(pending + "\n")

    asyncio.run(tail())
    _wait_terminal(client, job_id, timeout=30.0)


def _wait_terminal(client: Any, job_id: str, timeout: float) -> JobStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = _status_name(client.get_job_status(job_id))
        if status in TERMINAL or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def _result_of(target: connect.Target, client: Any, job_id: str) -> Outcome:
    """The run's own result from a finished job's log; a job that ended without one is an error saying how."""
    info = _call(target, lambda: client.get_job_info(job_id))
    status = _status(info)
    logs = str(_call(target, lambda: client.get_job_logs(job_id)))
    doc = read_result(logs)
    if doc is not None:
        doc["jobStatus"] = status
        return doc, results.exit_code(doc)
    if status not in TERMINAL:
        err: JobsError = JobNoResultError(f"job {job_id} is {status}: it has no result yet",
                                          hint=f"Wait for it: raydt jobs result {job_id} --wait (or follow: "
                                          f"raydt jobs logs {job_id} --follow)")  # fmt: skip
    else:
        why = "was stopped before raydt wrote its result" if status == "STOPPED" else "ended without a result"
        ended = JobStoppedError if status == "STOPPED" else JobFailedError
        err = ended(f"job {job_id} {why} ({status}: {info.message or 'no message'})",
                    hint="Its log (raydt jobs logs JOB) says why: e.g. raydt or a framework missing on the "
                    "cluster (the Python that runs the entrypoint: --python).")  # fmt: skip
    err.details = {"logTail": "\n".join(logs.strip().splitlines()[-15:])}
    return results.error_result(err, jobId=job_id, jobStatus=status, address=target.address), err.exit_code


def read_result(logs: str) -> dict[str, Any] | None:
    """The result document a job's log ends with (the last ``RESULT_MARKER`` line), or None."""
    import json

    for line in reversed(logs.splitlines()):
        if line.startswith(RESULT_MARKER):
            try:
                data = json.loads(line[len(RESULT_MARKER) :])
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def _status(info: Any) -> JobStatus:
    return _status_name(info.status)


def _status_name(status: Any) -> JobStatus:
    return cast(JobStatus, str(status).rsplit(".", 1)[-1])  # Ray's JobStatus names; the result model checks them


def row(info: Any) -> dict[str, Any]:
    """One job as ``jobs list``/``status`` show it (times in seconds since the epoch)."""
    meta = info.metadata or {}
    out: dict[str, Any] = {
        "jobId": info.submission_id or info.job_id, "status": _status(info), "message": info.message,
        "entrypoint": info.entrypoint, "startTime": (info.start_time or 0) / 1000 or None,
        "endTime": (info.end_time or 0) / 1000 or None, "runName": meta.get("runName"), "mode": meta.get("mode"),
    }  # fmt: skip
    return {k: v for k, v in out.items() if v is not None}


def list_jobs(address: str | None, token_file: str | None) -> Outcome:
    target, client, _ = _session(address, token_file)
    rows = [row(info) for info in _call(target, client.list_jobs) if info.submission_id]
    rows.sort(key=lambda r: r.get("startTime", 0))
    return results.Document(address=target.address, jobs=[JobRow.model_validate(r) for r in rows]).dump(), EXIT_SUCCESS


def status(job_id: str, address: str | None, token_file: str | None) -> Outcome:
    target, client, _ = _session(address, token_file)
    info = _call(target, lambda: client.get_job_info(job_id))
    doc = results.Document(
        address=target.address, job_id=job_id, job_status=_status(info), job=JobRow.model_validate(row(info))
    )
    return doc.dump(), EXIT_SUCCESS


def stop(job_id: str, address: str | None, token_file: str | None) -> Outcome:
    """Ask Ray to stop the job (SIGTERM: raydt ends the run and writes a partial result) and wait for it. A job
    that had already ended is left as it was: ``jobStopped: false`` and a warning say that nothing was stopped."""
    target, client, _ = _session(address, token_file)
    stopped = bool(_call(target, lambda: client.stop_job(job_id)))  # Ray: True only if the job was still running
    if stopped:
        final = _wait_terminal(client, job_id, STOP_TIMEOUT_S)
    else:
        final = _status(_call(target, lambda: client.get_job_info(job_id)))
    warnings = [] if stopped else [f"job {job_id} had already ended ({final}): nothing was stopped"]
    doc = results.Document(address=target.address, job_id=job_id, job_status=final, job_stopped=stopped)
    return _with_warnings(doc.dump(), warnings), EXIT_SUCCESS


def result(job_id: str, address: str | None, token_file: str | None, *, wait: bool) -> Outcome:
    target, client, _ = _session(address, token_file)
    _call(target, lambda: client.get_job_info(job_id))
    if wait:
        try:
            _follow(client, job_id, None)
        except KeyboardInterrupt:
            return _detached(target, job_id, {"jobId": job_id, "address": target.address}, []), EXIT_SUCCESS
    doc, code = _result_of(target, client, job_id)
    doc.update({"jobId": job_id, "address": target.address})
    return doc, code


def logs(job_id: str, address: str | None, token_file: str | None, *, follow: bool, out: TextIO) -> None:
    """Write the job's log to ``out`` (``follow``: as it grows, until the job ends or Ctrl-C); raises
    ``RaydtError``s (the caller prints them)."""
    target, client, _ = _session(address, token_file)
    _call(target, lambda: client.get_job_info(job_id))
    if follow:
        try:
            _follow(client, job_id, out)
        except KeyboardInterrupt:
            pass
        return
    text = str(_call(target, lambda: client.get_job_logs(job_id)))
    out.write("".join(line for line in text.splitlines(keepends=True) if not line.startswith(RESULT_MARKER)))
    out.flush()
