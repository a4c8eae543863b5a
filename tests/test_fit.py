"""The robust fitter: Epoch AI's Chinchilla numbers, synthetic recovery, gradients, determinism, results."""

import dataclasses
import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scalinglaws as sl
from scalinglaws.fitting.objective import Objective, rho
from scalinglaws.fitting.space import ParameterSpace

from .helpers import DATA, EPOCH, isoflop_grid, shared, synthetic_points

#: Epoch AI's estimate (Besiroglu et al. 2024): the notebook vector of LAWS.md §1 (E = 1.81686). The E = 1.8172
#: often quoted as theirs is the plain Huber grid fit (test_matches_the_plain_huber_grid_fit_exactly).
EPOCH_PUBLISHED = EPOCH


# -- Acceptance 1: Epoch AI's Chinchilla refit -----------------------------------------------------------
def test_reproduces_epoch_estimates(epoch_fit):
    """E, alpha, beta within 1 % and A, B within 3 % of Epoch's estimate (their notebook vector)."""
    p = epoch_fit.params
    assert epoch_fit.converged and epoch_fit.n_points == 240 and epoch_fit.n_excluded == 5
    for name in ("E", "alpha", "beta"):
        assert p[name] == pytest.approx(EPOCH_PUBLISHED[name], rel=0.01), name
    for name in ("A", "B"):
        assert p[name] == pytest.approx(EPOCH_PUBLISHED[name], rel=0.03), name
    assert not epoch_fit.at_bound.any()
    # the only warning: the digitized points include 4 clear outliers (up to +5 % off the fit, 5.1-10 robust
    # standard deviations); a fifth at 4.9 (3.4 for the next) is inside since the robust scale leaves out the
    # residuals of the points the fit passes through (issue 17)
    assert len(epoch_fit.warnings) == 1 and epoch_fit.warnings[0].startswith("4 point(s) lie beyond 5 robust")


def test_compute_optimal_tokens_per_parameter_matches_epoch(epoch_fit):
    """Tokens per parameter within 5 % of Epoch's (their notebook vector) at the Chinchilla budget and others."""
    budgets = [1e21, 5.76e23, 1e25]
    ours = sl.compute_optimal(epoch_fit, budgets)["tokens_per_param"]
    theirs = sl.compute_optimal("chinchilla", budgets, params=EPOCH)["tokens_per_param"]
    np.testing.assert_allclose(ours, theirs, rtol=0.05)
    np.testing.assert_allclose(theirs, [21.5327, 18.3365, 17.0601], rtol=1e-5)  # LAWS.md fixtures


def test_matches_the_plain_huber_grid_fit_exactly(epoch_fit):
    """The 4,500-start grid + L-BFGS-B recipe (Hoffmann's procedure as Epoch replicated it) gives objective
    1.01827e-3 at E=1.8172, A=477.8, B=2143.4 (LAWS.md §1 step 5): we find the same optimum. This grid fit is
    not Epoch's estimate (E = 1.81686, their maximum-likelihood fit; test_reproduces_epoch_estimates)."""
    assert epoch_fit.objective == pytest.approx(1.01827e-3, rel=1e-5)
    p = epoch_fit.params
    np.testing.assert_allclose([p["E"], p["A"], p["B"], p["alpha"], p["beta"]],
                               [1.8172, 477.8, 2143.4, 0.3473, 0.3672], rtol=5e-4)
    assert len(epoch_fit.starts) == 4500  # Epoch's grid, screened in full


def test_bundled_chinchilla_points_equal_the_shared_copy():
    bundled = pd.read_csv(DATA / "chinchilla_epoch.csv")
    pd.testing.assert_frame_equal(bundled, pd.read_csv(shared("chinchilla_epoch.csv")))


