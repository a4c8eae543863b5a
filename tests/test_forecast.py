"""Forecasts, allocation (plain, general FLOPs, inference-aware, data-constrained), IsoFLOP analysis, batch and
learning-rate laws, against the LAWS.md fixtures and seeded synthetic data."""

import warnings

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.forecasting import (DEEPSEEK, STEP_LAW, STEP_LAW_MEAN, critical_batch_kaplan, fit_batch_sweep,
                                  fit_hyperparameter_law, fit_power_law, forecast, frontier, inference_optimal,
                                  isoflop_analysis, min_compute_ratio, min_steps)

from .helpers import EPOCH, HOFFMANN_ROUNDED, HOFFMANN_TEX, isoflop_grid, shared, synthetic_points

# -- Forecasts ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fit_and_boot():
    fit = sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed=6))
    return fit, sl.bootstrap(fit, 30, seed=0)


def test_forecast_values_bands_and_extrapolation_warning(fit_and_boot):
    fit, boot = fit_and_boot
    table = forecast(fit, N=[1e9, 5e9], D=[2e10, 1e11]).table
    np.testing.assert_allclose(table["loss"], fit.predict(N=np.array([1e9, 5e9]), D=np.array([2e10, 1e11])))
    assert (table["beyond_N"] == 1.0).all() and (table["beyond_D"] == 1.0).all() and (table["beyond_C"] <= 1 + 1e-9).all()
    c_max = float(np.max(6 * fit.inputs["N"] * fit.inputs["D"]))
    np.testing.assert_allclose(table["beyond_C"], 6 * table["N"] * table["D"] / c_max)
    with pytest.warns(sl.ExtrapolationWarning, match=r"forecast at [\d.e+]+x the largest fitted compute"):
        far = forecast(boot, N=1e12, D=2e13).table
    assert far["lower"].item() < far["loss"].item() < far["upper"].item() and far["beyond_C"].item() > 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", sl.ExtrapolationWarning)
        forecast(fit, N=1e10, D=2e11)  # 2-3x beyond: no warning


def test_forecast_at_a_compute_budget_uses_the_optimal_split(fit_and_boot):
    fit, _ = fit_and_boot
    table = forecast(fit, C=[1e21, 1e22]).table
    alloc = sl.compute_optimal(fit, [1e21, 1e22])
    np.testing.assert_allclose(table["N"], alloc["N_opt"])
    np.testing.assert_allclose(table["loss"], alloc["loss"])
    fixed_n = forecast(fit, C=1e21, N=1e9).table
    assert fixed_n["D"].item() == pytest.approx(1e21 / 6e9)
    with pytest.raises(sl.ScalingLawsError, match="positive"):
        forecast(fit, C=-1.0)


# -- Allocation ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params", [EPOCH, HOFFMANN_TEX, HOFFMANN_ROUNDED])
def test_numeric_allocation_agrees_with_closed_form(params):
    budgets = np.geomspace(1e18, 1e27, 10)
    closed = sl.compute_optimal("chinchilla", budgets, params=params, method="closed")
    numeric = sl.compute_optimal("chinchilla", budgets, params=params, method="numeric")
    as_formula = sl.compute_optimal("chinchilla", budgets, params=params, flops="6*N*D")
    for other in (numeric, as_formula):
        np.testing.assert_allclose(other["N_opt"], closed["N_opt"], rtol=1e-6)
        np.testing.assert_allclose(other["D_opt"], closed["D_opt"], rtol=1e-6)


def test_frontier_power_laws_are_exact_for_chinchilla():
    _, n_fit, d_fit = frontier("chinchilla", np.geomspace(1e20, 1e25, 6), params=EPOCH)
    assert n_fit.exponent == pytest.approx(0.512640, rel=1e-5)  # beta/(alpha+beta), LAWS.md §1
    assert d_fit.exponent == pytest.approx(1 - 0.512640, rel=1e-5)


