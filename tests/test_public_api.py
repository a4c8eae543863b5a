"""Every public name (each package's ``__all__``) is documented: functions and classes by a docstring of their
own (not one inherited from a base class), constants by a ``#:`` comment above their assignment."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from .helpers import REPO

PACKAGE = REPO / "scalinglaws"
MODULES = ["scalinglaws", "scalinglaws.io", "scalinglaws.laws", "scalinglaws.fitting", "scalinglaws.forecasting",
           "scalinglaws.schedules", "scalinglaws.plot", "scalinglaws.exceptions", "scalinglaws.schema"]


def public_names():
    for name in MODULES:
        module = importlib.import_module(name)
        assert hasattr(module, "__all__"), f"{name} has no __all__"
        for public in module.__all__:
            if not public.startswith("__"):
                yield name, public


def documented_constant(name: str) -> bool:
    """A ``#:`` comment (one or more lines) right above ``NAME = ...`` or ``NAME: type = ...`` in the package."""
    pattern = re.compile(rf"^{re.escape(name)}\s*(:[^=]*)?=", re.M)
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if pattern.match(line):
                return i > 0 and lines[i - 1].lstrip().startswith("#:")
    return False


@pytest.mark.parametrize("module, name", list(public_names()))
def test_public_name_is_documented(module, name):
    value = getattr(importlib.import_module(module), name)
    if inspect.isclass(value):
        doc = value.__dict__.get("__doc__")
    elif callable(value) or inspect.ismodule(value):
        doc = getattr(value, "__doc__", None)
    else:
        assert documented_constant(name), f"{module}.{name}: a constant needs a '#:' comment above it"
        return
    assert doc and len(doc.strip()) >= 20, f"{module}.{name} has no docstring of its own"


def test_all_lists_only_what_exists():
    for module, name in public_names():
        assert hasattr(importlib.import_module(module), name), f"{module}.__all__ names missing {name!r}"


def test_readme_python_names_exist():
    """Every ``sl.<name>`` the README shows is a public name."""
    import scalinglaws as sl

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    used = set(re.findall(r"\bsl\.([A-Za-z_]\w*)", readme))
    assert used, "the README shows no Python API"
    missing = sorted(n for n in used if not hasattr(sl, n))
    assert not missing, f"README uses names scalinglaws does not have: {missing}"
