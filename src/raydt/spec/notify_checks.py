"""Rules of ``runConfig.notify``: the modes that end with a message, ``newBest`` only where there is a metric,
Apprise installed, and every URL one Apprise can read. Never imports Ray; imports Apprise only for a spec with
``runConfig.notify`` (reading a URL loads Apprise's plugin table: about 0.2 s, once)."""

from __future__ import annotations

import importlib.util
from typing import Any

from raydt.errors import SpecIssue
from raydt.spec.model import NotifySpec, Spec
from raydt.spec.waiting import Waiting

AT = "runConfig.notify"
#: modes whose run ends on its own with a result: finished / failed mean something there
MODES = ("train", "tune", "predict")
#: modes with a metric to improve
BEST_MODES = ("train", "tune")
INSTALL = "pip install 'ray-distributed-trainer[notify]' (or pip install apprise)."
URL_HINT = (
    "An Apprise URL, e.g. json://host:port/path (a JSON webhook), slack://TOKEN_A/TOKEN_B/TOKEN_C, "
    "mailto://user:password@host, ntfy://topic; every service: https://github.com/caronc/apprise/wiki."
)


def check(spec: Spec, wait: Waiting) -> list[SpecIssue]:
    """Every problem of ``runConfig.notify`` (nothing without it)."""
    targets = spec.run_config.notify
    if not targets:
        return []
    if spec.mode not in MODES and not wait.waits(AT, "mode"):
        rule = f"applies to modes {', '.join(MODES)} (mode is '{spec.mode}')"
        hint = "Drop runConfig.notify: a serve run does not end on its own, a cluster run trains nothing."
        return [SpecIssue(AT, rule, spec.mode, hint)]
    issues: list[SpecIssue] = []
    if spec.mode not in BEST_MODES and not wait.waits(AT, "mode"):
        for i, target in enumerate(targets):
            if "newBest" in target.on and not wait.dropped(f"{AT}[{i}].on"):
                hint = f"Drop 'newBest': a {spec.mode} run has no metric to improve."
                issues.append(SpecIssue(f"{AT}[{i}].on", "'newBest' applies to modes train and tune", target.on, hint))
    if importlib.util.find_spec("apprise") is None:
        return [*issues, SpecIssue(AT, "needs the 'apprise' package, which is not installed", None, INSTALL)]
    return issues + _check_urls(targets, wait)


def _check_urls(targets: list[NotifySpec], wait: Waiting) -> list[SpecIssue]:
    """Each URL parsed by Apprise itself (no message is sent): an unknown scheme, a missing token, ..."""
    import apprise

    issues: list[SpecIssue] = []
    for i, target in enumerate(targets):
        at = f"{AT}[{i}].url"
        if wait.dropped(at):
            continue
        if _instance(apprise, target.url) is not None:  # also a service's own https:// webhook address
            continue
        scheme = target.url.partition("://")[0].lower() if "://" in target.url else ""
        if not scheme:
            rule = "is not a URL (no scheme://)"
        elif scheme in ("http", "https"):
            rule = (f"is not a service's own {scheme}:// webhook address Apprise knows; for a plain JSON webhook "
                    f"write json{'s' if scheme == 'https' else ''}://host:port/path")  # fmt: skip
        elif scheme not in _schemes(apprise):
            rule = f"scheme '{scheme}' is not one Apprise knows"
        else:
            rule = f"is not a {scheme}:// URL Apprise can read (a token, a host or a path is missing or malformed)"
        issues.append(SpecIssue(at, rule, target.shown(), URL_HINT))
    return issues


def _schemes(apprise: Any) -> set[str]:
    return {str(s).lower() for s in apprise.NotificationManager().schemas()}


def _instance(apprise: Any, url: str) -> Any:
    try:
        return apprise.Apprise.instantiate(url)
    except Exception:  # noqa: BLE001 - whatever Apprise raises on a malformed URL, it cannot send to it
        return None