def test_attention_flops_make_models_smaller():
    """A per-token cost beyond 6N (attention) makes tokens dearer: fewer tokens, more parameters."""
    plain = sl.compute_optimal("chinchilla", 1e23, params=EPOCH)
    heavy = sl.compute_optimal("chinchilla", 1e23, params=EPOCH, flops="6*N*D + 2e9*D")
    assert heavy["D_opt"].item() < plain["D_opt"].item() and heavy["N_opt"].item() > plain["N_opt"].item()
    assert heavy["N_opt"].item() * heavy["D_opt"].item() * 6 + 2e9 * heavy["D_opt"].item() == pytest.approx(1e23)


@pytest.mark.parametrize("loss, d_inf, n_star, d_star, ratio, total, train", [
    (2.00, 0, 1.53032e10, 1.20896e12, 79.0009, 1.11006e23, 1.11006e23),
    (2.00, 1e12, 1.15170e10, 1.65103e12, 143.356, 1.37123e23, 1.14089e23),
    (2.00, 1e13, 6.48711e9, 3.88939e12, 599.557, 2.81128e23, 1.51385e23),
    (2.00, 1e14, 3.75614e9, 1.48061e13, 3941.83, 1.08491e24, 3.33683e23),
    (1.95, 0, 2.56716e10, 2.26584e12, 88.2625, 3.49006e23, 3.49006e23),
    (1.95, 1e12, 2.14382e10, 2.74232e12, 127.918, 3.95618e23, 3.52742e23),
    (1.95, 1e13, 1.29010e10, 5.42976e12, 420.880, 6.78314e23, 4.20295e23),
    (1.95, 1e14, 7.18615e9, 1.86899e13, 2600.82, 2.24308e24, 8.05849e23),
])
def test_inference_aware_fixtures(loss, d_inf, n_star, d_star, ratio, total, train):
    row = inference_optimal("chinchilla", loss, d_inf, params=HOFFMANN_ROUNDED).iloc[0]
    np.testing.assert_allclose([row.N, row.D_train, row.tokens_per_param, row.total_flops, row.train_flops],
                               [n_star, d_star, ratio, total, train], rtol=1e-5)


def test_inference_aware_equals_chinchilla_optimal_without_inference():
    closed = sl.compute_optimal("chinchilla", 1.11006e23, params=HOFFMANN_ROUNDED)
    assert closed["N_opt"].item() == pytest.approx(1.53032e10, rel=1e-5)


def test_inference_inside_a_budget_shrinks_the_model():
    plain = sl.compute_optimal("chinchilla", 1e24, params=EPOCH)
    served = sl.compute_optimal("chinchilla", 1e24, params=EPOCH, inference_tokens=1e13)
    assert served["N_opt"].item() < plain["N_opt"].item()
    assert served["train_flops"].item() + served["inference_flops"].item() == pytest.approx(1e24)
    assert served["train_flops"].item() == pytest.approx(6 * served["N_opt"].item() * served["D_opt"].item())


def test_data_constrained_allocation():
    data_rich = sl.compute_optimal("chinchilla", [1e21, 1e23], params=EPOCH, unique_tokens=1e16)
    plain = sl.compute_optimal("chinchilla", [1e21, 1e23], params=EPOCH)
    np.testing.assert_allclose(data_rich["N_opt"], plain["N_opt"], rtol=1e-6)  # a cap never reached changes nothing
    capped = sl.compute_optimal("chinchilla", 1e24, params=EPOCH, unique_tokens=2e11)
    free = sl.compute_optimal("chinchilla", 1e24, params=EPOCH)
    assert capped["epochs"].item() > 1 and capped["loss"].item() > free["loss"].item()
    # Muennighoff et al.: excess parameters lose value faster (R_N* = 5.3) than repeated tokens (R_D* = 15.4),
    # so with scarce data the optimum trains a smaller model for more epochs
    assert capped["N_opt"].item() < free["N_opt"].item()
    with pytest.raises(sl.LawError, match="Chinchilla-type"):
        sl.compute_optimal("kaplan", 1e21, params=dict(Nc=6.4e13, Dc=1.8e13, alpha_N=0.076, alpha_D=0.103),
                           unique_tokens=1e10)


def test_allocation_arguments_are_checked():
    with pytest.raises(sl.ScalingLawsError, match="positive numbers of FLOPs"):
        sl.compute_optimal("chinchilla", -1e21, params=EPOCH)
    with pytest.raises(sl.LawError, match="needs a law of N and D"):
        sl.compute_optimal("power-C", 1e21, params=dict(L_inf=2, x0=1e15, alpha=0.3))
    with pytest.raises(sl.LawError, match="no closed-form"):
        sl.compute_optimal("farseer", 1e21, params={p.name: p.grid[0] for p in sl.get_law("farseer").params},
                           method="closed")


