"""One real local Ray per test session for the in-process tests (started through raydt's own code)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def shared_ray() -> Iterator[None]:
    from raydt import ray_session

    with ray_session.connect(None, {"num_cpus": 2}):
        yield
