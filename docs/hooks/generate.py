"""MkDocs hook: the parts of the docs that would drift if written by hand, generated at build time from raydt's
own source. A page asks for one with a placeholder on a line of its own, e.g. ``<!-- raydt:error-codes -->``:

    error-codes       every error code, from the class hierarchy of ``raydt.errors`` (codes, exit codes, docstrings)
    spec-reference    every spec key, from ``raydt schema input`` (``raydt.spec.schemas.input_schema``)
    result-reference  every result key, from ``raydt schema output`` (``raydt.spec.schemas.output_schema``)
    schedulers        ``raydt.registry.SCHEDULERS``
    searchers         ``raydt.registry.SEARCHERS``
    steps             ``raydt.registry.STEPS`` (``dataConfig.preprocess``)

An unknown placeholder, or a source that yields nothing, fails the build. raydt is imported from this
checkout's ``src/`` (no install needed), and only what a generator needs: never Ray or a framework.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"

PLACEHOLDER = re.compile(r"^<!--\s*raydt:([a-z0-9-]+)\s*-->\s*$", re.MULTILINE)
#: An error code: upper-case words joined by underscores (``SPEC_INVALID``, ``INTERNAL``).
CODE = re.compile(r"\b[A-Z][A-Z0-9]{2,}(?:_[A-Z0-9]+)*\b")


class GenerationError(RuntimeError):
    """A generator found nothing to document, or a placeholder names no generator."""


def _use_this_checkout() -> None:
    """Import raydt from this checkout's ``src/`` (MkDocs restores ``sys.path`` after loading a hook, so this runs
    before each generator); a raydt already imported from elsewhere would document other code: refused."""
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    loaded = sys.modules.get("raydt")
    if loaded is not None and loaded.__file__ and not Path(loaded.__file__).resolve().is_relative_to(SRC):
        raise GenerationError(f"raydt is imported from {loaded.__file__}, not from {SRC}")


# ---------------------------------------------------------------------------------------------- cells


def _cell(text: Any) -> str:
    """Text for one table cell: one line, RST literals as Markdown code, ``|`` and HTML escaped outside code."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    for i in range(1, len(parts), 2):
        parts[i] = parts[i].replace("|", "\\|")
    return "`".join(parts)


def _code(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):  # an enum, a class, a set inside a dict, ...: its own words
            text = str(value)
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _first_paragraph(doc: str | None) -> str:
    return inspect.cleandoc(doc or "").split("\n\n")[0]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- error codes


@dataclasses.dataclass
class ErrorCode:
    code: str
    exit_code: int
    classes: list[str]
    meaning: list[str]
    hint: str


def error_codes() -> list[ErrorCode]:
    """One entry per code of ``raydt.errors.ERROR_CODES``, in the hierarchy's order (``errors.error_classes``):
    its class(es), the first paragraph of each docstring, the default hint."""
    _use_this_checkout()
    from raydt import errors

    classes = getattr(errors, "error_classes", lambda: ())()
    if not classes:
        raise GenerationError("raydt.errors has no error_classes(): no error hierarchy to document")
    by_code: dict[str, ErrorCode] = {}
    for cls in classes:
        meaning = _first_paragraph(cls.__doc__)
        entry = by_code.get(cls.code)
        if entry is None:
            by_code[cls.code] = ErrorCode(cls.code, cls.exit_code, [cls.__name__], [meaning], cls.default_hint)
        else:
            entry.classes.append(cls.__name__)
            entry.meaning.append(meaning)
    if set(by_code) != set(errors.ERROR_CODES):
        raise GenerationError(
            f"error_classes() and ERROR_CODES disagree: {sorted(set(by_code) ^ set(errors.ERROR_CODES))}"
        )
    return list(by_code.values())


def error_codes_table() -> str:
    rows = []
    for e in error_codes():
        classes = ", ".join(f"`{c}`" for c in e.classes)
        meaning = (
            e.meaning[0]
            if len(e.meaning) == 1
            else " / ".join(f"{c}: {m}" for c, m in zip(e.classes, e.meaning, strict=True))
        )
        rows.append([f"`{e.code}`", str(e.exit_code), classes, _cell(meaning), _cell(e.hint)])
    return _table(["code", "exit", "class", "meaning", "default hint"], rows)


# ---------------------------------------------------------------------------------------------- JSON Schema