def test_standard_errors_are_the_size_of_epochs_bootstrap(epoch_fit):
    """Asymptotic errors must be of the order of Epoch's bootstrap errors (A 124.5, B 1293, E 0.0257,
    alpha 0.0154, beta 0.0206): within a factor of 4 either way (the digitized points are correlated, which
    the bootstrap sees and an asymptotic formula does not)."""
    boot = dict(E=0.0257, A=124.5, B=1293, alpha=0.0154, beta=0.0206)
    for name, se in epoch_fit.errors.items():
        assert boot[name] / 4 < se < boot[name] * 4, name


# -- Acceptance 2: synthetic recovery ------------------------------------------------------------------
def test_exact_recovery_without_noise():
    data = synthetic_points(EPOCH, noise=0.0, seed=0)
    result = sl.fit("chinchilla", data)
    for name, value in EPOCH.items():
        assert result.params[name] == pytest.approx(value, rel=1e-5), name
    assert result.objective < 1e-12


def test_recovery_with_one_percent_noise():
    """9 IsoFLOP budgets (6e18–3e21 FLOPs) × 13 model sizes (N_opt/16 … 16·N_opt), 1 % log-normal noise, seed 7.

    Tolerances ≈ 3.5 standard deviations of the estimates over 30 seeds of this design (measured: E 1.4 %,
    alpha 3.7 %, beta 3.3 %, log A and log B ~0.2): E within 5 %, alpha and beta within 12 %, A and B within
    a factor of 2. Each estimate must also lie within 4 of its own standard errors (log scale for A, B), and
    the loss forecast at 100x the largest budget within 1 %.
    """
    data = synthetic_points(EPOCH, noise=0.01, seed=7)
    result = sl.fit("chinchilla", data)
    p, se = result.params, result.errors
    assert p["E"] == pytest.approx(EPOCH["E"], rel=0.05)
    assert p["alpha"] == pytest.approx(EPOCH["alpha"], rel=0.12)
    assert p["beta"] == pytest.approx(EPOCH["beta"], rel=0.12)
    for name in ("A", "B"):
        assert 0.5 < p[name] / EPOCH[name] < 2.0, name
        assert abs(np.log(p[name] / EPOCH[name])) < 4 * se[name] / p[name], name
    for name in ("E", "alpha", "beta"):
        assert abs(p[name] - EPOCH[name]) < 4 * se[name], name
    big = sl.compute_optimal("chinchilla", 3e23, params=EPOCH).iloc[0]
    assert result.predict(N=big.N_opt, D=big.D_opt) == pytest.approx(big.loss, rel=0.01)


_TRUE_PARAMS = st.fixed_dictionaries({
    "E": st.floats(1.5, 2.5), "A": st.floats(100.0, 2000.0), "B": st.floats(300.0, 5000.0),
    "alpha": st.floats(0.25, 0.45), "beta": st.floats(0.25, 0.45),
})


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(true=_TRUE_PARAMS, seed=st.integers(0, 2**16))
def test_recovery_over_many_true_laws(true, seed):
    """Any law in a realistic range, 0.2 % noise: every parameter within 5 standard errors of the truth (log
    scale for A, B; 5σ has probability 6e-7 for a calibrated error), and forecasts at 100x compute within 1 %."""
    data = synthetic_points(true, noise=0.002, seed=seed, grid=isoflop_grid(true))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        result = sl.fit("chinchilla", data, top_k=4)
    assert result.converged
    p, se = result.params, result.errors
    for name in ("E", "alpha", "beta"):
        assert abs(p[name] - true[name]) < 5 * se[name], name
    for name in ("A", "B"):
        assert abs(np.log(p[name] / true[name])) < 5 * se[name] / p[name], name
    big = sl.compute_optimal("chinchilla", 3e23, params=true).iloc[0]
    assert result.predict(N=big.N_opt, D=big.D_opt) == pytest.approx(big.loss, rel=0.01)


