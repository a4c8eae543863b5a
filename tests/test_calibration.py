"""Forecast bands that stay honest beyond the data: the model error calibrated by backtests inside the data, its
coverage on runs the fit did not see (seeded synthetic sets here; real grids in the slow tests and in
benchmarks/calibration.py), its fallback, its storage, and one extrapolation distance everywhere."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.fitting.calibration import FALLBACK_SLOPE, calibrate

from .helpers import DATA, EPOCH, run_cli, shared


def isoflop(budgets, per_budget=13, spread=16.0) -> pd.DataFrame:
    n_opt = sl.compute_optimal("chinchilla", budgets, params=EPOCH, level=None)["N_opt"].to_numpy()
    rows = [(n, c / (6 * n)) for c, centre in zip(budgets, n_opt)
            for n in np.geomspace(centre / spread, centre * spread, per_budget)]
    return pd.DataFrame(rows, columns=["N", "D"])


def drawn(table: pd.DataFrame, seed: int, noise: float, kappa: float = 0.0) -> pd.DataFrame:
    """Losses from the Chinchilla form whose N exponent grows as alpha + kappa·ln(N/1e8) (kappa 0: exact)."""
    N, D = table["N"].to_numpy(), table["D"].to_numpy()
    alpha = EPOCH["alpha"] + kappa * np.log(N / 1e8)
    mean = EPOCH["E"] + EPOCH["A"] * 1e8 ** -EPOCH["alpha"] * (N / 1e8) ** -alpha + EPOCH["B"] * D ** -EPOCH["beta"]
    loss = mean * np.exp(noise * np.random.default_rng(seed).standard_normal(len(table)))
    return table.assign(run=[f"r{i}" for i in range(len(table))], loss=loss)


def coverage(seeds, noise, kappa, train_budgets, test_budgets) -> float:
    inside = []
    for seed in seeds:
        train = drawn(isoflop(train_budgets), seed, noise, kappa)
        test = drawn(isoflop(test_budgets), 10_000 + seed, noise, kappa)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sl.ScalingLawsWarning)
            fit = sl.fit("chinchilla", train)
            table = sl.forecast(fit, N=test["N"].to_numpy(), D=test["D"].to_numpy()).table
        inside.append((table["lower"] <= test["loss"]) & (test["loss"] <= table["upper"]))
    return float(np.mean(np.concatenate(inside)))


@pytest.mark.slow
def test_default_band_is_not_inflated_when_the_law_is_exactly_right():
    """Acceptance 4: data drawn from the fitted form (1% noise, 9 budgets 1e19-1e21, forecasts 10-100x beyond):
    the default 90% band covers 85-97% of the held-out runs, over 40 seeds. (The 39 held-out runs of a seed share
    its fit's error, so the coverage of 10 seeds alone varies by about ±3% around its mean, 95% over 60 seeds.)"""
    rate = coverage(range(40), 0.01, 0.0, np.geomspace(1e19, 1e21, 9), np.geomspace(1e22, 1e23, 3))
    assert 0.85 <= rate <= 0.97, rate


def test_default_band_covers_a_slightly_wrong_law():
    """Acceptance 5: the true N exponent grows with N (as Farseer reports; kappa = 0.03), 0.5% noise, 10-100x
    beyond the fitted compute: the default 90% band covers at least 80%; the old narrow band does not."""
    train_budgets, test_budgets = np.geomspace(1e17, 1e19, 9), np.geomspace(1e20, 1e21, 3)
    assert coverage(range(10), 0.005, 0.03, train_budgets, test_budgets) >= 0.80
    narrow = []
    for seed in range(3):
        train = drawn(isoflop(train_budgets), seed, 0.005, 0.03)
        test = drawn(isoflop(test_budgets), 10_000 + seed, 0.005, 0.03)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sl.ScalingLawsWarning)
            band = sl.fit("chinchilla", train).band(N=test["N"].to_numpy(), D=test["D"].to_numpy(),
                                                     model_error=False)
        narrow.append((band["lower"] <= test["loss"]) & (test["loss"] <= band["upper"]))
    # the noise band alone misses the law's own error: below the nominal 90% (79% since issue 17, whose honest
    # standard errors widen it; under 70% while the covariance took the points the fit passes through as signal)
    assert np.mean(np.concatenate(narrow)) < 0.85


