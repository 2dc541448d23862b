"""``raydt doctor`` and ``raydt explain``: the environment checked before a run, a failed run explained after.

- ``doctor(spec, address)``: checks (``checks``: name, status ok|warn|fail, found, fix) of this machine, of a
  spec against it, and of a cluster; imports neither Ray nor a framework unless a spec or an address needs them.
- ``explain(path)``: the root causes (``causes``) of a failed or partial run, from its result, logs, trials'
  ``error.txt`` and the trial or train ledger, with evidence (file, line) and a fix, aggregated across trials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raydt import results
from raydt.diagnose.checks import Check, summary
from raydt.errors import EXIT_SUCCESS, UsageError
from raydt.results.diagnosis import Cause


def doctor(spec: str | None = None, address: str | None = None) -> tuple[dict[str, Any], list[Check], int]:
    """(result document with ``checks``, the checks, exit code: 0 ok, 1 a check failed, 2 an unreadable spec)."""
    from raydt.diagnose.doctor import run

    return run(spec, address)


def explain(path: str, sessions: bool = True) -> tuple[dict[str, Any], int]:
    """(result document with ``causes`` and ``sources``, exit code); ``sessions``: also read this machine's Ray
    session logs (False for an extracted bundle)."""
    from raydt.diagnose.postmortems import with_node_state
    from raydt.diagnose.root_causes import causes
    from raydt.diagnose.sources import find

    target = Path(path).expanduser()
    if not target.exists():
        err = UsageError(f"raydt explain: {path} does not exist (give an experiment folder, a log file or a result)")
        return results.error_result(err), err.exit_code
    found = find(target.resolve(), sessions)
    error = (found.result or {}).get("error")
    hints = {str(error["code"]): str(error.get("hint", ""))} if isinstance(error, dict) and "code" in error else {}
    files = [found.result_file, *found.logs, *found.errors.values(), found.ledger, found.train_ledger, *found.nodes]
    read = list(
        dict.fromkeys([str(f) for f in files if f is not None] + sorted({str(p.parent) for p in found.ray_logs}))
    )
    found_causes = with_node_state(causes(found, hints), found.nodes)
    doc = results.Document(causes=[Cause.model_validate(c) for c in found_causes], sources=read)
    if found.experiment is not None:
        doc.experiment_path = str(found.experiment)
    if found.logs:
        doc.log_file = str(found.logs[0])
    if not found_causes:
        doc.warnings = [f"no failure found in the {len(read)} file(s) read"]
    return doc.dump(), EXIT_SUCCESS


__all__ = ["Check", "doctor", "explain", "summary"]