@pytest.mark.slow
def test_standard_errors_are_calibrated():
    """Over 40 seeds of 1 % noise, the spread of the estimates matches the mean reported standard error
    (ratio within 0.7–1.4 for E, alpha, beta; log scale for A, B)."""
    estimates, errors = [], []
    grid = isoflop_grid(EPOCH, per_budget=9)
    for seed in range(40):
        result = sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed, grid), top_k=3)
        v, s = result.values, result.stderr
        estimates.append([v[0], np.log(v[1]), np.log(v[2]), v[3], v[4]])
        errors.append([s[0], s[1] / v[1], s[2] / v[2], s[3], s[4]])
    ratio = np.std(estimates, axis=0, ddof=1) / np.mean(errors, axis=0)
    assert np.all((0.7 < ratio) & (ratio < 1.4)), ratio


# -- Acceptance 3: gradients and determinism -------------------------------------------------------------
@pytest.mark.parametrize("law", [sl.get_law("chinchilla"), sl.get_law("chinchilla").tie(beta="alpha"),
                                 sl.get_law("chinchilla").fix(E=1.8).tie(B="2*A")])
@pytest.mark.parametrize("loss", ["huber", "l2"])
def test_objective_gradient_matches_finite_differences(law, loss):
    data = synthetic_points(EPOCH, noise=0.01, seed=1)
    space = ParameterSpace(law)
    objective = Objective(law, space, {"N": data.N, "D": data.D}, data.loss.to_numpy(), loss=loss)
    rng = np.random.default_rng(3)
    for _ in range(5):
        theta = space.to_theta(law.values_of({**EPOCH, "B": EPOCH["A"] * 2})) + 0.05 * rng.standard_normal(space.n_free)
        f, grad = objective.value_and_grad(theta)
        fd = []
        for j in range(space.n_free):
            step = np.zeros(space.n_free)
            step[j] = 1e-7
            fd.append((objective.value_and_grad(theta + step)[0] - objective.value_and_grad(theta - step)[0]) / 2e-7)
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6 * np.abs(grad).max())


def test_screening_equals_pointwise_objective():
    data = synthetic_points(EPOCH, noise=0.01, seed=1)
    law = sl.get_law("chinchilla")
    space = ParameterSpace(law)
    objective = Objective(law, space, {"N": data.N, "D": data.D}, data.loss.to_numpy())
    starts = space.start_grid()[::97]
    batch = objective.values(starts)
    single = [objective.value_and_grad(t)[0] / objective.scale for t in starts]
    np.testing.assert_allclose(np.where(np.isfinite(batch), batch, 0), np.where(np.isfinite(single), single, 0),
                               rtol=1e-12)


def test_huber_fixtures():
    assert rho(np.array(5e-4), "huber", 1e-3) == pytest.approx(1.25e-7, rel=1e-12)
    assert rho(np.array(1e-2), "huber", 1e-3) == pytest.approx(9.5e-6, rel=1e-12)


def test_identical_results_for_identical_seeds():
    data = synthetic_points(EPOCH, noise=0.01, seed=2)
    a = sl.fit("chinchilla", data, random_starts=200, seed=11)
    b = sl.fit("chinchilla", data, random_starts=200, seed=11)
    c = sl.fit("chinchilla", data, random_starts=200, seed=12)
    assert a.to_json() == b.to_json()
    assert not np.array_equal(a.starts.start_alpha, c.starts.start_alpha)


# -- Bounds, ties, fixed parameters, diagnostics ---------------------------------------------------------
def test_tied_and_fixed_parameters():
    true = {**EPOCH, "beta": EPOCH["alpha"]}
    data = synthetic_points(true, noise=0.0, seed=0)
    law = sl.get_law("chinchilla").tie(beta="alpha").fix(E=true["E"])
    result = sl.fit(law, data)
    assert result.params["beta"] == result.params["alpha"] == pytest.approx(true["alpha"], rel=1e-5)
    assert result.params["E"] == true["E"] and result.errors["E"] == 0.0
    assert result.n_free == 3 and len(result.starts.columns) == 3 * 2 + 5
    assert result.errors["beta"] == pytest.approx(result.errors["alpha"], rel=1e-6)