# -- IsoFLOP approach 2 ----------------------------------------------------------------------------------------
def test_isoflop_fixture_vertex():
    """TeX parameters, C = 1e20, five sizes: the parabola's vertex is N = 7.74371e8 (LAWS.md §1)."""
    N = np.array([1e8, 2e8, 4e8, 8e8, 1.6e9])
    points = pd.DataFrame({"N": N, "D": 1e20 / (6 * N), "C": 1e20,
                           "loss": sl.get_law("chinchilla")(N=N, D=1e20 / (6 * N), **HOFFMANN_TEX)})
    np.testing.assert_allclose(points["loss"], [2.74050, 2.63271, 2.57187, 2.55346, 2.57507], rtol=1e-5)
    twice = pd.concat([points, points.assign(C=2e20, D=2e20 / (6 * N),
                                             loss=sl.get_law("chinchilla")(N=N, D=2e20 / (6 * N), **HOFFMANN_TEX))])
    result = isoflop_analysis(twice, window=None)
    assert result.budgets.loc[0, "N_opt"] == pytest.approx(7.74371e8, rel=1e-5)


def test_isoflop_recovers_the_exponent_from_noisy_sweeps():
    """Approach 2 on seeded synthetic IsoFLOP data (9 budgets × 13 sizes, 0.5 % noise): exponents within 0.02."""
    truth = EPOCH["beta"] / (EPOCH["alpha"] + EPOCH["beta"])
    grid = isoflop_grid(EPOCH, per_budget=13, spread=8.0)
    data = synthetic_points(EPOCH, 0.005, seed=11, grid=grid)
    data["C"] = 6 * data["N"] * data["D"]
    result = isoflop_analysis(data, window=7)
    assert result.budgets["used"].all()
    assert result.n_fit.exponent == pytest.approx(truth, abs=0.02)
    assert result.d_fit.exponent == pytest.approx(1 - truth, abs=0.02)
    assert "budgets used" in result.summary()


def test_isoflop_by_interpolation_on_exact_data():
    """Interpolating between runs finds minima to the resolution of the sampled sizes (noise moves them a
    whole grid step, which is why the parabola is the default)."""
    truth = EPOCH["beta"] / (EPOCH["alpha"] + EPOCH["beta"])
    data = synthetic_points(EPOCH, 0.0, seed=0, grid=isoflop_grid(EPOCH, per_budget=13, spread=8.0))
    result = isoflop_analysis(data.assign(C=6 * data["N"] * data["D"]), method="interpolate")
    assert result.n_fit.exponent == pytest.approx(truth, abs=0.01)


def test_isoflop_drops_budgets_it_cannot_trust():
    N = np.geomspace(1e8, 1e9, 4)
    rising = pd.DataFrame({"N": N, "D": 1e19 / (6 * N), "C": 1e19, "loss": [2.5, 2.6, 2.8, 3.2]})
    good = synthetic_points(EPOCH, 0.0, 0, isoflop_grid(EPOCH, budgets=np.array([1e20, 1e21]), per_budget=7))
    data = pd.concat([rising, good.assign(C=6 * good["N"] * good["D"])], ignore_index=True)
    result = isoflop_analysis(data)
    first = result.budgets.iloc[0]
    assert not first["used"] and "outside the sampled range" in first["reason"]
    with pytest.raises(sl.ScalingLawsError, match="usable minimum"):
        isoflop_analysis(rising)


# -- Batch size and learning rate --------------------------------------------------------------------------------
MCCANDLISH_B = np.array([250, 500, 1000, 2000, 4000, 8000, 16000.0])
MCCANDLISH_S = np.array([9000, 5000, 3000, 2000, 1500, 1250, 1125.0])


