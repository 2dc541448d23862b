"""``raydt doctor [--address ADDR] [SPEC]``: can this environment run Ray (and this spec)?

Without a spec or an address nothing heavy is imported and no Ray is started: versions come from package
metadata, the torch build from its ``version.py``. A spec adds what it needs (its modules imported in a child
process, storage, memory, the serve port, whether its workers fit) and every check ``raydt run`` makes before
it trains (``runners.preflights``: the experiment rule, MLflow, the trainer's code, the search's seed); an
address (``--address``, the spec's ``config.address``, ``RAY_ADDRESS`` or the running ``raydt cluster up``
cluster) adds the cluster's checks.
"""

from __future__ import annotations

from typing import Any

from raydt import results
from raydt.diagnose import spec_checks as sc
from raydt.diagnose.checks import Check, fail, ok
from raydt.diagnose.host import host_checks, meminfo
from raydt.errors import EXIT_RUN_ERROR, EXIT_SUCCESS, NotReadyError, RaydtError
from raydt.results.diagnosis import Check as CheckRow


def run(source: str | None, address: str | None) -> tuple[dict[str, Any], list[Check], int]:
    """(result document, the checks, exit code): 0 when nothing failed, 1 when a check failed, 2 for a spec
    that cannot be read or is invalid (the host checks are still in the document)."""
    checks = host_checks()
    loaded = None
    if source is not None:
        from raydt.spec import loader

        try:
            loaded = loader.load(source)
        except RaydtError as err:
            checks.append(fail("spec", err.message, err.hint))
            return results.error_result(err, checks=[c.to_dict() for c in checks]), checks, err.exit_code
        checks.append(ok("spec", f"{loaded.origin}: valid, mode {loaded.spec.mode}"))
        checks += _spec_checks(loaded, address)
    elif address is not None:
        from raydt.diagnose.cluster import cluster_checks

        checks += cluster_checks(address, None, {})
    return _document(checks)


def _spec_checks(loaded: Any, address: str | None) -> list[Check]:
    from raydt import plan as plans

    spec = loaded.spec
    plan = plans.train(loaded) if spec.mode in ("train", "tune") else None
    checks: list[Check] = []
    needed = sc.needed_modules(loaded, plan)
    probe = sc.import_probe(list(needed))
    checks += sc.extras_checks(needed, probe, bool(plan and plan.workers.use_gpu))
    raw = spec.run_config.storage_path
    # a URI as written (paths resolve file:// as a local path); else the resolved folder
    storage = raw if raw and "://" in raw else plan.storage_path if plan else plans.storage_path(spec)
    checks.append(sc.storage_check(storage))
    if plan is not None:
        checks += _preflight_checks(loaded)
    if spec.serve_config is not None:
        checks.append(sc.port_check(spec.serve_config.host, spec.serve_config.port))
    target = address or plans.address(loaded)
    if target is not None and target != "local":
        from raydt.diagnose.cluster import cluster_checks

        bits = {
            "storage": storage,
            "shared": spec.run_config.shared_storage,
            "useGpu": bool(plan and plan.workers.use_gpu),
            "pendingTimeoutS": spec.run_config.pending_timeout_s,
            "modules": {m: row.get("version") if row.get("ok") else None for m, row in probe.items()},
        }
        checks += cluster_checks(target, plan.workers if plan else None, bits)
    elif plan is not None:
        copies = 1
        if spec.mode == "tune" and spec.tune_config is not None:
            copies = spec.tune_config.max_concurrent_trials or 1
        checks.append(sc.local_fit_check(plan.workers, plan.ray_init))
        checks.append(sc.memory_check(plan.workers, copies, meminfo().get("MemAvailable", 0), "this machine"))
    return checks


def _preflight_checks(loaded: Any) -> list[Check]:
    """The checks ``raydt run`` makes before it trains (``runners.preflights``: the same code), one row each."""
    from raydt import plan as plans
    from raydt.runners import preflights

    if loaded.spec.mode == "tune":
        tp = plans.tune(loaded)
        steps = [*preflights.search(tp), *preflights.training(loaded, tp.train, tp.search_space)]
        steps += preflights.connection(tp.train)
    else:
        p = plans.train(loaded)
        steps = [*preflights.training(loaded, p), *preflights.connection(p)]
    rows = []
    for step in steps:
        try:
            rows.append(ok(step.name, step.run()))
        except RaydtError as err:
            rows.append(fail(step.name, err.message, err.hint))
        except Exception as exc:  # noqa: BLE001 - the user's code or a library: the run would fail on it too
            rows.append(fail(step.name, f"{type(exc).__name__}: {exc}"[:500], "Fix what the message names."))
    return rows


def _document(checks: list[Check]) -> tuple[dict[str, Any], list[Check], int]:
    rows = [c.to_dict() for c in checks]
    failed = [c.name for c in checks if c.status == "fail"]
    if failed:
        err = NotReadyError(f"{len(failed)} check(s) failed: {', '.join(failed)}")
        return results.error_result(err, checks=rows), checks, EXIT_RUN_ERROR
    doc = results.Document(checks=[CheckRow.model_validate(r) for r in rows]).dump()
    warned = [f"{c.name}: {c.found}" for c in checks if c.status == "warn"]
    if warned:
        doc["warnings"] = warned
    return doc, checks, EXIT_SUCCESS
