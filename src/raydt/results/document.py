"""A result document at the edge: the empty ``results`` skeleton, error results, exit codes, and
``finalize``, which validates every document against the model and serialises it, once, before it leaves
raydt (``api.execute`` and the CLI's output)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from raydt.errors import ERROR_CODES, EXIT_PARTIAL, EXIT_RUN_ERROR, EXIT_SPEC_ERROR, EXIT_SUCCESS, RaydtError
from raydt.results.model import ERROR, PARTIAL, SUCCESS, ErrorInfo, Result, Results

#: error codes of an invalid spec, command line or data: exit 2 wherever they are reported
SPEC_CODES = frozenset(code for code, exit_code in ERROR_CODES.items() if exit_code == EXIT_SPEC_ERROR)


def empty_results() -> dict[str, Any]:
    """``results`` of a run that trained nothing (cluster, serve, validate, every error): the seed's counts, 0."""
    return Results.model_validate({"numTrials": 0, "completedTrials": 0}).dump()


def error_result(err: RaydtError, **extra: Any) -> dict[str, Any]:
    """``status: "error"`` with the stable error object; ``results`` stays present (it is required)."""
    out: dict[str, Any] = {"status": ERROR, "results": empty_results(), "error": err.to_dict()}
    out.update({k: v for k, v in extra.items() if v is not None})
    return finalize(out)


def exit_code(result: dict[str, Any]) -> int:
    """The exit code of a result document: 0 success, 3 partial, 2 an invalid spec, command line or data
    (``SPEC_CODES``), 1 any other error."""
    status = result.get("status")
    if status == SUCCESS:
        return EXIT_SUCCESS
    if status == PARTIAL:
        return EXIT_PARTIAL
    error = result.get("error")
    return EXIT_SPEC_ERROR if isinstance(error, dict) and error.get("code") in SPEC_CODES else EXIT_RUN_ERROR


def problems(doc: dict[str, Any]) -> list[str]:
    """What keeps ``doc`` from being a result (``[]``: nothing): each undocumented key, wrong type or null,
    with its dotted path."""
    try:
        Result.model_validate(doc)
    except ValidationError as exc:
        return [f"{'.'.join(str(p) for p in e['loc']) or '<result>'}: {e['msg']}" for e in exc.errors()]
    return []


def finalize(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` validated against the model and serialised (the model's key order; absent keys stay absent).

    A document the model refuses is a bug of raydt's: it becomes an INTERNAL error result that lists the
    problems and carries the refused document whole in ``error.details.result``, so nothing is lost.
    """
    return finalize_with_code(doc, exit_code(doc))[0]


def finalize_with_code(doc: dict[str, Any], code: int) -> tuple[dict[str, Any], int]:
    """``finalize(doc)`` and the exit code to go with it: ``code``, or 1 when the model refused ``doc``."""
    try:
        return Result.model_validate(doc).dump(), code
    except ValidationError:
        found = problems(doc)
    bug = RaydtError(f"internal error: the result does not match raydt's output model: {'; '.join(found[:3])}")
    error = ErrorInfo.model_validate(bug.to_dict()).dump()
    error["details"] = {"problems": found, "result": doc}
    return {"status": ERROR, "results": empty_results(), "error": error}, bug.exit_code
