"""The result: one JSON document per run, exactly the seed's output schema plus documented camelCase extras.

    runner (train, tune, cluster, serve) or error --dict--> finalize --Result model--> JSON-ready dict

- ``model``: the typed result (``Result``, ``Results``, ``ClusterStatus``, ``TrialRow``, ``ErrorInfo``, ...),
  the one place every key, its type and its description live.
- ``schema``: ``raydt schema output``, generated from the model.
- ``document``: the empty ``results`` skeleton, error results, exit codes, and ``finalize``, through which
  every document passes once before it leaves raydt (an undocumented key, a wrong type or a stray null
  turns into an INTERNAL error that carries the refused document).
- ``metrics``: finite values, the best report of a run, metrics made JSON-safe.

Imports neither Ray nor an ML framework (``raydt schema output`` reads it).
"""

from raydt.results.document import (
    SPEC_CODES,
    empty_results,
    error_result,
    exit_code,
    finalize,
    finalize_with_code,
    problems,
)
from raydt.results.metrics import best_report, clean_metrics, existing_dir, finite
from raydt.results.model import ERROR, PARTIAL, SUCCESS, Document, Mode, Result, Results
from raydt.results.schema import output_schema

__all__ = [
    "ERROR",
    "PARTIAL",
    "SPEC_CODES",
    "SUCCESS",
    "Document",
    "Mode",
    "Result",
    "Results",
    "best_report",
    "clean_metrics",
    "empty_results",
    "error_result",
    "existing_dir",
    "exit_code",
    "finalize",
    "finalize_with_code",
    "finite",
    "output_schema",
    "problems",
]
