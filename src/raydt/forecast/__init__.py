"""``raydt plan SPEC [--address URL | --k8s] [--probe]``: what a train or tune run would do, without running it.

    spec --load--> Plan --target--> the cluster it would use (embedded | address | k8s)
                    |                     |
                    +---------shape-------+  trials, workers, resources, trials at once and why, fits or not
                                          |
                      measure: --probe (one short trial on the target) | the experiment's earlier runs | none
                                          |
                      plan document: target, trial, numTrials, concurrency, fit, estimate, cost

Imports no Ray unless it connects to a running cluster or probes (the probe is a ``raydt run`` child process).
Exit 0 when the run fits its target, 2 (``DOES_NOT_FIT``) when it cannot, with the reason and a hint.
"""

from __future__ import annotations

import os
from typing import Any

from raydt import plan as plans
from raydt import results
from raydt.errors import EXIT_SUCCESS, DoesNotFitError, RaydtError, UsageError
from raydt.forecast import measure, shape, target
from raydt.plan.cost import cost
from raydt.results.plan import PlanInfo

__all__ = ["plan"]


def plan(
    source: Any, *, address: str | None = None, k8s: bool = False, probe: bool = False
) -> tuple[dict[str, Any], int]:
    """(the plan document, exit code); never raises for a usage, spec or cluster problem."""
    try:
        return _plan(source, address, k8s, probe)
    except RaydtError as err:
        return results.error_result(err), err.exit_code
    except Exception as exc:  # a bug of ours: still one JSON document, never a bare traceback
        import traceback

        bug = RaydtError(f"internal error: {type(exc).__name__}: {exc}")
        bug.details = {"traceback": traceback.format_exc().splitlines()[-15:]}
        return results.error_result(bug), bug.exit_code


def _plan(source: Any, address: str | None, k8s: bool, probe: bool) -> tuple[dict[str, Any], int]:
    from raydt.spec import loader

    if k8s and (address or probe):
        flag = "--address" if address else "--probe"
        raise UsageError(
            f"raydt plan: {flag} does not go with --k8s",
            hint="--k8s plans the KubeRay cluster `raydt k8s` would write (it does not run yet): drop one of them.",
        )
    loaded = loader.load(source)
    mode = loaded.spec.mode
    if mode not in ("train", "tune"):
        raise UsageError(
            f"raydt plan plans train and tune runs; this spec has mode {mode}",
            hint="Plan a spec of mode train or tune (`raydt doctor SPEC` checks the others).",
        )
    the_plan = plans.tune(loaded) if mode == "tune" else plans.train(loaded)
    train = the_plan.train if isinstance(the_plan, plans.TunePlan) else the_plan
    where = target.resolve(the_plan, address, k8s)
    found = shape.decide(the_plan, where.status)
    if found.fits:
        found = _framework_memory(found, the_plan)
    estimate = _estimate(loaded, train, found, where, probe)
    info: dict[str, Any] = {
        "target": where.info(),
        "trial": found.trial(),
        "numTrials": found.num_trials,
        "concurrency": found.concurrency(),
        "fit": {"fits": found.fits, "reason": found.why} | ({"hint": found.hint} if found.hint else {}),
        "estimate": estimate,
        "notes": list(found.notes),
    }
    if train.prices is not None:
        seconds = estimate["wallTimeS"]
        priced = cost(train.prices, where.status["numNodes"], found.reserved, seconds or 0.0, spent=False)
        if seconds is None:
            priced = {k: v for k, v in priced.items() if k not in ("estimated", "wallTimeS")}
        info["cost"] = priced
    doc = results.Document(mode=mode, plan=PlanInfo.model_validate(info))
    if found.fits:
        return doc.dump(), EXIT_SUCCESS
    err = DoesNotFitError(f"the run does not fit {where.kind}: {found.why}", hint=found.hint or "")
    return results.error_result(err, mode=mode, plan=doc.dump()["plan"]), err.exit_code


def _framework_memory(found: shape.Shape, the_plan: Any) -> shape.Shape:
    """The framework's own checks before Ray (framework transformers: the memory preflight, which weighs the
    fine-tune against a worker's memory); a fine-tune that cannot fit does not fit."""
    from dataclasses import replace

    from raydt import frameworks
    from raydt.errors import InfeasibleResourcesError

    train = the_plan.train if isinstance(the_plan, plans.TunePlan) else the_plan
    if not train.framework.probe or train.trainer is not None:
        return found
    try:
        frameworks.adapter(train.framework).probe(train.loop_config, getattr(the_plan, "search_space", None))
    except InfeasibleResourcesError as err:
        return replace(found, fits=False, why=err.message, hint=err.hint, memory=f"{found.memory}; {err.message}")
    return replace(found, memory=f"{found.memory}; the {train.framework.name} adapter's checks before Ray passed")


def _estimate(loaded: Any, train: Any, found: shape.Shape, where: target.Target, probe: bool) -> dict[str, Any]:
    if not found.fits:
        return {"wallTimeS": None, "basis": "none", "note": "no estimate: the run does not fit its target"}
    early = " A scheduler that stops trials early ends sooner: this ignores it (an upper bound)."
    if probe:
        from raydt.forecast.probe import PROBE_ITERATIONS
        from raydt.forecast.probe import probe as run_probe

        measured, wall = run_probe(loaded, found.iterations, where.address)
        figures = measure.estimate(measured, found.num_trials, found.at_once, found.iterations)
        ran = f"{PROBE_ITERATIONS} iteration(s)" if found.iterations else "a whole trial (the spec fixes no epochs)"
        note = f"probe: one trial, {ran}, on the target in {wall:.1f}s, extrapolated to {figures['waves']} wave(s)."
        return figures | {"basis": "probe", "note": note + early}
    earlier = measure.from_folder(train.experiment_path) if os.path.isdir(train.experiment_path) else None
    if earlier is not None:
        figures = measure.estimate(earlier, found.num_trials, found.at_once, found.iterations)
        note = f"history: the trials of {train.experiment_path}, extrapolated to {figures['waves']} wave(s)."
        if earlier.startup_s is None:
            note += " Its start-up was not recorded (a run before raydt kept it): left out."
        return figures | {"basis": "history", "note": note + early}
    return {
        "wallTimeS": None,
        "basis": "none",
        "note": "no estimate: give --probe (one short trial on the target), or plan a spec whose experiment "
        "(runConfig.name) has run before.",
    }
