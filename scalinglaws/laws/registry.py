"""The law registry: every law class registers under a name, and :func:`get_law` builds one by name."""

from __future__ import annotations

from typing import Mapping

from ..exceptions import LawError
from .base import Law, Param

__all__ = ["register", "get_law", "available_laws", "law_from_dict"]

_REGISTRY: dict[str, type[Law]] = {}


def _key(name: str) -> str:
    return str(name).strip().lower().replace("_", "-")


def register(cls: type[Law]) -> type[Law]:
    """Class decorator adding a law to the registry under ``cls.name``."""
    if not cls.name:
        raise LawError(f"{cls.__name__} has no name to register under")
    _REGISTRY[_key(cls.name)] = cls
    return cls


def available_laws() -> list[str]:
    """Names of the registered laws, sorted."""
    return sorted(cls.name for cls in _REGISTRY.values())


def get_law(name: str | Law) -> Law:
    """A law by registry name (case- and ``_``/``-``-insensitive); a :class:`Law` is returned as is.

    >>> get_law("chinchilla").formula
    'L = E + A/N^alpha + B/D^beta'
    """
    if isinstance(name, Law):
        return name
    cls = _REGISTRY.get(_key(name))
    if cls is None:
        raise LawError(f"unknown law {name!r}; known laws: {', '.join(available_laws())}")
    return cls()


def law_from_dict(d: Mapping) -> Law:
    """Rebuild a law from :meth:`Law.to_dict` output."""
    law = get_law(d["name"])
    params = tuple(Param.from_dict(p) for p in d["params"])
    if tuple(p.name for p in params) != law.param_names:
        raise LawError(f"law '{law.name}' has parameters {law.param_names}, the record has "
                       f"{tuple(p.name for p in params)}")
    return law.with_params(**{p.name: p for p in params})
