"""Helpers shared by the tests: paths, published parameter sets, a seeded synthetic-data generator."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
LOGS = REPO / "tests" / "fixtures" / "logs"  # logs written by tests/fixtures/make_logs.py
SHARED = Path(os.environ.get("SCALINGLAWS_SHARED_DATA", REPO.parent / "shared" / "data"))

#: Epoch AI's refit (Besiroglu et al. 2024), notebook vector (LAWS.md §1).
EPOCH = dict(E=1.81686, A=482.006, B=2085.43, alpha=0.347813, beta=0.365854)
#: Hoffmann et al. 2022, TeX-precise values (LAWS.md §1).
HOFFMANN_TEX = dict(E=np.exp(0.5267228), A=np.exp(6.0073404), B=np.exp(6.0179186), alpha=0.33917084, beta=0.2849083)
#: Hoffmann et al. 2022, rounded paper values.
HOFFMANN_ROUNDED = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


def isoflop_grid(true: dict, budgets=None, per_budget: int = 13, spread: float = 16.0) -> np.ndarray:
    """A Chinchilla-style IsoFLOP design: for each budget C, model sizes spanning N_opt/spread … N_opt·spread
    with D = C/(6N). Returns an array of (N, D) rows."""
    budgets = np.geomspace(6e18, 3e21, 9) if budgets is None else budgets
    n_opt = sl.compute_optimal("chinchilla", budgets, params=true)["N_opt"].to_numpy()
    rows = [(n, c / (6 * n)) for c, center in zip(budgets, n_opt)
            for n in np.geomspace(center / spread, center * spread, per_budget)]
    return np.array(rows)


def synthetic_points(true: dict, noise: float, seed: int, grid: np.ndarray | None = None) -> pd.DataFrame:
    """Points drawn from the Chinchilla law with multiplicative log-normal noise exp(noise·z), seeded."""
    grid = isoflop_grid(true) if grid is None else grid
    rng = np.random.default_rng(seed)
    law = sl.get_law("chinchilla")
    loss = law(N=grid[:, 0], D=grid[:, 1], **true) * np.exp(noise * rng.standard_normal(len(grid)))
    return pd.DataFrame({"run": [f"r{i}" for i in range(len(grid))], "N": grid[:, 0], "D": grid[:, 1],
                         "loss": loss})


def shared(name: str) -> Path:
    """Path of a file in ../shared/data, skipping the test when it is absent."""
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """Run the command line in-process: exit code, standard output, standard error."""
    from scalinglaws.cli import main

    code = main(list(map(str, args)))
    out, err = capsys.readouterr()
    return code, out, err


def law_curves(law_name: str, schedules: dict, truth: dict, steps: np.ndarray, noise: float = 0.0,
               seed: int = 0) -> pd.DataFrame:
    """A curves table (run, step, lr, loss) drawn from a loss-curve law along each named schedule, with
    multiplicative log-normal noise exp(noise·z), seeded."""
    law = sl.get_law(law_name).bind(schedules)
    rng = np.random.default_rng(seed)
    rows = []
    for i, (name, schedule) in enumerate(schedules.items()):
        loss = law.evaluate({"run_index": np.full(steps.size, i), "step": steps}, *law.values_of(truth))
        rows.append(pd.DataFrame({"run": name, "step": steps, "lr": schedule.lr[steps],
                                  "loss": loss * np.exp(noise * rng.standard_normal(steps.size))}))
    return pd.concat(rows, ignore_index=True)