def test_mccandlish_fixture():
    E = MCCANDLISH_B * MCCANDLISH_S
    np.testing.assert_allclose((MCCANDLISH_S / 1000 - 1) * (E / 2e6 - 1), 1.0, rtol=1e-12)
    fit = fit_batch_sweep(MCCANDLISH_B, MCCANDLISH_S, reference_batch=250)
    np.testing.assert_allclose([fit.S_min, fit.E_min, fit.B_noise], [1000, 2e6, 2000], rtol=1e-9)
    assert fit.cbs == pytest.approx(0.2 * 2000 + 1.2 * 250)  # Zhang et al.'s, from the reference batch
    assert np.isnan(fit_batch_sweep(MCCANDLISH_B, MCCANDLISH_S).cbs)  # no reference batch, no CBS
    np.testing.assert_allclose(fit.steps_at(MCCANDLISH_B), MCCANDLISH_S, rtol=1e-9)


def _noisy_sweep(seed: int, S_min=3000.0, B_noise=4e5, noise=0.05):
    rng = np.random.default_rng(seed)
    B = np.geomspace(3e4, 8e6, 9)
    return B, S_min * (1 + B_noise / B) * np.exp(noise * rng.standard_normal(B.size))


def test_mccandlish_recovers_a_noisy_sweep():
    B, S = _noisy_sweep(0)
    fit = fit_batch_sweep(B, S)
    assert fit.S_min == pytest.approx(3000, rel=0.15) and fit.B_noise == pytest.approx(4e5, rel=0.2)
    lo, hi = fit.intervals["B_noise"]
    assert lo < fit.B_noise < hi


@pytest.mark.slow
def test_mccandlish_intervals_cover_the_truth():
    """Acceptance: over 1000 seeded sweeps (9 batch sizes, 5 % noise) the 95 % intervals of S_min and B_noise
    cover the truth at least 90 % of the time, and the 90 % intervals are calibrated (85–95 %)."""
    hits = {(level, name): [] for level in (0.9, 0.95) for name in ("S_min", "B_noise")}
    for seed in range(1000):
        sweep = _noisy_sweep(seed)
        for level in (0.9, 0.95):
            fit = fit_batch_sweep(*sweep, level=level)
            for name, truth in (("S_min", 3000.0), ("B_noise", 4e5)):
                lo, hi = fit.intervals[name]
                hits[level, name].append(lo <= truth <= hi)
    for (level, name), values in hits.items():
        rate = np.mean(values)
        assert (rate >= 0.9) if level == 0.95 else (0.85 <= rate <= 0.95), (level, name, rate)


def test_kaplan_batch_fixtures():
    np.testing.assert_allclose(critical_batch_kaplan([2.0, 3.0, 4.0]), [7.37147e6, 1.06911e6, 2.71693e5], rtol=1e-5)
    b_crit = critical_batch_kaplan(3.0)
    assert min_steps(1e5, 1e6, b_crit) == pytest.approx(48329.9, rel=1e-5)
    assert min_compute_ratio(1e6, b_crit) == pytest.approx(0.516701, rel=1e-5)


def test_hyperparameter_presets():
    np.testing.assert_allclose([STEP_LAW.learning_rate(N=1e9, D=1e11), STEP_LAW.batch_size(D=1e11)],
                               [1.63250e-3, 1.10771e6], rtol=1e-5)
    np.testing.assert_allclose([STEP_LAW.learning_rate(N=7e9, D=1.4e12), STEP_LAW.batch_size(D=1.4e12)],
                               [9.16557e-4, 4.99882e6], rtol=1e-5)
    assert STEP_LAW.batch_size(D=1e11) / 2048 == pytest.approx(540.876, rel=1e-5)
    # the mean coefficients are known to 5-6 digits (LAWS.md table): an exponent rounded by 5e-6 moves the value
    # by up to 5e-6·ln(1.4e12) = 1.4e-4 relative, so the repo's full-precision fixture holds to 3e-4
    np.testing.assert_allclose([STEP_LAW_MEAN.learning_rate(N=7e9, D=1.4e12), STEP_LAW_MEAN.batch_size(D=1.4e12)],
                               [9.34684e-4, 4.99696e6], rtol=3e-4)
    C = np.array([1e20, 1e22, 1e24])
    np.testing.assert_allclose(DEEPSEEK.learning_rate(C=C), [9.85998e-4, 5.54468e-4, 3.11800e-4], rtol=1e-5)
    np.testing.assert_allclose(DEEPSEEK.batch_size(C=C), [1.01714e6, 4.58757e6, 2.06911e7], rtol=1e-5)
    with pytest.raises(sl.ScalingLawsError, match="needs N"):
        STEP_LAW.learning_rate(D=1e11)