def test_parameter_at_bound_is_flagged():
    data = synthetic_points(EPOCH, noise=0.002, seed=0)
    law = sl.get_law("chinchilla").bound(alpha=(0.0, 0.3))
    with pytest.warns(sl.AtBoundWarning, match="alpha"):
        result = sl.fit(law, data)
    assert result.at_bound.tolist() == [False, False, False, True, False]
    assert "AT BOUND" in result.summary()


def test_too_few_points():
    data = synthetic_points(EPOCH, noise=0.0, seed=0).head(5)
    with pytest.raises(sl.FitError, match="5 points cannot determine 5 free parameters"):
        sl.fit("chinchilla", data)


def test_excluded_rows_are_counted_not_fitted():
    data = synthetic_points(EPOCH, noise=0.0, seed=0)
    data["exclude"] = False
    data.loc[:4, "exclude"] = True
    data.loc[:4, "loss"] = 50.0  # would wreck the fit if used
    result = sl.fit("chinchilla", data)
    assert result.n_excluded == 5 and result.n_points == len(data) - 5
    assert result.params["alpha"] == pytest.approx(EPOCH["alpha"], rel=1e-5)


def test_unfittable_rows_are_reported():
    data = synthetic_points(EPOCH, noise=0.0, seed=0)
    data.loc[3, "loss"] = -1.0
    with pytest.raises(sl.InputError, match="row 3, column 'loss'"):
        sl.fit("chinchilla", data)


def test_unknown_settings_and_losses():
    data = synthetic_points(EPOCH, noise=0.0, seed=0)
    with pytest.raises(sl.FitError, match="unknown fit setting"):
        sl.fit("chinchilla", data, tolerance=3)
    with pytest.raises(sl.FitError, match="unknown loss"):
        sl.fit("chinchilla", data, loss="cauchy")


def test_l2_loglik_is_gaussian():
    data = synthetic_points(EPOCH, noise=0.01, seed=4)
    result = sl.fit("chinchilla", data, loss="l2")
    r = result.residuals
    expected = -0.5 * r.size * (np.log(2 * np.pi * np.mean(r**2)) + 1)
    assert result.loglik == pytest.approx(expected, rel=1e-12)
    assert result.aic == pytest.approx(2 * 6 - 2 * expected)
    assert result.bic == pytest.approx(6 * np.log(r.size) - 2 * expected)


def test_huber_loglik_beats_a_worse_fit():
    data = synthetic_points(EPOCH, noise=0.01, seed=4)
    best = sl.fit("chinchilla", data)
    worse = sl.fit(sl.get_law("chinchilla").fix(alpha=0.5), data)
    assert best.loglik > worse.loglik and best.aic < worse.aic


# -- FitResult -------------------------------------------------------------------------------------------
def test_result_is_immutable(epoch_fit):
    with pytest.raises(dataclasses.FrozenInstanceError):
        epoch_fit.converged = False
    with pytest.raises(ValueError):
        epoch_fit.values[0] = 0.0
    with pytest.raises(TypeError):
        epoch_fit.inputs["N"] = np.zeros(3)
    frame = epoch_fit.data
    frame.loc[0, "loss"] = -1
    assert epoch_fit.data.loc[0, "loss"] > 0


def test_json_and_pickle_round_trip(epoch_fit, tmp_path):
    path = tmp_path / "fit.json"
    sl.save(epoch_fit, path)
    again = sl.load(path)
    assert again == epoch_fit and again.to_json() == epoch_fit.to_json()
    assert sl.FitResult.from_json(epoch_fit.to_json()) == epoch_fit
    assert pickle.loads(pickle.dumps(epoch_fit)) == epoch_fit
    assert again.predict(N=7e10, D=1.4e12) == epoch_fit.predict(N=7e10, D=1.4e12)
    assert json.loads(path.read_text())["law"]["params"][0]["bounds"] == [0.0, None]


