"""Every benchmark script imports: a renamed module of the package breaks them at once, not when someone next
runs a benchmark that takes an hour (their measurements themselves run by hand, results in docs/benchmarks.md)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("*.py")))
def test_benchmark_script_imports(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import their siblings
    name = f"_benchmark_{Path(script).stem}"
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)  # top-level code only: every script runs its work under __main__
    if '__name__ == "__main__"' in (BENCHMARKS / script).read_text(encoding="utf-8"):  # a script, not a helper
        assert callable(getattr(module, "main", None)), f"{script} has no main()"
