"""Registries hold names, code holds behaviour: ``registry.choose`` makes the automatic scheduler/searcher choice
the plan's old ladder made (every branch, and every combination of inputs), and no module outside the registry
decides anything by comparing a scheduler, searcher or framework name."""

from __future__ import annotations

import ast
import itertools
from dataclasses import replace
from pathlib import Path

import pytest

from raydt.registry import DEFAULT_SCHEDULER, FRAMEWORKS, SCHEDULERS, SEARCHERS, SearcherInfo, choose

SRC = Path(__file__).resolve().parents[2] / "src" / "raydt"


def old_ladder(
    scheduler: str | None, searcher: str | None, objectives: int, warm_start: bool, types: set[str]
) -> tuple[str, str, str]:
    """The plan's ladder before the registry's choose(), verbatim (names and all): the reference."""
    sched = scheduler or ("fifo" if objectives > 1 else "asha")
    if searcher:
        algo, reason = searcher, "searchAlgorithm given in the spec"
    elif objectives > 1 or warm_start:
        algo, reason = "optuna", "several objectives or a warm start: an Optuna study takes them"
    elif sched in ("pbt", "pb2"):
        algo, reason = "random", f"'{sched}' explores by mutation: random sampling for the initial population"
    elif "grid" in types:
        algo, reason = "random", "the space has grid values: Ray's variant generator expands the grid"
    elif types & {"normal", "qnormal"}:
        algo, reason = "hyperopt", "the space has normal domains, which Optuna's TPE cannot sample"
    else:
        algo, reason = "optuna", "default: TPE (model-based), never a plain grid"
    if algo == "bohb" and scheduler is None:
        sched = "hyperband"
    return sched, algo, reason


TYPES = [set(), {"uniform"}, {"grid"}, {"normal"}, {"qnormal"}, {"grid", "normal"}, {"choice", "loguniform"}]


def test_choose_agrees_with_the_old_ladder_for_every_combination() -> None:
    schedulers, searchers = [None, *SCHEDULERS], [None, *SEARCHERS]
    for sched, algo, objectives, warm, types in itertools.product(schedulers, searchers, (1, 2), (False, True), TYPES):
        got = choose(sched, algo, objectives=objectives, warm_start=warm, domain_types=types)
        want = old_ladder(sched, algo, objectives, warm, types)
        assert (got.scheduler, got.searcher, got.reason) == want, (sched, algo, objectives, warm, types)


@pytest.mark.parametrize(
    ("given", "want"),
    [  # one row per branch of the ladder: (scheduler, searcher, objectives, warm start, types) -> (sched, algo)
        ((None, "hyperopt", 1, False, {"uniform"}), ("asha", "hyperopt", "searchAlgorithm given")),
        ((None, None, 2, False, {"uniform"}), ("fifo", "optuna", "several objectives")),
        (("median", None, 2, False, {"uniform"}), ("median", "optuna", "several objectives")),
        ((None, None, 1, True, {"grid"}), ("asha", "optuna", "several objectives or a warm start")),
        (("pbt", None, 1, False, {"uniform"}), ("pbt", "random", "'pbt' explores by mutation")),
        (("pb2", None, 1, False, {"normal"}), ("pb2", "random", "'pb2' explores by mutation")),
        ((None, None, 1, False, {"grid"}), ("asha", "random", "the space has grid values")),
        ((None, None, 1, False, {"grid", "normal"}), ("asha", "random", "the space has grid values")),
        ((None, None, 1, False, {"normal"}), ("asha", "hyperopt", "the space has normal domains")),
        (("hyperband", None, 1, False, {"qnormal"}), ("hyperband", "hyperopt", "the space has normal domains")),
        ((None, None, 1, False, {"uniform"}), ("asha", "optuna", "default: TPE")),
        ((None, "bohb", 1, False, {"uniform"}), ("hyperband", "bohb", "searchAlgorithm given")),
        ((None, "bohb", 2, False, {"uniform"}), ("hyperband", "bohb", "searchAlgorithm given")),
        (("asha", "bohb", 1, False, {"uniform"}), ("asha", "bohb", "searchAlgorithm given")),  # refused by validation
    ],
)
def test_each_branch_of_the_choice(given: tuple[object, ...], want: tuple[str, str, str]) -> None:
    sched, algo, objectives, warm, types = given
    got = choose(sched, algo, objectives=objectives, warm_start=warm, domain_types=types)  # type: ignore[arg-type]
    assert (got.scheduler, got.searcher) == want[:2] and got.reason.startswith(want[2]), got