def test_deepseek_allocation_fixture():
    """DeepSeek's M_opt = 0.1715·C^0.5243 and D_opt = 5.8316·C^0.4757 (LAWS.md §4c) as power laws."""
    C = np.array([1e20, 1e22, 1e24])
    m = fit_power_law(0.1715 * C**0.5243, C=C)
    np.testing.assert_allclose(m(C), [5.25127e9, 5.87306e10, 6.56847e11], rtol=1e-5)
    np.testing.assert_allclose(5.8316 * C**0.4757, [1.90453e10, 1.70289e11, 1.52261e12], rtol=1e-5)


def test_hyperparameter_fit_recovers_a_synthetic_sweep():
    """A sweep whose loss is a bowl around η* = 2·N^-0.7·D^0.3, B* = 0.5·D^0.55: every optimum method finds
    the exponents (the grid resolution bounds argmin)."""
    rows = []
    for N in (1e8, 3e8, 1e9):
        for D in (1e10, 4e10, 1.6e11):
            lr_star, b_star = 2 * N**-0.7 * D**0.3, 0.5 * D**0.55
            for lr in lr_star * np.geomspace(0.25, 4, 9):
                for b in b_star * np.geomspace(0.25, 4, 9):
                    loss = 3.0 * (1 + 0.01 * np.log(lr / lr_star) ** 2 + 0.01 * np.log(b / b_star) ** 2)
                    rows.append({"N": N, "D": D, "lr": lr * 1.01, "batch_size_tokens": b, "loss": loss})
    runs = pd.DataFrame(rows)
    law, optima, fits = fit_hyperparameter_law(runs, optimum="surface")
    assert fits["lr"].exponents == pytest.approx({"N": -0.7, "D": 0.3}, abs=1e-6)
    assert fits["batch"].exponent == pytest.approx(0.55, abs=1e-6)
    assert (optima["optimum"] == "surface vertex").all() and len(optima) == 9
    assert law.learning_rate(N=1e9, D=1e10) == pytest.approx(2.02 * 1e9**-0.7 * 1e10**0.3, rel=1e-6)
    _, _, coarse = fit_hyperparameter_law(runs, optimum="argmin")
    assert coarse["lr"].exponents["N"] == pytest.approx(-0.7, abs=0.05)
    with pytest.raises(sl.InputError, match="missing column"):
        fit_hyperparameter_law(runs.drop(columns="lr"))


@pytest.mark.slow
def test_real_sweeps_reproduce_published_exponents():
    """Acceptance (also printed by benchmarks/planning.py): Porian et al.'s N_opt exponents within 0.05, the
    McCandlish fit per model size with an interval, Step Law's exponents within 0.1."""
    porian = pd.read_csv(shared("isoflop_porian.csv"))
    published = pd.read_csv(shared("isoflop_porian_published_fits.csv")).set_index(["dataset", "config"])
    for key, group in porian.groupby(["dataset", "config"]):
        result = isoflop_analysis(group, columns={"C": "budget_flops"})
        assert result.n_fit.exponent == pytest.approx(published.loc[key, "n_exponent"], abs=0.05), key
    cbs = pd.read_csv(shared("critical_batch_size_steps.csv"))
    for model, sweep in cbs.groupby("model"):
        fit = fit_batch_sweep(sweep["batch_size_tokens"], sweep["steps_to_target"])
        lo, hi = fit.intervals["B_noise"]
        assert lo < fit.B_noise < hi and hi / lo < 2, model
    steplaw = pd.read_csv(shared("steplaw_dense_runs.csv"))
    _, _, fits = fit_hyperparameter_law(steplaw, loss="smooth_loss")
    assert fits["lr"].exponents["N"] == pytest.approx(-0.713, abs=0.1)
    assert fits["lr"].exponents["D"] == pytest.approx(0.307, abs=0.1)
    assert fits["batch"].exponents["D"] == pytest.approx(0.571, abs=0.1)
