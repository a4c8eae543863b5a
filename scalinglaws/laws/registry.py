"""The law registry: laws register under a name, and :func:`get_law` builds one by name.

A registered name stands for a class and its configuration, so one class can serve several names
(``power-N``, ``power-D`` and ``power-C`` are one power-law class with a different input).
"""

from __future__ import annotations

import math
import sys
from typing import Mapping, Sequence

from ..exceptions import LawError
from .base import Law, Param

__all__ = ["register", "get_law", "available_laws", "law_from_dict", "make_law", "catalog", "Catalog"]

_NAMES: dict[str, tuple[type[Law], dict]] = {}
_CLASSES: dict[str, type[Law]] = {}


def _key(name: str) -> str:
    return str(name).strip().lower().replace("_", "-")


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type[Law] | None = None, /, **config):
    """Add a law to the registry under the name its instances carry.

    Use as a class decorator (``@register``) or as ``register(PowerLaw, x="N")`` for a configured variant.
    """

    def add(law_cls: type[Law]) -> type[Law]:
        law = law_cls(**config)
        if not law.name:
            raise LawError(f"{law_cls.__name__} has no name to register under")
        _NAMES[_key(law.name)] = (law_cls, dict(config))
        _CLASSES[_qualified(law_cls)] = law_cls
        return law_cls

    return add(cls) if cls is not None else add


def available_laws() -> list[str]:
    """Names of the registered laws, sorted."""
    return sorted((cls(**config).name for cls, config in _NAMES.values()), key=str.lower)


def get_law(name: str | Law) -> Law:
    """A law by registry name (case- and ``_``/``-``-insensitive); a :class:`Law` is returned as is.

    >>> get_law("chinchilla").formula
    'L = E + A/N^alpha + B/D^beta'
    """
    if isinstance(name, Law):
        return name
    entry = _NAMES.get(_key(name))
    if entry is None:
        raise LawError(f"unknown law {name!r}; known laws: {', '.join(available_laws())}")
    cls, config = entry
    return cls(**config)


def law_from_dict(d: Mapping) -> Law:
    """Rebuild a law from :meth:`Law.to_dict` output.

    Registered classes, and Law subclasses defined in modules already imported (a notebook's own law),
    are rebuilt; nothing is imported on the record's say-so.
    """
    qualified = d.get("class")
    cls = _CLASSES.get(qualified) if qualified else None
    if cls is None and qualified:
        module, _, qualname = qualified.rpartition(".")
        found = getattr(sys.modules.get(module), qualname, None)
        cls = found if isinstance(found, type) and issubclass(found, Law) else None
    if cls is None:
        entry = _NAMES.get(_key(d["name"]))
        if entry is None:
            raise LawError(f"cannot rebuild law {d['name']!r} ({qualified}): it is not registered and its class "
                           "is not loaded; define or import it first, or pass law=... explicitly")
        cls = entry[0]
    config = d.get("config") or {}
    try:
        law = cls(**config)
    except TypeError as err:
        raise LawError(f"cannot rebuild law {d['name']!r} from its configuration ({err}); pass law=... "
                       "explicitly") from None
    params = tuple(Param.from_dict(p) for p in d["params"])
    if tuple(p.name for p in params) != law.param_names:
        raise LawError(f"law '{law.name}' has parameters {law.param_names}, the record has "
                       f"{tuple(p.name for p in params)}")
    return law.with_params(**{p.name: p for p in params})


def make_law(spec: str | Law, *, fix: Mapping[str, float] | None = None, tie: Mapping[str, str] | None = None,
             bounds: Mapping[str, tuple[float, float]] | None = None, grid: Mapping[str, Sequence[float]] | None = None,
             log: Sequence[str] = ()) -> Law:
    """A law by registry name, or from an expression (``"E + A/N**alpha"``) when ``spec`` is no registered name,
    with parameters fixed, tied, bounded, given start grids, or put on a log scale (in that order of application:
    log scale, bounds, grids, fixed values, ties).

    >>> make_law("chinchilla", fix={"alpha": 0.34}, tie={"beta": "alpha"}).param("beta").tie
    'alpha'
    """
    import re

    from .custom import ExpressionLaw

    try:
        law = get_law(spec)
    except LawError:
        if not re.search(r"[-+*/()]", str(spec)):
            raise
        law = ExpressionLaw(str(spec))
    if log:
        law = law.with_params(**{n: {"log": True, "bounds": (0.0, math.inf)} for n in log})
    for name, (lo, hi) in (bounds or {}).items():
        law = law.bound(**{name: (lo, hi)})
    for name, values in (grid or {}).items():
        law = law.with_grid(**{name: values})
    law = law.fix(**dict(fix or {}))
    return law.tie(**dict(tie or {}))


class Catalog:
    """The registered laws, presenting themselves: ``summary()`` describes each, ``tables()`` lists them."""

    def __init__(self, laws: Sequence[Law]):
        self.laws = tuple(laws)

    def summary(self) -> str:
        """Each law's :meth:`~scalinglaws.laws.base.Law.describe`, one after the other."""
        return "\n\n".join(law.describe() for law in self.laws)

    def tables(self) -> dict:
        """``laws``: name, formula, inputs, parameters, capabilities and reference of each law."""
        import pandas as pd

        rows = []
        for law in self.laws:
            c = law.capabilities
            rows.append({"name": law.name, "formula": law.formula, "inputs": ", ".join(law.inputs),
                         "parameters": ", ".join(law.param_names), "curve": c.curve,
                         "allocation": c.allocation or "", "reference": law.reference})
        return {"laws": pd.DataFrame(rows)}


def catalog() -> Catalog:
    """Every registered law, sorted by name, as a :class:`Catalog`."""
    return Catalog([get_law(name) for name in available_laws()])
