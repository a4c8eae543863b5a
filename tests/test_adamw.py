"""The AdamW polish (an early-stopped recipe's fit) and the fit recipes of fit_curves."""

import warnings

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.cli import main
from scalinglaws.fitting.adamw import AdamW
from scalinglaws.fitting.curves import RECIPES, fit_curves
from scalinglaws.fitting.optimize import Fitter
from scalinglaws.fitting.result import FitResult
from scalinglaws.schedules import constant, wsd

from .helpers import law_curves

TRUTH = dict(L0=2.5, A=0.5, alpha=0.45, B=400.0, C=2.0, beta=0.6, gamma=0.6)
#: L = E + A·N^−alpha, started from one point near the truth (E = 1.7, A = 400, alpha = 0.33)
POWER = sl.ExpressionLaw("E + A*N**-alpha").with_grid(E=(1.5,), A=(300.0,), alpha=(0.3,))


def _points(seed=0, noise=0.002):
    """A one-input power law plus constant, L = E + A·N^−alpha, with seeded log-normal noise."""
    rng = np.random.default_rng(seed)
    N = np.geomspace(1e7, 1e10, 40)
    loss = (1.7 + 400 * N**-0.33) * np.exp(noise * rng.standard_normal(N.size))
    return pd.DataFrame({"run": [f"r{i}" for i in range(N.size)], "N": N, "loss": loss})


def _curves(noise=0.002, seed=1):
    schedules = {"constant": constant(6000, 1e-3, warmup=300), "wsd": wsd(6000, 1e-3, cooldown=0.3, warmup=300)}
    return law_curves("multi-power", schedules, TRUTH, np.arange(50, 6000, 50), noise, seed), schedules


def test_settings_are_checked():
    for bad in (dict(lr=0.0), dict(lr={"E": -1.0}), dict(steps=0), dict(patience=0), dict(weight_decay=-1),
                dict(betas=(0.9, 1.0)), dict(keep="last")):
        with pytest.raises(sl.FitError):
            AdamW(**bad)
    with pytest.raises(sl.FitError, match="not fitted: nope"):
        Fitter(polish="adamw", adamw=AdamW(lr={"nope": 1e-2})).fit(POWER, _points())
    points = pd.DataFrame({"N": [1e8, 1e9, 1e8, 1e9, 3e8, 2e9], "D": [1e9, 1e9, 1e10, 1e10, 3e9, 5e10],
                           "loss": [3.5, 3.1, 3.0, 2.7, 3.1, 2.6]})
    with pytest.raises(sl.FitError, match="tied"):
        Fitter(polish="adamw").fit(sl.get_law("chinchilla").tie(beta="alpha"), points)


@pytest.mark.filterwarnings("ignore::scalinglaws.exceptions.ConvergenceWarning")  # one step, by design
def test_first_step_moves_every_parameter_by_its_learning_rate():
    """Adam's first update is lr·sign(gradient); keep="best" returns the start (the only evaluated point),
    keep="after-best" the point that step led to."""
    points = _points()
    rates = {"E": 1e-2, "A": 2.0, "alpha": 1e-3}
    one_step = dict(lr=rates, steps=1, weight_decay=0, eps=0)
    stay = Fitter(polish="adamw", top_k=1, adamw=AdamW(**one_step)).fit(POWER, points)
    moved = Fitter(polish="adamw", top_k=1, adamw=AdamW(**one_step, keep="after-best")).fit(POWER, points)
    chosen = np.flatnonzero(stay.start_table["polished"])[0]
    for name, rate in rates.items():
        begin = stay.start_table[f"start_{name}"][chosen]
        assert stay.params[name] == pytest.approx(begin, rel=1e-12)
        assert abs(moved.params[name] - begin) == pytest.approx(rate, rel=1e-6), name
    assert not stay.converged and "ran all 1 AdamW steps" in stay.message


def test_long_runs_without_weight_decay_reach_the_optimum():
    """With enough steps, no weight decay and the best iterate kept, AdamW lands where Gauss-Newton does;
    weight decay pulls the estimates away from it (towards zero)."""
    points = _points()
    optimum = sl.fit(POWER, points)
    settings = dict(lr={"E": 3e-4, "A": 0.3, "alpha": 3e-4}, steps=10000, patience=500, grad_tol=0)
    free = Fitter(polish="adamw", top_k=1, adamw=AdamW(weight_decay=0, **settings)).fit(POWER, points)
    assert free.objective == pytest.approx(optimum.objective, rel=1e-3)
    for name in ("E", "A", "alpha"):
        assert free.params[name] == pytest.approx(optimum.params[name], rel=1e-3), name
    decayed = Fitter(polish="adamw", top_k=1, adamw=AdamW(weight_decay=0.5, **settings)).fit(POWER, points)
    assert decayed.objective > 1.5 * optimum.objective


def test_luo2025_recipe_on_curves_and_its_settings_round_trip(tmp_path):
    """The recipe starts from the authors' single start and stops short of the optimum: its objective is
    above the converged fit's (on these toy runs, peak LR 1e-3 over 6,000 steps, it even runs out of its
    200 steps: its step sizes were tuned for the authors' runs)."""
    curves, schedules = _curves()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        fit = fit_curves(curves, "multi-power", schedules=schedules, recipe="luo2025")
        converged = fit_curves(curves, "multi-power", schedules=schedules, recipe="free")  # all 7 at the minimum
    assert fit.settings["recipe"] == "luo2025" and fit.settings["polish"] == "adamw"
    assert fit.start_table["polished"].sum() == 1 and fit.start_table["start_C"][0] == 1.0  # the authors' start
    assert 0.99 < fit.r2 < converged.r2 and fit.objective > 2 * converged.objective
    assert ("stopped by its rule" if fit.converged else "NOT stopped by its rule") in fit.summary()
    path = tmp_path / "fit.json"
    sl.save(fit, path)
    loaded = sl.load(path)
    assert Fitter.from_settings(loaded.settings) == Fitter(**{k: v for k, v in RECIPES["luo2025"].items()})
    assert loaded.params == pytest.approx(fit.params)


def test_recipe_errors():
    curves, schedules = _curves()
    with pytest.raises(sl.InputError, match="unknown fit recipe 'fast'"):
        fit_curves(curves, "multi-power", schedules=schedules, recipe="fast")
    with pytest.raises(sl.InputError, match="luo2025 recipe fits the multi-power law"):
        fit_curves(curves, "lr-annealing", schedules=schedules, recipe="luo2025")


def test_recipe_on_the_command_line(tmp_path, capsys):
    curves, _ = _curves()
    path = tmp_path / "curves.csv"
    curves.to_csv(path, index=False)
    assert main(["fit", str(path), "--law", "multi-power", "--recipe", "luo2025"]) == 0
    assert "stopped by its rule (" in capsys.readouterr().out  # the early-stopped fit says so
    for args, message in ((["--law", "lr-annealing", "--recipe", "luo2025"], "luo2025 recipe fits the multi-power"),
                          (["--law", "multi-power", "--recipe", "luo2025", "--loss", "l2"], "fits with its own loss"),
                          (["--law", "power-N", "--recipe", "luo2025"], "are for loss-curve laws")):
        assert main(["fit", str(path), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


def test_adamw_settings_need_the_adamw_polish():
    with pytest.raises(sl.FitError, match="polish is 'trf'"):
        Fitter(polish="trf", adamw=AdamW())
    with pytest.raises(sl.FitError, match="starts must be"):
        Fitter(starts="grid")
