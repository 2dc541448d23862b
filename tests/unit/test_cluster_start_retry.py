"""`raydt cluster up` tries a failed `ray start` once more with fresh ports (a port picked free can be taken before
Ray binds it), and only that failure: anything else is raised at once."""

from __future__ import annotations

from typing import Any

import pytest

from raydt.clusters import start
from raydt.errors import RunError


def test_a_failed_ray_start_is_tried_once_more_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def once(options: Any, notes: list[str]) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise RunError("`ray start` failed with exit code 1: address already in use")
        return {"id": "x", "warnings": list(notes)}

    monkeypatch.setattr(start.state, "running", lambda: None)
    monkeypatch.setattr(start, "clear_stale", lambda: None)
    monkeypatch.setattr(start, "_up_once", once)
    out = start.up(object())  # type: ignore[arg-type]
    assert len(calls) == 2 and "started again with fresh ports" in out["warnings"][0]


@pytest.mark.parametrize("message", ["`ray start` failed with exit code 1: again", "`ray` is not installed"])
def test_it_gives_up_after_one_retry_or_at_once_for_other_failures(
    monkeypatch: pytest.MonkeyPatch, message: str
) -> None:
    calls: list[int] = []

    def once(options: Any, notes: list[str]) -> dict[str, Any]:
        calls.append(1)
        raise RunError(message)

    monkeypatch.setattr(start.state, "running", lambda: None)
    monkeypatch.setattr(start, "clear_stale", lambda: None)
    monkeypatch.setattr(start, "_up_once", once)
    with pytest.raises(RunError):
        start.up(object())  # type: ignore[arg-type]
    assert len(calls) == (2 if "ray start" in message else 1)
