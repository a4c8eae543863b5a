"""The architecture, enforced: import-linter contracts over the package (function-level imports count; the
contracts are in pyproject.toml), and no module hidden behind a function of the same name."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import shutil
import subprocess
import sys

import pytest

from .helpers import REPO


def _lint(root) -> subprocess.CompletedProcess:
    """import-linter's contracts (pyproject.toml in ``root``) over the package in ``root``."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_import_contracts_hold():
    pytest.importorskip("importlinter", reason="import-linter comes with the dev extra")
    done = _lint(REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Contracts: 6 kept, 0 broken." in done.stdout


def test_contracts_count_imports_inside_functions(tmp_path):
    """A function-level import that crosses a layer breaks a contract (the linter reads every import)."""
    pytest.importorskip("importlinter", reason="import-linter comes with the dev extra")
    shutil.copytree(REPO / "scalinglaws", tmp_path / "scalinglaws", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "scalinglaws" / "laws" / "power.py", "a", encoding="utf-8") as handle:
        handle.write("\n\ndef _crossing():\n    from ..fitting import fit  # noqa: F401\n")
    done = _lint(tmp_path)
    assert done.returncode != 0 and "laws import nothing of fitting" in done.stdout and "BROKEN" in done.stdout
    assert "scalinglaws.laws.power -> scalinglaws.fitting" in done.stdout


def _modules():
    import scalinglaws

    for info in pkgutil.walk_packages(scalinglaws.__path__, "scalinglaws."):
        yield info.name


def test_no_module_is_hidden_by_a_function_of_the_same_name():
    """``import scalinglaws.x.y as m`` always gives the module: no package attribute of a submodule's name is
    something else (a function ``forecast`` once hid the subpackage ``forecast``)."""
    for name in _modules():
        parent, _, child = name.rpartition(".")
        package = importlib.import_module(parent)
        module = importlib.import_module(name)
        value = getattr(package, child)
        assert inspect.ismodule(value) and value is module, f"{parent}.{child} is {value!r}, not the module"
