"""Property: whatever JSON arrives, the loader returns a valid spec or raises SpecError, nothing else."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raydt.errors import SpecError
from raydt.spec import load
from raydt.spec.model import Spec

KEYS = [
    "mode",
    "config",
    "trainConfig",
    "tuneConfig",
    "runConfig",
    "numWorkers",
    "useGpu",
    "resourcesPerWorker",
    "cpu",
    "gpu",
    "trainerPath",
    "framework",
    "epochs",
    "metric",
    "kind",
    "skill",
    "context",
    "name",
    "x",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["train", "tune", "cluster", "pytorch", "min", "skill", "a.py:f"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6))
def test_random_specs_load_or_raise_spec_error(raw: dict[str, Any]) -> None:
    try:
        loaded = load(raw)
    except SpecError as err:
        assert err.issues and all(str(i) for i in err.issues)
        assert err.exit_code == 2
        err.to_dict()  # always serialisable
    else:
        assert isinstance(loaded.spec, Spec)
