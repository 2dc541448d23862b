"""The spec: input model, loader, cross-field checks and JSON Schemas. Never imports Ray.

Runtime code (plan, runners, data, serving, the API) imports only ``spec.model`` (the typed sections) and
``spec.loader`` (which validates); the CLI's ``schema`` command also imports ``spec.schemas``. Everything else
here is validation, used by the loader alone: a helper that runtime code needs too has its own home outside
(``raydt.paths``, ``raydt.suggest``, ``raydt.space``, ``raydt.trainer_ref``). ``tests/unit/test_layers.py``
enforces it.
"""

from raydt.spec.loader import LoadedSpec, load
from raydt.spec.model import Spec

__all__ = ["LoadedSpec", "Spec", "load"]
