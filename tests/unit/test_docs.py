"""The README stays a front page, its links into docs/ resolve, and the docs' generated error-code table covers every
code of raydt.errors.ERROR_CODES. Fast: no MkDocs build here (`make test` runs `mkdocs build --strict`)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _hook() -> ModuleType:
    """docs/hooks/generate.py, loaded as MkDocs loads a hook (it is no package)."""
    name = "raydt_docs_hook"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, DOCS / "hooks" / "generate.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub and MkDocs both make it for plain headings (lower case, punctuation dropped)."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+?)\s*$", text, flags=re.MULTILINE)}


def test_readme_is_a_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 220, f"README.md has {len(lines)} lines: move the detail into docs/"


def test_readme_links_into_docs_resolve() -> None:
    targets = [t for t in LINK.findall(README.read_text(encoding="utf-8")) if t.startswith("docs/")]
    assert targets, "README.md links to no docs page"
    for target in targets:
        path, _, anchor = target.partition("#")
        page = ROOT / path
        assert page.is_file(), f"README.md links to {target}: no such file"
        if anchor:
            assert anchor in _anchors(page), f"README.md links to {target}: {path} has no heading '{anchor}'"


def test_every_docs_page_is_in_the_nav() -> None:
    """mkdocs --strict fails on this too; said here first, in the fast tier."""
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        assert f": {page.name}" in nav, f"docs/{page.name} is missing from mkdocs.yml's nav"


def test_error_code_table_lists_every_code_of_errors_py() -> None:
    hook = _hook()
    table = hook.error_codes_table()
    codes = hook.codes_in_errors_module()
    assert {"SPEC_INVALID", "INTERNAL", "RUN_FAILED"} <= codes
    rows = {m.group(1) for m in re.finditer(r"^\| `([A-Z0-9_]+)` \|", table, flags=re.MULTILINE)}
    assert codes == rows, f"the docs' table and ERROR_CODES differ: {sorted(codes ^ rows)}"
    from raydt import errors

    assert f"| `{errors.SpecError.code}` | {errors.EXIT_SPEC_ERROR} |" in table


def test_an_unknown_placeholder_fails_the_build() -> None:
    hook = _hook()
    try:
        hook.expand("text\n<!-- raydt:no-such-table -->\n", "page.md")
    except hook.GenerationError as exc:
        assert "no-such-table" in str(exc)
    else:
        raise AssertionError("an unknown placeholder was accepted")
