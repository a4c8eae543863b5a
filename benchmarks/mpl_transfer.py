"""Benchmark: ways of fitting the Multi-Power law that might transfer beyond its paper's runs.

    python benchmarks/mpl_transfer.py [--shared PATH]

The protocol of ``lr_curves.py --part wsd`` (Hägele et al.'s SlimPajama runs: fit a model size's constant run
and its shortest WSD run, predict the final loss of its longer WSD runs), for every variant tried when choosing
the default (docs/benchmarks.md, "Multi-Power law beyond its paper's runs"): the recipes, with parts of the drop's
shape (C, beta, gamma) held at the authors' values, with a box on beta and gamma, and with the schedules rescaled
to the authors' peak learning rate (3e-4), which scales the luo2025 recipe's step sizes to the peak and makes a
held C scale-free. Prints the mean absolute error per model size.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import scalinglaws as sl
from scalinglaws.fitting.adamw import AdamW
from scalinglaws.fitting.curves import MULTI_POWER_SHAPE, RECIPES, fit_curves
from scalinglaws.forecasting.curves import predict_curve
from scalinglaws.io.tables import markdown_table
from scalinglaws.laws import MultiPower
from scalinglaws.schedules import from_array

import lr_curves

AUTHORS_PEAK = 3e-4
BETA_GAMMA = {"beta": 0.59, "gamma": 0.64}


def _adamw(names) -> AdamW:
    """The luo2025 recipe's AdamW, for the parameters left free."""
    base = RECIPES["luo2025"]["adamw"]
    return AdamW(**{**base.to_dict(), "lr": {k: v for k, v in base.lr.items() if k in names}})


#: name -> (recipe, parameters held (a dict, or a function of the peak LR), bounds, rescale to peak 3e-4)
VARIANTS = {
    "all 7 free (free)": ("free", {}, {}, False),
    "authors' recipe (luo2025)": ("luo2025", {}, {}, False),
    "luo2025, schedules rescaled to peak 3e-4": ("luo2025", {}, {}, True),
    "luo2025, beta, gamma held": ("luo2025", BETA_GAMMA, {}, False),
    "luo2025, shape held (absolute C)": ("luo2025", {"C": 2.07, **BETA_GAMMA}, {}, False),
    "luo2025 rescaled to peak 3e-4, shape held (scale-free C)": ("luo2025", {"C": 2.07, **BETA_GAMMA}, {}, True),
    "minimum, beta, gamma held, C fitted": ("free", BETA_GAMMA, {}, False),
    "minimum, beta in [0.5, 0.7], gamma in [0.55, 0.75]": ("free", {}, {"beta": (0.5, 0.7), "gamma": (0.55, 0.75)},
                                                           False),
    "minimum, shape held, C scale-free": ("free", lambda peak: {"C": 2.07 * (peak / AUTHORS_PEAK) ** (0.64 - 1),
                                                                **BETA_GAMMA}, {}, False),
    "minimum, shape held at C=2.07, beta=0.59, gamma=0.64": ("free", {"C": 2.07, **BETA_GAMMA}, {}, False),
    "minimum, shape held at the authors' means (converged, the default)": ("converged", {}, {}, False),
}


def _fit(train, schedules, peak, variant):
    recipe, held, bounds, rescale = variant
    scale = AUTHORS_PEAK / peak if rescale else 1.0
    held = held(peak) if callable(held) else held
    law = MultiPower().bound(**bounds).fix(**held) if held else MultiPower().bound(**bounds)
    settings = {"adamw": _adamw([n for n in law.param_names if n not in held])} if recipe == "luo2025" else {}
    scaled = {r: from_array(s.lr * scale, warmup=s.warmup) for r, s in schedules.items()}
    return fit_curves(train, law, schedules=scaled, recipe=recipe, **settings), scale


def transfer(shared: Path = lr_curves.SHARED) -> pd.DataFrame:
    curves, _, runs = lr_curves._load(shared)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        for N, peak, base, shortest, train, longer, schedules in lr_curves.wsd_cases(curves, runs):
            train_runs = [base["run"], shortest["run"]]
            for name, variant in VARIANTS.items():
                fit, scale = _fit(train, {r: schedules[r] for r in train_runs}, peak, variant)
                for _, r in longer.iterrows():
                    observed = curves[curves["run"] == r["run"]].dropna(subset=["loss"])
                    last = observed.iloc[observed["step"].argmax()]
                    target = from_array(schedules[r["run"]].lr * scale, warmup=300)
                    predicted = predict_curve(fit, target, steps=[int(last["step"])])["loss"].item()
                    rows.append({"variant": name, "N": int(N), "peak_lr": peak, "error": predicted - float(last["loss"])})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=lr_curves.SHARED)
    args = parser.parse_args()
    table = transfer(args.shared)
    per_size = table.assign(abs_error=table["error"].abs()).groupby(["variant", "N"], sort=False)["abs_error"].mean()
    summary = per_size.unstack("N")
    summary["max"], summary["mean"] = summary.max(axis=1), summary.mean(axis=1)
    print(markdown_table(summary.reset_index(), ".4f"))


if __name__ == "__main__":
    main()