def test_the_choice_reads_flags_not_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows put first with the right flags win their rung: the ladder names no searcher or scheduler."""
    sampler = SearcherInfo("sampler", "m:C", {}, "plain sampling", model_based=False)
    monkeypatch.setattr("raydt.registry.choice.SEARCHERS", {"sampler": sampler, **SEARCHERS})
    assert choose("pbt", None, objectives=1, warm_start=False, domain_types=set()).searcher == "sampler"
    assert choose(None, None, objectives=1, warm_start=False, domain_types={"grid"}).searcher == "sampler"
    studied = replace(SEARCHERS["hyperopt"], name="studied", several_objectives=True, seeded_study=True)
    monkeypatch.setattr("raydt.registry.choice.SEARCHERS", {"studied": studied, **SEARCHERS})
    assert choose(None, None, objectives=2, warm_start=True, domain_types=set()).searcher == "studied"
    unranked = replace(SCHEDULERS["fifo"], name="unranked")
    monkeypatch.setattr("raydt.registry.choice.SCHEDULERS", {"unranked": unranked, **SCHEDULERS})
    assert choose(None, None, objectives=2, warm_start=False, domain_types=set()).scheduler == "unranked"
    assert choose(None, None, objectives=1, warm_start=False, domain_types=set()).scheduler == DEFAULT_SCHEDULER


# -- no name comparisons outside the registry -----------------------------------------------------------------

TUNE_NAMES = set(SCHEDULERS) | set(SEARCHERS)
#: (module, name) pairs allowed a bare scheduler/searcher name outside the registry, each for a reason
TUNE_ALLOWED = {("report/summary.py", "optuna")}  # the report lists the 'optuna' distribution's version
#: (module, name) pairs still comparing a framework name (the plan's and the PyTorch model loop's own check
#: pick raydt's PyTorch loop for trainConfig.model); a new one fails
FRAMEWORK_ALLOWED = {("plan/resolve.py", "pytorch"), ("spec/user_model_checks.py", "pytorch")}


def strings(node: ast.AST) -> list[str]:
    """The string constants of a constant or a literal tuple/list/set of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def name_uses(source: str) -> list[tuple[str, str, int]]:
    """(kind, name, line) of every suspicious use: any bare scheduler/searcher name; a framework name compared
    (==, !=, in, not in); a literal collection (or dict keys) holding two framework names or more."""
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and node.value in TUNE_NAMES:
            found.append(("tune", str(node.value), node.lineno))
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            found += [("framework", v, node.lineno) for side in sides for v in strings(side) if v in FRAMEWORKS]
        keys = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if isinstance(node, ast.Dict | ast.Tuple | ast.List | ast.Set) and keys is not None:
            named = [k.value for k in keys if isinstance(k, ast.Constant) and k.value in FRAMEWORKS]
            if len(named) > 1:
                found.append(("framework list", ",".join(named), node.lineno))
    return found


def test_no_module_outside_the_registry_decides_by_a_name() -> None:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("registry/"):
            continue
        for kind, name, line in name_uses(path.read_text(encoding="utf-8")):
            if kind == "tune" and (rel, name) not in TUNE_ALLOWED:
                bad.append(f"{rel}:{line}: {name!r}")
            own = rel.startswith(f"frameworks/{name}/")  # a framework's package may name itself
            if kind == "framework" and (rel, name) not in FRAMEWORK_ALLOWED and not own:
                bad.append(f"{rel}:{line}: compares {name!r}")
            if kind == "framework list":
                bad.append(f"{rel}:{line}: lists frameworks {name}")
    assert not bad, "read a registry flag or hook instead of naming an entry:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('if p.searcher == "optuna": pass', [("tune", "optuna", 1)]),
        ('x = sched in ("asha", "hyperband")', [("tune", "asha", 1), ("tune", "hyperband", 1)]),
        ('algo = "random"', [("tune", "random", 1)]),
        ('ok = tc.framework != "pytorch"', [("framework", "pytorch", 1)]),
        ('D = {"pytorch": 1, "xgboost": 2}', [("framework list", "pytorch,xgboost", 1)]),
        ('P = ("ray", "tensorflow", "lightgbm")', [("framework list", "tensorflow,lightgbm", 1)]),
        ("msg = f\"'{algo}' runs with its own scheduler\"", []),
        ('kind = "grid" if x else "choice"', []),
    ],
)
def test_the_name_rule_sees_each_form(source: str, expected: list[tuple[str, str, int]]) -> None:
    assert sorted(name_uses(source)) == sorted(expected)
