"""Runtime code never imports the validation modules: outside ``raydt/spec/`` only the model and the loader are
imported from the spec package (and the schemas, by the CLI's ``schema`` command alone)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import raydt.spec

SRC = Path(__file__).resolve().parents[2] / "src" / "raydt"

#: What runtime modules may take from ``raydt.spec``: the typed model and the loader (which validates), plus the
#: names the package re-exports from those two.
ALLOWED = {"model", "loader", *raydt.spec.__all__}
#: ``raydt schema input|output`` prints the schemas: only the CLI imports them.
ONLY_FOR = {"schemas": {"raydt.api.runs"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def spec_imports(source: str, module: str) -> list[str]:
    """The parts of ``raydt.spec`` a module's source imports (anywhere in it, function bodies too)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the module's package
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            names = [f"{base}.{alias.name}" for alias in node.names] if base == "raydt.spec" else [base]
        else:
            continue
        found += [name.split(".")[2] for name in names if name.startswith("raydt.spec.")]
    return found


def forbidden(source: str, module: str) -> list[str]:
    return [
        part for part in spec_imports(source, module) if part not in ALLOWED and module not in ONLY_FOR.get(part, ())
    ]


def runtime_modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if (SRC / "spec") not in p.parents)


def test_runtime_code_imports_no_validation_module() -> None:
    bad = {
        module_name(path): found
        for path in runtime_modules()
        if (found := forbidden(path.read_text(encoding="utf-8"), module_name(path)))
    }
    assert not bad, f"runtime modules importing spec validation (move the helper to its own home): {bad}"


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from raydt.spec.checks import closest", "raydt.plan", ["checks"]),
        ("def f():\n    from raydt.spec import tune_checks, model", "raydt.plan", ["tune_checks"]),
        ("import raydt.spec.data_checks", "raydt.data.steps", ["data_checks"]),
        ("from ..spec import space_checks", "raydt.runners.tune", ["space_checks"]),
        ("from raydt.spec import schemas", "raydt.cli", ["schemas"]),
        ("from raydt.spec import schemas", "raydt.api.runs", []),
        ("from raydt.spec.model import Spec\nfrom raydt.spec import LoadedSpec, load", "raydt.api", []),
    ],
)
def test_the_rule_sees_every_import_form(source: str, module: str, expected: list[str]) -> None:
    assert forbidden(source, module) == expected


def unit_imports() -> dict[str, dict[str, set[str]]]:
    """For each top-level unit of the package (a module or package directly under ``raydt/``), the other units it
    imports (every import: module level, in functions, for type checking only) and the modules that do it."""
    found: dict[str, dict[str, set[str]]] = {}
    for path in SRC.rglob("*.py"):
        module = module_name(path)
        if module.count(".") < 1:
            continue
        unit = module.split(".")[1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module] if node.module != "raydt" else [f"raydt.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                if parts[0] == "raydt" and len(parts) > 1 and parts[1] != unit:
                    found.setdefault(unit, {}).setdefault(parts[1], set()).add(module)
    return found


def test_no_two_units_import_each_other() -> None:
    """The flow reads one way (spec -> plan -> runners -> results): no package or top-level module imports one
    that imports it back, not even for type checking or inside a function."""
    edges = unit_imports()
    pairs = sorted(
        f"{a} <-> {b} ({sorted(edges[a][b])} / {sorted(edges[b][a])})"
        for a in edges
        for b in edges[a]
        if a < b and a in edges.get(b, {})
    )
    assert not pairs, pairs


def test_the_top_level_holds_only_what_everything_shares() -> None:
    """About 15 modules at the top (the rest lives in packages named after their concept)."""
    modules = sorted(p.name for p in SRC.glob("*.py"))
    assert len(modules) <= 16, modules


def test_the_pair_rule_sees_imports_in_functions_and_type_checking_blocks(tmp_path: Path) -> None:
    assert {"clusters", "diagnose"} <= set(unit_imports()["api"])  # api imports both inside functions
    assert "plan" in unit_imports()["ray_config"]  # only for type checking


def private_uses(source: str, module: str) -> list[str]:
    """The private names (``_x``) of other raydt modules that ``source`` imports or reads (``mod._x``)."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("raydt"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"from {node.module} import {alias.name}")
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            aliases.update({a.asname or a.name: a.name for a in node.names if a.name.startswith("raydt")})
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
    return found


def test_no_module_reaches_into_another_modules_private_names() -> None:
    """What two modules share is public in one home (e.g. ``trainer_ref``'s code-reference checks, which the
    user-model and Lightning checks both use), never another module's ``_helper``."""
    bad = {module_name(p): f for p in SRC.rglob("*.py") if (f := private_uses(p.read_text("utf-8"), module_name(p)))}
    assert not bad, bad


def test_the_private_rule_sees_both_forms() -> None:
    source = "from raydt.spec import user_model_checks as umc\nfrom raydt.x import _y\numc._definition(1)\n"
    assert private_uses(source, "raydt.spec.lightning_checks") == ["from raydt.x import _y", "umc._definition (line 3)"]