@pytest.mark.parametrize("content, message", [
    ("{\"format\": \"other\"}", "not a scalinglaws fit result"),
    ("[1, 2]", "not a scalinglaws fit result"),
    ("{\"format\": \"scalinglaws.FitResult\", \"version\": 1", "not valid JSON"),
    ("{\"format\": \"scalinglaws.FitResult\", \"version\": 1}", "incomplete or damaged"),
])
def test_broken_result_files(tmp_path, content, message):
    path = tmp_path / "fit.json"
    path.write_text(content)
    with pytest.raises(sl.InputError, match=message):
        sl.load(path)
    with pytest.raises(FileNotFoundError):
        sl.load(tmp_path / "missing.json")


def test_summary_reports_everything(epoch_fit):
    text = epoch_fit.summary()
    for needle in ("chinchilla", "240 points, 5 excluded", "alpha", "std err", "converged", "objective 0.00101827",
                   "RMS", "R^2", "AIC", "BIC", "of 8 polished starts (from 4500 screened)"):
        assert needle in text, needle


def test_predict_shapes_and_data(epoch_fit):
    assert isinstance(epoch_fit.predict(N=7e10, D=1.4e12), float)
    assert epoch_fit.predict(N=np.array([1e9, 1e10]), D=2e10).shape == (2,)
    table = epoch_fit.data
    np.testing.assert_allclose(epoch_fit.predict(table), table["predicted"], rtol=1e-12)
    assert {"run", "N", "D", "loss", "predicted", "residual"} <= set(table.columns)


def test_to_lmfit(epoch_fit):
    params = sl.fit(sl.get_law("chinchilla").tie(beta="alpha"), synthetic_points(EPOCH, 0.0, 0)).to_lmfit()
    assert params["beta"].expr == "alpha" and not params["beta"].vary
    assert params["alpha"].stderr > 0
    lm = epoch_fit.to_lmfit()
    assert lm["alpha"].value == epoch_fit.params["alpha"] and lm["alpha"].min == 0.0
    assert lm["E"].stderr == pytest.approx(epoch_fit.errors["E"])
    assert -1 <= lm["alpha"].correl["A"] <= 1


class _PowerLaw(sl.Law):
    """L(x) = L_inf + (x0/x)^alpha, a law of one input written by a user as a Law subclass."""

    name = "test-power"
    inputs = ("x",)
    formula = "L = L_inf + (x0/x)^alpha"
    default_params = (sl.Param("L_inf", (0.0, np.inf), grid=(1.0, 2.0), log=True),
                      sl.Param("x0", (0.0, np.inf), grid=(1e3, 1e5, 1e7), log=True),
                      sl.Param("alpha", (0.0, 3.0), grid=(0.1, 0.5, 1.0)))

    def evaluate(self, X, L_inf, x0, alpha):
        return L_inf + (x0 / X["x"]) ** alpha

    def gradient(self, X, L_inf, x0, alpha):
        t = (x0 / X["x"]) ** alpha
        return (np.ones_like(t), alpha * t / x0, t * np.log(x0 / X["x"]))


def test_a_user_law_of_other_inputs_fits_with_excluded_rows():
    x = np.geomspace(1e4, 1e9, 30)
    data = pd.DataFrame({"x": x, "loss": 2.0 + (1e5 / x) ** 0.3, "exclude": ["no"] * 28 + ["yes", "yes"]})
    data.loc[28:, "loss"] = 99.0
    result = sl.fit(_PowerLaw(), data)
    np.testing.assert_allclose(result.values, [2.0, 1e5, 0.3], rtol=1e-5)
    assert result.n_excluded == 2 and result.n_points == 28
    with pytest.raises(sl.LawError, match="needs column"):
        sl.fit(_PowerLaw(), data.rename(columns={"x": "N"}))