def test_model_error_grows_with_the_distance_and_is_zero_inside_the_data(epoch_fit):
    model = epoch_fit.model_error
    assert model.calibrated and len(model.cuts) == 5 and model.cuts["ok"].all()
    assert model.slope(0.9) > 0
    widths = [np.log(b["upper"] / b["lower"]).item() for b in
              (epoch_fit.band(N=7e11, D=1.4e13, level=level) for level in (0.8, 0.9, 0.95))]
    assert widths[0] < widths[1] < widths[2]  # a higher level, a wider band (the slope is recomputed per level)
    inside = epoch_fit.band(N=1e9, D=2e10)
    beyond = epoch_fit.band(N=[7e10, 7e11], D=[1.4e12, 1.4e13])
    assert inside["model_error"].item() == 0.0 and inside["distance"].item() == 0.0
    assert 0 < beyond["model_error"].iloc[0] < beyond["model_error"].iloc[1]
    np.testing.assert_allclose(beyond["model_error"], model.slope(0.9) * beyond["distance"])
    narrow = epoch_fit.band(N=[7e10, 7e11], D=[1.4e12, 1.4e13], model_error=False)
    np.testing.assert_allclose(beyond["noise_lower"], narrow["lower"])
    assert (beyond["upper"] > narrow["upper"]).all() and (beyond["lower"] < narrow["lower"]).all()


