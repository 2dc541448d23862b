"""The spec: input model, loader, cross-field checks and JSON Schemas. Never imports Ray."""

from raydt.spec.loader import LoadedSpec, load
from raydt.spec.model import Spec

__all__ = ["LoadedSpec", "Spec", "load"]
