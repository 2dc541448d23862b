"""``raydt explain EXPERIMENT_DIR | LOGFILE | RESULT.json``: why a run failed, from its files, across trials.

Each trial (or the run, for a train run) is one unit of failure: every line of its files is matched against
``rules.RULES``; the unit's root cause is the class of highest precedence it shows (an OOM kill also shows as a
dead actor), or its trainer's own exception when none shows. A train run's ledger (``raydt_train.jsonl``) holds
each worker failure's traceback: those after the last report ended the run, earlier ones were restarts. Causes
are then ordered by how many units they ended, then precedence, then how many lines show them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt.diagnose import rules
from raydt.diagnose.sources import MAX_BYTES, RAY_LOG_BYTES, Found, read_lines, tail
from raydt.diagnose.summaries import detail

ANSI = re.compile(r"\x1b\[[0-9;]*m")
MAX_EVIDENCE = 5
RUN = "<run>"
RAY_LOGS = "<ray logs>"  # lines from Ray's session logs: shown as evidence, never what ended a trial or the run
#: traceback frames in these are Ray's, raydt's or Python's, not the trainer's
_LIBRARY = ("site-packages", "/lib/python3", "/raydt/runners/", "/raydt/frameworks/", "<frozen")


@dataclass(frozen=True)
class Hit:
    code: str
    file: str
    line: int
    text: str  # shortened, as printed
    raw: str = field(default="", compare=False)  # the whole line, for the figures a summary reads from it

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "text": self.text}


@dataclass
class Unit:
    """One trial (or the run): the lines that matched, by class, and its last exception line."""

    key: str
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    retries: dict[str, list[Hit]] = field(default_factory=dict)  # failures it was retried after (the ledgers)
    exception: Hit | None = None  # the last exception raised through the user's code (a frame of it came before)
    frame: Hit | None = None  # that traceback's last frame outside Ray and the standard library: the user's code
    other: Hit | None = None  # the last exception line with no frame of the user's code before it (Ray's own)
    pending: Hit | None = field(default=None, repr=False)  # the user's frame of the traceback being read

    def add(self, hit: Hit) -> None:
        self.hits.setdefault(hit.code, []).append(hit)

    def raised(self) -> Hit | None:
        """The exception that ended the unit when no class matched: the user's, else the last one seen."""
        return self.exception or self.other

    def read_line(self, text: str, hit: Hit, forwarded: bool) -> None:
        """Follow a traceback (``text``: the line without the prefix Ray puts on a line it ``forwarded`` from a
        worker): an exception line after a frame of the user's code is the trainer's exception. One after no such
        frame is kept in case nothing else is found, unless Ray forwarded it: its own actors' errors in the log
        (a controller's wrapper, a helper's failed thread) are not the trainer's."""
        if rules.EXCEPTION_LINE.match(text):
            if self.pending is not None:
                self.exception, self.frame = hit, self.pending
            elif not forwarded:
                self.other = hit
            self.pending = None
        elif text.startswith("Traceback (most recent call last)"):
            self.pending = None
        elif text.startswith('File "') and not any(part in text for part in _LIBRARY):
            self.pending = hit

    def primary(self) -> str | None:
        if self.hits:
            return min(self.hits, key=lambda c: _rule(c).precedence)
        return rules.USER_CODE.code if self.raised() is not None else None


def _rule(code: str) -> rules.Rule:
    """The rule of a code; raydt's decisive codes rank first, any other code of raydt's last."""
    if code in rules.DECISIVE:
        return rules.Rule(code, f"failed with {code}", rules.USER_CODE.pattern, "", -1)
    return rules.BY_CODE.get(code, rules.USER_CODE)


def scan(unit: Unit, path: Path, lines: list[str] | None = None, *, first: int = 1, limit: int = MAX_BYTES) -> None:
    """Add every matching line of ``path`` (or of ``lines``, numbered from ``first``) to ``unit``."""
    if lines is None:
        first, lines = tail(path, limit)
    for number, raw in enumerate(lines, start=first):
        text = ANSI.sub("", raw).strip()
        if not text:
            continue
        rule = rules.classify(text)
        if rule is not None:
            unit.add(Hit(rule.code, str(path), number, text[:300], text[:4000]))
        else:
            body = rules.body(text)
            unit.read_line(body, Hit(rules.USER_CODE.code, str(path), number, text[:300]), body != text)