def test_too_few_scales_fall_back_to_the_stated_rule():
    """A calibration needs backtests that reach beyond their fits; with two budgets it cannot, and the band uses
    the stated conservative slope, which every summary names."""
    train = drawn(isoflop(np.array([1e19, 2e19]), per_budget=7), 0, 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        fit = sl.fit("chinchilla", train)
        made = sl.forecast(fit, N=3e10, D=6e11)
    model = fit.model_error
    assert not model.calibrated and model.reason
    assert model.slope(0.9) == pytest.approx(max(2 * model.noise(0.9), FALLBACK_SLOPE))
    assert "fallback rule" in made.summary() and model.reason in made.summary()


def test_the_model_error_is_saved_with_the_fit(tmp_path, epoch_fit):
    path = tmp_path / "fit.json"
    fit = sl.fit("chinchilla", sl.read_points(DATA / "chinchilla_epoch.csv"))
    slope = fit.model_error.slope(0.9)
    sl.save(fit, path)
    assert "model_error" in json.loads(path.read_text())
    loaded = sl.load(path)
    assert "model_error" in loaded.__dict__  # read, not recomputed
    assert loaded.model_error.slope(0.9) == slope and loaded == fit
    np.testing.assert_allclose(loaded.band(N=7e10, D=1.4e12)["upper"], fit.band(N=7e10, D=1.4e12)["upper"])


def test_calibration_is_deterministic(epoch_fit):
    a, b = calibrate(epoch_fit), calibrate(epoch_fit)
    pd.testing.assert_frame_equal(a.pairs, b.pairs)


def test_fit_plan_and_forecast_print_the_same_distance(capsys, tmp_path):
    """Acceptance 6: one extrapolation distance (compute over the largest fitted compute) in fit, plan, forecast."""
    fit_json = tmp_path / "fit.json"
    code, fit_out, err = run_cli(capsys, "fit", DATA / "chinchilla_epoch.csv", "--budgets", "1e24", "--out", fit_json)
    assert code == 0, err
    code, plan_out, err = run_cli(capsys, "plan", fit_json, "--budget", "1e24")
    assert code == 0, err
    row = sl.plan(sl.load(fit_json), [1e24]).table.iloc[0]
    code, forecast_out, err = run_cli(capsys, "forecast", fit_json, "--params", str(row["N_opt"]), "--tokens",
                                      str(row["D_opt"]))
    assert code == 0, err
    beyond = f"x{row['beyond_C']:.3g}"
    assert beyond == "x77.2"
    for out in (fit_out, plan_out, forecast_out):
        assert beyond in out, out


def test_the_warning_fires_on_the_compute_ratio(epoch_fit):
    """Acceptance 6: 77x beyond the fitted compute with every input within 10x of its range still warns; within
    10x of the compute it does not."""
    table = epoch_fit.inputs
    n_max, d_max = float(np.max(table["N"])), float(np.max(table["D"]))
    with pytest.warns(sl.ExtrapolationWarning, match=r"forecast at 77\.\dx the largest fitted compute"):
        made = sl.forecast(epoch_fit, C=1e24)
    row = made.table.iloc[0]
    assert row["N"] / n_max < 10 and row["D"] / d_max < 10 and row["beyond_C"] > 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", sl.ExtrapolationWarning)
        sl.forecast(epoch_fit, C=1e23)  # 7.7x


@pytest.mark.slow
@pytest.mark.shared_data
def test_porian_isoflop_runs_are_covered():
    """Acceptance 1: Porian et al.'s 10 groups, fit below 3e18, the 285 runs of budgets 3e18-2.56e19: pooled
    coverage 80-97%, every group >= 50%, median half-width <= 3x the median absolute error."""
    data = pd.read_csv(shared("isoflop_porian.csv"))
    inside, halves, errors = [], [], []
    for _, group in data.groupby(["dataset", "config"]):
        train, test = group[group["budget_flops"] < 3e18], group[group["budget_flops"] >= 3e18]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sl.ScalingLawsWarning)
            fit = sl.fit("chinchilla", train[["N", "D", "loss"]])
            table = sl.forecast(fit, N=test["N"].to_numpy(), D=test["D"].to_numpy()).table
        loss = test["loss"].to_numpy()
        hit = (table["lower"].to_numpy() <= loss) & (loss <= table["upper"].to_numpy())
        assert hit.mean() >= 0.5
        inside.append(hit)
        halves.append(0.5 * np.log(table["upper"] / table["lower"]).to_numpy())
        errors.append(np.abs(np.log(loss / table["loss"].to_numpy())))
    inside, halves, errors = map(np.concatenate, (inside, halves, errors))
    assert inside.size == 285 and 0.80 <= inside.mean() <= 0.97, inside.mean()
    assert np.median(halves) <= 3 * np.median(errors)


@pytest.mark.slow
def test_epoch_chinchilla_runs_above_1e21_are_covered():
    """Acceptance 2: Epoch's Chinchilla runs, fit below 1e21 FLOPs, the rest held out: coverage >= 80%."""
    points = sl.read_points(DATA / "chinchilla_epoch.csv")
    points = points[~points["exclude"]]
    train, test = points[points["C"] < 1e21], points[points["C"] >= 1e21]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        table = sl.forecast(sl.fit("chinchilla", train), N=test["N"].to_numpy(), D=test["D"].to_numpy()).table
    hit = (table["lower"].to_numpy() <= test["loss"].to_numpy()) & (test["loss"].to_numpy() <= table["upper"].to_numpy())
    assert len(test) == 23 and hit.mean() >= 0.80, hit.mean()