class _SchemaDoc:
    """A JSON Schema as one table per object, each object at its dotted path (``config.resourcesPerWorker``);
    a ``$defs`` entry met again links to where it was first documented (so recursion ends)."""

    def __init__(self, schema: dict[str, Any], prefix: str, *, output: bool = False) -> None:
        self.schema = schema
        self.output = output  # a document raydt writes: "always present" instead of defaults
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self.prefix = prefix
        self.anchor_of_def: dict[str, str] = {}
        self.pending: list[tuple[str, str, dict[str, Any]]] = []  # (path, anchor, node): sections still to write
        self.used_anchors: set[str] = set()

    def anchor(self, path: str) -> str:
        base = self.prefix + "-" + (re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "top")
        anchor, n = base, 1
        while anchor in self.used_anchors:
            n += 1
            anchor = f"{base}-{n}"
        self.used_anchors.add(anchor)
        return anchor

    def deref(self, node: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.rsplit("/", 1)[1]
            return name, self.defs[name]
        return None, node

    def is_section(self, node: dict[str, Any]) -> bool:
        """An object worth a table of its own: named properties, or a map whose values are themselves documented
        (a map of plain values is just ``map of number``)."""
        if node.get("properties"):
            return True
        extra = node.get("additionalProperties")
        if not isinstance(extra, dict) or not extra:
            return False
        return len(extra.get("anyOf") or extra.get("oneOf") or []) > 1 or self.is_section(self.deref(extra)[1])

    def link(self, path: str, node: dict[str, Any]) -> str | None:
        """The anchor documenting ``node`` (queued under ``path`` the first time), or None when it is no section."""
        name, target = self.deref(node)
        if not self.is_section(target):
            return None
        if name is not None:
            if name not in self.anchor_of_def:
                self.anchor_of_def[name] = self.anchor(path)
                self.pending.append((path, self.anchor_of_def[name], target))
            return self.anchor_of_def[name]
        anchor = self.anchor(path)
        self.pending.append((path, anchor, target))
        return anchor

    def type_of(self, path: str, node: dict[str, Any]) -> str:
        name, target = self.deref(node)
        if name is not None:  # a $defs entry (with or without extra keywords beside the $ref): its section
            anchor = self.link(path, node)
            return f"[{name}](#{anchor})" if anchor else self.type_of(path, target)
        for key in ("anyOf", "oneOf"):
            if key in node:
                return " or ".join(dict.fromkeys(self.type_of(path, alt) for alt in node[key]))
        if "const" in node:
            return _code(node["const"])
        if "enum" in node:
            return " or ".join(_code(v) for v in node["enum"])
        if "not" in node:
            return "anything but " + self.type_of(path, node["not"])
        kind = target.get("type")
        if kind == "array":
            items = target.get("items")
            text = "list of " + self.type_of(path + "[]", items) if isinstance(items, dict) and items else "list"
        elif kind == "object" or name is not None or self.is_section(target):
            anchor = self.link(path, node)
            label = name or "object"
            if anchor is not None:
                text = f"[{label}](#{anchor})"
            elif isinstance(target.get("additionalProperties"), dict) and target["additionalProperties"]:
                text = "map of " + self.type_of(path + ".*", target["additionalProperties"])
            else:
                text = "object"
        elif isinstance(kind, list):
            text = " or ".join(kind)
        else:
            text = str(kind or "any")
        return text + self.bounds(node)

    @staticmethod
    def bounds(node: dict[str, Any]) -> str:
        marks = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
        found = [f"{sign} {node[key]}" for key, sign in marks.items() if key in node]
        found += [f"{key} {node[key]}" for key in ("minLength", "maxLength", "minItems", "maxItems") if key in node]
        return f" ({', '.join(found)})" if found else ""

    def description(self, node: dict[str, Any]) -> str:
        if node.get("description"):
            return str(node["description"])
        _, target = self.deref(node)
        if target.get("description"):
            return str(target["description"])
        for key in ("anyOf", "oneOf"):
            for alt in node.get(key, []):
                text = self.description(alt)
                if text:
                    return text
        return ""

    def section(self, path: str, anchor: str, node: dict[str, Any], title: str | None = None) -> str:
        heading = f"### {title or f'`{path}`'} {{#{anchor}}}"
        lead = _cell(node.get("description", ""))
        props: dict[str, Any] = node.get("properties", {})
        required = set(node.get("required", []))
        rows = []
        for key, sub in props.items():
            sub_path = f"{path}.{key}" if path else key
            if self.output:
                default = "always" if key in required else ""
            elif "default" in sub:
                default = _code(sub["default"])
            else:
                default = "required" if key in required else "—"
            rows.append([f"`{key}`", self.type_of(sub_path, sub), default, _cell(self.description(sub))])
        parts = [heading, ""]
        if lead:
            parts += [lead, ""]
        if rows:
            third = "present" if self.output else "default"
            parts.append(_table(["key", "type", third, "description"], rows))
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            alts = extra.get("anyOf") or extra.get("oneOf") or [extra]
            alt_rows = []
            for alt in alts:
                name, target = self.deref(alt)
                props = target.get("properties", {})
                if name is None and props:  # an inline object (a search-space domain): its keys here, no section
                    kind = "object"
                    keys = ", ".join(f"`{k}`: {self.type_of(f'{path}.*.{k}', v)}" for k, v in props.items())
                else:
                    kind = self.type_of(path + ".*", alt)
                    keys = ", ".join(f"`{k}`" for k in props)
                title = alt.get("title") or target.get("title") or name or "—"
                alt_rows.append([_cell(title), kind, keys or "—", _cell(self.description(alt))])
            if rows:
                parts += ["", "Any other key:", ""]
            else:
                parts += ["Each key is a name of your choice; its value is one of:", ""]
            parts.append(_table(["kind", "type", "keys", "description"], alt_rows))
        elif extra is True and not rows:
            parts.append("Any keys.")
        return "\n".join(parts)

    def document(self, path: str, anchor: str, node: dict[str, Any], title: str | None = None) -> list[str]:
        """This object's section, then (depth first) the sections of the objects its keys hold."""
        text = self.section(path, anchor, node, title)
        children, self.pending = self.pending, []
        out = [text]
        for child in children:
            out += self.document(*child)
        return out

    def render(self, title: str) -> str:
        out = self.document("", self.anchor("top"), self.schema, title)
        if len(out) < 2:
            raise GenerationError(f"the {self.prefix} schema documents nothing")
        return "\n\n".join(out)


def spec_reference() -> str:
    _use_this_checkout()
    from raydt.spec.schemas import input_schema

    return _SchemaDoc(input_schema(), "spec").render("The spec (top level)")


def result_reference() -> str:
    _use_this_checkout()
    from raydt.spec.schemas import output_schema

    return _SchemaDoc(output_schema(), "result", output=True).render("The result (top level)")


# ---------------------------------------------------------------------------------------------- registries


def _attributes(entry: Any) -> Iterator[tuple[str, Any]]:
    if dataclasses.is_dataclass(entry):
        for field in dataclasses.fields(entry):
            yield field.name, getattr(entry, field.name)
    else:
        yield from vars(entry).items()


def _value(value: Any) -> str:
    """Any attribute a registry entry may grow, in a few words: lists and sets as their items, a mapping as
    ``key: value`` pairs, a dataclass as its non-empty fields, anything else as itself."""
    if isinstance(value, frozenset | set):
        value = sorted(value, key=str)
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "(" + ", ".join(f"{k} {_value(v)}" for k, v in _attributes(value) if v not in (None, "", ())) + ")"
    return _code(value)


def _option(key: str, option: Any) -> str:
    if isinstance(option, str):
        return f"`{key}`: {_cell(option)}"
    if dataclasses.is_dataclass(option):
        info = [f"{name} {_value(value)}" for name, value in _attributes(option) if value is not None]
        return f"`{key}` ({', '.join(info)})" if info else f"`{key}`"
    return f"`{key}`: {_cell(option)}"


def registry_table(name: str, default: str | None = None) -> str:
    """A table of one ``raydt.registry`` mapping: name, description, options, then every other attribute an
    entry has (flags that are set, non-empty values), whatever fields the entries grow."""
    _use_this_checkout()
    from raydt import registry

    entries: dict[str, Any] = getattr(registry, name, None) or {}
    if not entries:
        raise GenerationError(f"raydt.registry.{name} is missing or empty")
    default_name = getattr(registry, default, None) if default else None
    rows = []
    for key, entry in entries.items():
        attrs = dict(_attributes(entry))
        label = f"`{attrs.pop('name', key)}`" + (" (default)" if key == default_name else "")
        description = _cell(attrs.pop("description", ""))
        options = attrs.pop("options", {}) or {}
        opts = "<br>".join(_option(k, v) for k, v in options.items()) or "—"
        required = attrs.pop("required", None)
        if required:
            opts += "<br>required: " + _value(required)
        more = []
        for attr, value in attrs.items():
            if value is True:
                more.append(f"`{attr}`")
            elif value not in (False, None, "", (), [], {}, frozenset()):
                more.append(f"{attr}: {_value(value)}")
        rows.append([label, description, opts, "<br>".join(more) or "—"])
    return _table(["name", "description", "options", "attributes"], rows)


# ---------------------------------------------------------------------------------------------- the hook

GENERATORS: dict[str, Callable[[], str]] = {
    "error-codes": error_codes_table,
    "spec-reference": spec_reference,
    "result-reference": result_reference,
    "schedulers": lambda: registry_table("SCHEDULERS", "DEFAULT_SCHEDULER"),
    "searchers": lambda: registry_table("SEARCHERS", "DEFAULT_SEARCHER"),
    "steps": lambda: registry_table("STEPS"),
}


def expand(markdown: str, where: str = "<page>") -> str:
    """Every placeholder of ``markdown`` replaced by its generated Markdown."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise GenerationError(f"{where}: unknown placeholder raydt:{name} (known: {', '.join(GENERATORS)})")
        return GENERATORS[name]()

    return PLACEHOLDER.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    from mkdocs.exceptions import PluginError

    try:
        return expand(markdown, page.file.src_path)
    except GenerationError as exc:
        raise PluginError(str(exc)) from exc


def codes_in_errors_module() -> set[str]:
    """Every error code raydt reports (``raydt.errors.ERROR_CODES``): what the error-code table must cover."""
    _use_this_checkout()
    from raydt import errors

    return set(errors.ERROR_CODES)