def units_of(found: Found) -> dict[str, Unit]:
    """Every unit of failure the files show: trials (error.txt, the ledger, the result's trial rows) and the run."""
    units: dict[str, Unit] = {}

    def unit(key: str) -> Unit:
        return units.setdefault(key, Unit(key))

    for tid, path in found.errors.items():
        scan(unit(tid), path)
    if found.ledger is not None:
        for number, line in enumerate(read_lines(found.ledger), start=1):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "retry" and event.get("code") in rules.BY_CODE:
                hit = Hit(str(event["code"]), str(found.ledger), number, line.strip()[:300])
                unit(str(event.get("trial"))).retries.setdefault(hit.code, []).append(hit)
    if found.train_ledger is not None:
        _train_ledger(found.train_ledger, unit(RUN))
    if found.result is not None and found.result_file is not None:
        _result_units(found.result, found.result_file, unit)
    for path in found.logs:
        scan(unit(RUN), path)
    for path in found.ray_logs:  # a session may be a lasting cluster's, shared by other runs: evidence only
        scan(unit(RAY_LOGS), path, limit=RAY_LOG_BYTES)
    return units


def _train_ledger(path: Path, run: Unit) -> None:
    """A train run's ledger: each ``worker_error`` event holds every failed rank's exception with its traceback.
    The failures after the run's last report ended it; one followed by a report was recovered from (Ray Train
    restarted the workers from the last checkpoint), a restart counted per class."""
    events: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(read_lines(path), start=1):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append((number, event))
    last_report = max((n for n, e in events if e.get("event") == "report"), default=0)
    for number, event in events:
        errors = event.get("errors") if event.get("event") == "worker_error" else None
        if not isinstance(errors, dict):
            continue
        texts = [str(errors[rank]) for rank in sorted(errors, key=str)]
        if number > last_report:
            _scan_at(run, path, texts, number)
            continue
        failure = Unit(run.key)
        _scan_at(failure, path, texts, number)
        code = failure.primary()
        hits = failure.hits.get(code or "") or []
        shown = hits[0] if hits else failure.raised()
        if code is not None and shown is not None:
            run.retries.setdefault(code, []).append(shown)


def _scan_at(unit: Unit, path: Path, texts: list[str], number: int) -> None:
    """Scan the lines of ``texts`` (one JSON line's strings), each numbered as that line of ``path``."""
    for text in texts:
        for part in text.splitlines():
            scan(unit, path, [part], first=number)


def _result_units(doc: dict[str, Any], path: Path, unit: Any) -> None:
    """The stored result: each failed trial row, and the run's error (its raydt code kept as a cause)."""
    lines = read_lines(path)
    for row in doc.get("trials") or []:
        err = row.get("error") if isinstance(row, dict) else None
        if not err or row.get("trialId") in (None, ""):
            continue
        at = _line_of(lines, str(row["trialId"]), 1)
        head = f"{err.get('class')}: {err['message']}" if err.get("message") else str(err.get("class"))
        texts = [head, *err.get("traceback", [])]
        u = unit(str(row["trialId"]))
        _scan_texts(u, path, lines, texts, at)
        if err.get("code") in rules.BY_CODE:
            u.add(Hit(str(err["code"]), str(path), _line_of(lines, head, at, after=at - 1), head[:300]))
    error = doc.get("error")
    if isinstance(error, dict) and error.get("code"):
        top = next((i for i, ln in enumerate(lines, 1) if ln.startswith('  "error": {')), 0)  # the run's, indented
        at = next((i for i, ln in enumerate(lines, 1) if i > top and '"code":' in ln), 1) if top else 1
        u = unit(RUN)
        u.add(Hit(str(error["code"]), str(path), at, f"{error['code']}: {str(error.get('message'))[:280]}"))
        details = error.get("details") or {}
        tb = details.get("traceback") if isinstance(details, dict) else None
        _scan_texts(u, path, lines, [str(error.get("message", "")), *(tb if isinstance(tb, list) else [])], at)


def _line_of(lines: list[str], text: str, default: int, after: int = 0) -> int:
    """The number of the first line (after line ``after``) that holds ``text`` as JSON writes it."""
    needle = json.dumps(text)[1:-1][:80]
    return next((i for i, ln in enumerate(lines, 1) if i > after and needle in ln), default)