@pytest.mark.slow
@pytest.mark.shared_data
def test_step_law_largest_model_is_covered():
    """Acceptance 3: the Step Law dense sweep (best run per (N, D) cell), fit on the 4 smaller model sizes, predict
    the largest: coverage >= 80%."""
    runs = pd.read_csv(shared("steplaw_dense_runs.csv"))
    runs = runs[np.isfinite(runs["loss"]) & (runs["loss"] < 5.0)]  # diverged runs (loss up to 11) left out
    best = runs.loc[runs.groupby(["N", "D"])["loss"].idxmin(), ["N", "D", "loss"]].reset_index(drop=True)
    largest = best["N"].max()
    train, test = best[best["N"] < largest], best[best["N"] == largest]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        table = sl.forecast(sl.fit("chinchilla", train), N=test["N"].to_numpy(), D=test["D"].to_numpy()).table
    loss = test["loss"].to_numpy()
    assert ((table["lower"].to_numpy() <= loss) & (loss <= table["upper"].to_numpy())).mean() >= 0.80


def _wsd_lr(total: int, peak: float, cooldown: float, decay: str, warmup: int = 300) -> np.ndarray:
    """Hägele et al.'s WSD learning rate per update (../shared/data/NOTES.md §1b): a linear warmup from peak/100,
    constant, then a cooldown over the last ``cooldown`` share (linear or 1 - sqrt); entry 0 is the empty update."""
    t = np.arange(total + 1)
    start = total + 1 - int(np.floor(cooldown * (total + 1)))
    x = np.clip((t - start) / max(total + 1 - start, 1), 0, 1)
    shape = (1 - x) if decay == "linear" else (1 - np.sqrt(x))
    lr = np.where(t < warmup, peak * (t / warmup + (1 - t / warmup) / 100), np.where(t < start, peak, peak * shape))
    return np.concatenate([[0.0], lr])


@pytest.mark.slow
@pytest.mark.shared_data
def test_curve_band_covers_the_final_loss_of_longer_wsd_runs():
    """Curve laws: Hägele et al.'s 124M WSD runs at four lengths per (peak LR, cooldown share, shape); the
    LR-annealing law fitted on the two shorter curves predicts the final loss of the two longer runs. The default
    90% band covers at least 80% of them; the band without model error covers far fewer."""
    from scalinglaws.fitting.curves import fit_curves
    from scalinglaws.forecasting.curves import predict_curve
    from scalinglaws.schedules import from_array

    curves, runs = pd.read_csv(shared("lr_schedule_curves.csv")), pd.read_csv(shared("lr_schedule_runs.csv"))
    runs = runs[runs["source"].str.contains("lr-scheduling") & ~runs["source_file"].str.contains("grad_norm")
                & ~runs["diverged"].astype(bool) & (runs["scheduler_cfg"] == "wsd") & (runs["N"] == 123587328)
                & (runs["dataset"] == "slimpajama") & (runs["cooldown_fraction"] > 0)]
    inside, narrow = [], []
    for (peak, share, decay), group in runs.groupby(["peak_lr", "cooldown_fraction", "decay_type"]):
        group = group.sort_values(["total_steps", "run"]).drop_duplicates("total_steps")
        if len(group) < 4:
            continue
        schedules = {r["run"]: from_array(_wsd_lr(int(r["total_steps"]), peak, share, decay), warmup=300, name=r["run"])
                     for _, r in group.iterrows()}
        fitted = curves[curves["run"].isin(group["run"].iloc[:2])].dropna(subset=["loss"])
        fitted = fitted[fitted["step"] >= 1000][["run", "step", "lr", "loss"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sl.ScalingLawsWarning)
            fit = fit_curves(fitted, "lr-annealing", schedules={n: schedules[n] for n in group["run"].iloc[:2]})
            for name in group["run"].iloc[2:]:
                observed = curves[curves["run"] == name].dropna(subset=["loss"])
                last = observed.loc[observed["step"].idxmax()]
                for model_error, out in ((True, inside), (False, narrow)):
                    band = predict_curve(fit, schedules[name], steps=[int(last["step"])],
                                         model_error=model_error).iloc[0]
                    out.append(band["lower"] <= last["loss"] <= band["upper"])
    assert len(inside) >= 30
    assert np.mean(inside) >= 0.80, np.mean(inside)
    assert np.mean(narrow) < 0.5, np.mean(narrow)