def _scan_texts(unit: Unit, path: Path, lines: list[str], texts: list[str], near: int) -> None:
    """Scan strings of a JSON result, each numbered by the line of the file that holds it."""
    for text in texts:
        for part in str(text).splitlines() or [""]:
            scan(unit, path, [part], first=_line_of(lines, part.strip(), near, after=near - 1))


def causes(found: Found, hints: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The causes, most likely first (``hints``: the stored result's hint for a raydt code no rule knows)."""
    units = units_of(found)
    trials = {k: u for k, u in units.items() if k not in (RUN, RAY_LOGS)}
    total = len(found.trials | set(trials)) or None
    ended: dict[str, set[str]] = {}
    seen: dict[str, list[Hit]] = {}
    retried: dict[str, set[str]] = {}
    trial_failed = any(u.primary() is not None for u in trials.values())
    for key, u in units.items():
        p = u.primary()
        if p is not None and key != RAY_LOGS and (key != RUN or not trial_failed):  # the run: when no trial failed
            ended.setdefault(p, set()).add(key)
        for code, hits in u.hits.items():
            seen.setdefault(code, []).extend(hits)
        for code, hits in u.retries.items():
            seen.setdefault(code, []).extend(hits)
            retried.setdefault(code, set()).add(key)
        if p == rules.USER_CODE.code and key != RAY_LOGS and not u.hits:
            shown = (u.frame, u.exception) if u.exception is not None else (u.other,)
            seen.setdefault(p, []).extend(h for h in shown if h is not None)
    order = sorted(seen, key=lambda c: (-len(ended.get(c, ())), _rule(c).precedence, -len(seen[c])))
    out = []
    for code in order:
        done = ended.get(code, set())
        of = None if not trials or done == {RUN} else total  # a run-level cause has no trial counts
        restarts = len(units[RUN].retries.get(code, [])) if RUN in units else 0
        out.append(_cause(code, seen[code], done, retried.get(code, set()) - {RUN}, restarts, of, hints))
    return out


# One cause's document from its hits and counts: 7 arguments, each a different count or source.
def _cause(
    code: str,
    hits: list[Hit],
    ended: set[str],
    retried: set[str],
    restarts: int,
    total: int | None,
    hints: dict[str, str] | None,
) -> dict[str, Any]:
    """``retried``: the trials retried after it; ``restarts``: how often a train run was restarted after it."""
    rule = _rule(code)
    label = rule.label if code in rules.BY_CODE or code == rules.USER_CODE.code else f"failed with {code}"
    if code == rules.USER_CODE.code:
        bodies = [rules.body(h.text) for h in hits]
        common = Counter(b for b in bodies if not b.startswith('File "')).most_common(1)
        label += f" ({common[0][0]})" if common else ""
    summary, fix = detail(code, label, hits, (len(ended), len(retried), restarts), total, rule.fix)
    if code not in rules.BY_CODE and code != rules.USER_CODE.code:
        fix = (hints or {}).get(code) or fix or "See error.hint in the run's result."
    out: dict[str, Any] = {"code": code, "summary": summary, "fix": fix}
    if total is not None:
        out.update(trials=len(ended), totalTrials=total)
    out["evidence"] = [h.to_dict() for h in pick(hits)]
    return out


def pick(hits: list[Hit]) -> list[Hit]:
    """Up to ``MAX_EVIDENCE`` distinct lines, taken from each file in turn (a cause shown in three files shows
    all three), the files in the order they were read, then by line."""
    by_file: dict[str, list[Hit]] = {}
    for hit in hits:
        by_file.setdefault(hit.file, []).append(hit)
    picked: list[Hit] = []
    queues = [sorted(v, key=lambda h: h.line) for v in by_file.values()]
    while len(picked) < MAX_EVIDENCE and any(queues):
        for queue in queues:
            while queue:
                hit = queue.pop(0)
                if all((p.file, p.text) != (hit.file, hit.text) for p in picked):
                    picked.append(hit)
                    break
            if len(picked) >= MAX_EVIDENCE:
                break
    files = list(by_file)  # in the order the sources were read: trials' files, ledger, result, log, Ray's logs
    return sorted(picked, key=lambda h: (files.index(h.file), h.line))
