"""The batched Levenberg-Marquardt polish against the per-start scipy reference (L-BFGS-B + trust-region
refinement): the same optima on the zoo, Epoch's Chinchilla data, Farseer, with bounds, ties, fixed parameters
and weights; determinism and independence of the problems of a batch."""

import sys
import warnings

import numpy as np
import pytest
from scipy.optimize import OptimizeResult

import scalinglaws as sl
from scalinglaws.fitting.batched import MESSAGES, BatchResult, polish, refit_replicates
from scalinglaws.fitting.objective import Objective
from scalinglaws.fitting.optimize import Fitter, _prepare
from scalinglaws.fitting.space import ParameterSpace
from scalinglaws.laws.curves import MultiPower

from .helpers import DATA, EPOCH, isoflop_grid, synthetic_points
from .test_zoo import EXAMPLES, FARSEER, FARSEER_GRID, NAMES, _data, _law

#: Objectives of the two paths agree to this relative tolerance (the issue's acceptance: 1e-9).
SAME = 1e-9


def _both(law, data, **settings):
    """The fit with the batched polish and with the per-start scipy reference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        return (sl.fit(law, data, polish="batched", **settings), sl.fit(law, data, polish="lbfgsb", **settings))


def _objective(law, data, **kwargs):
    """The fitter's Objective and start points for a law and data."""
    table, _ = _prepare(law, data, None)
    space = ParameterSpace(law)
    X, y = law.inputs_of(table), table["loss"].to_numpy(float)
    objective = Objective(law, space, X, y, **kwargs)
    fitter = Fitter(**kwargs)
    return objective, fitter.start_points(law, space, X, y)


def test_batched_is_the_default_polish():
    assert Fitter().polish == "batched"
    with pytest.raises(sl.FitError, match="'batched', 'lbfgsb', 'trf' or 'adamw'"):
        Fitter(polish="newton")


# -- the zoo ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in NAMES if _law(n).batched_polish])
def test_both_paths_reach_the_same_optimum_on_the_zoo(name):
    """Every law of the zoo's example table (but Multi-Power, which opts out: next test), 0.1 % noise: the same
    objective (1e-9 relative), the same parameters (1e-3 relative: the richer laws are only weakly determined
    by these data) and forecasts."""
    law = _law(name)
    batched, reference = _both(law, _data(name, 0.001))
    assert batched.converged and reference.converged
    assert batched.objective == pytest.approx(reference.objective, rel=SAME)
    np.testing.assert_allclose(batched.values, reference.values, rtol=1e-3, atol=1e-6)
    far = EXAMPLES[name].far
    assert batched.predict(**far) == pytest.approx(reference.predict(**far), rel=1e-6)


@pytest.fixture(scope="module")
def multi_power():
    """The zoo's Multi-Power example (0.1 % noise): its objective and a start near the truth."""
    law = _law("multi-power")
    objective, _ = _objective(law, _data("multi-power", 0.001))
    start = objective.space.to_theta(law.values_of(EXAMPLES["multi-power"].params)) + 0.05
    return objective, start[None, :]


def test_multi_power_opts_out_of_the_batched_polish(multi_power, monkeypatch):
    """Multi-Power declares batched_polish = False (its evaluation is arithmetic-bound and Gauss-Newton steps
    crawl along its degenerate valley): the default polish then runs L-BFGS-B from each start."""
    assert not MultiPower.batched_polish and sl.get_law("chinchilla").batched_polish
    objective, start = multi_power
    calls = []

    def lbfgsb(self, objective, space, theta0):
        calls.append(theta0)
        return OptimizeResult(x=theta0, fun=1.0, success=True, nit=0, message="stub")

    monkeypatch.setattr(sys.modules["scalinglaws.fitting.optimize"], "polish_runs",
                        lambda *args, **kwargs: pytest.fail("the batched polish was used"))
    monkeypatch.setattr(Fitter, "_lbfgsb", lbfgsb)
    monkeypatch.setattr(Fitter, "_refine", lambda self, objective, space, res: res)
    Fitter().search(objective, objective.space, start, objective.values(start), top_k=1)
    assert len(calls) == 1


def test_the_solver_itself_handles_a_curve_law(multi_power):
    """Called directly, the batched solver also polishes a curve law: from the same start it reaches the
    reference's optimum."""
    objective, start = multi_power
    result = polish(objective, start)
    reference = Fitter(polish="lbfgsb").search(objective, objective.space, start, objective.values(start))[1][0]
    assert result.converged.all()
    assert result.objective[0] == pytest.approx(reference.fun / objective.scale, rel=SAME)


# -- Epoch AI's Chinchilla data --------------------------------------------------------------------------
def test_epoch_chinchilla_fit_is_the_reference_optimum():
    """The full 4,500-start fit: the same objective to 1e-9 relative, parameters to 1e-6, and Epoch's value."""
    batched, reference = _both("chinchilla", sl.read_points(DATA / "chinchilla_epoch.csv"))
    assert batched.objective == pytest.approx(reference.objective, rel=SAME)
    assert batched.objective == pytest.approx(1.01827e-3, rel=1e-5)
    np.testing.assert_allclose(batched.values, reference.values, rtol=1e-6)
    np.testing.assert_allclose(batched.stderr, reference.stderr, rtol=1e-4)
    assert batched.converged and batched.n_agreeing_starts == reference.n_agreeing_starts == 8


def test_every_polished_epoch_start_reaches_the_reference_optimum():
    """Each of the 8 best screened starts, polished in one batch, ends where the reference does."""
    objective, starts = _objective(sl.get_law("chinchilla"), sl.read_points(DATA / "chinchilla_epoch.csv"))
    best = np.argsort(objective.values(starts), kind="stable")[:8]
    result = polish(objective, starts[best])
    reference = sl.fit("chinchilla", sl.read_points(DATA / "chinchilla_epoch.csv"), polish="lbfgsb")
    assert isinstance(result, BatchResult) and result.converged.all()
    np.testing.assert_allclose(result.objective, reference.objective, rtol=SAME)
    assert set(result.message) <= set(MESSAGES.values())
    assert (result.iterations > 0).all() and (result.iterations < 200).all()


# -- ill-conditioned, bounds, ties, fixed, losses -----------------------------------------------------------
def test_farseer_ill_conditioned_fit():
    """Farseer on a Farseer-like grid (25 sizes × 19 token counts, 0.3 % noise): nine nearly degenerate
    parameters, where L-BFGS-B alone stalls and the reference needs its trust-region refinement."""
    law = sl.get_law("farseer")
    X = {"N": FARSEER_GRID.N.to_numpy(), "D": FARSEER_GRID.D.to_numpy()}
    rng = np.random.default_rng(42)
    loss = law.evaluate(X, *law.values_of(FARSEER)) * np.exp(0.003 * rng.standard_normal(len(FARSEER_GRID)))
    batched, reference = _both(law, FARSEER_GRID.assign(loss=loss))
    assert batched.converged
    assert batched.objective == pytest.approx(reference.objective, rel=SAME)
    np.testing.assert_allclose(batched.values, reference.values, rtol=1e-3, atol=1e-5)
    assert batched.predict(N=3e10, D=3e12) == pytest.approx(reference.predict(N=3e10, D=3e12), rel=1e-6)


def test_a_parameter_that_ends_on_its_bound():
    data = synthetic_points(EPOCH, noise=0.002, seed=0)
    law = sl.get_law("chinchilla").bound(alpha=(0.0, 0.3))
    batched, reference = _both(law, data)
    assert batched.params["alpha"] == reference.params["alpha"] == 0.3
    assert batched.at_bound.tolist() == reference.at_bound.tolist() == [False, False, False, True, False]
    assert batched.converged
    assert batched.objective == pytest.approx(reference.objective, rel=SAME)
    np.testing.assert_allclose(batched.values, reference.values, rtol=1e-6)


def test_bounds_given_to_the_solver_are_kept():
    """Bounds passed to the solver (here tighter than the law's) hold every end point inside them, and the best
    end point is the reference's for the law with those bounds, from the same (screened) starts."""
    data = synthetic_points(EPOCH, 0.01, seed=1)
    objective, _ = _objective(sl.get_law("chinchilla"), data)
    bounded, starts = _objective(sl.get_law("chinchilla").bound(alpha=(0.36, 0.5), beta=(0.0, 0.3)), data)
    screened = bounded.values(starts)
    theta0 = starts[np.argsort(screened, kind="stable")[:4]]
    bounds = [(None, None), (None, None), (None, None), (0.36, 0.5), (0.0, 0.3)]
    result = polish(objective, theta0, bounds=bounds)
    assert ((result.theta[:, 3] >= 0.36) & (result.theta[:, 3] <= 0.5) & (result.theta[:, 4] <= 0.3)).all()
    assert result.converged.all()
    _, runs, best = Fitter(polish="lbfgsb", top_k=4).search(bounded, bounded.space, starts, screened)
    assert result.objective.min() == pytest.approx(runs[best].fun / bounded.scale, rel=SAME)
    assert result.theta[np.argmin(result.objective), 3] == 0.36  # the optimum has alpha on its lower bound


@pytest.mark.parametrize("law", [sl.get_law("chinchilla").tie(beta="alpha").fix(E=1.8),
                                 sl.get_law("chinchilla").fix(E=1.8).tie(B="2*A"),
                                 sl.get_law("chinchilla-tied")], ids=["tie-and-fix", "tie-expression", "tied-law"])
def test_ties_and_fixed_parameters(law):
    batched, reference = _both(law, synthetic_points(EPOCH, noise=0.01, seed=5))
    assert batched.converged
    assert batched.objective == pytest.approx(reference.objective, rel=SAME)
    np.testing.assert_allclose(batched.values, reference.values, rtol=1e-6)


def test_least_squares_loss():
    batched, reference = _both("chinchilla", synthetic_points(EPOCH, noise=0.01, seed=4), loss="l2")
    assert batched.objective == pytest.approx(reference.objective, rel=SAME)
    np.testing.assert_allclose(batched.values, reference.values, rtol=1e-6)


# -- weights, observations per problem, bootstrap --------------------------------------------------------
def test_a_weighted_problem_is_the_fit_on_the_resampled_rows():
    """A bootstrap replicate as counts of each point equals the fit on the resampled rows themselves, with
    the batched solver and with the reference."""
    law = sl.get_law("chinchilla")
    data = synthetic_points(EPOCH, 0.01, seed=3)
    objective, starts = _objective(law, data)
    rng = np.random.default_rng(0)
    rows = [rng.integers(0, objective.n, objective.n) for _ in range(3)]
    counts = np.array([np.bincount(r, minlength=objective.n) for r in rows], dtype=float)
    theta0 = starts[np.argsort(objective.values(starts), kind="stable")[:2]]
    weighted = polish(objective, np.repeat(theta0, 3, axis=0), weights=np.tile(counts, (2, 1)))
    for j, r in enumerate(rows):
        own = Objective(law, objective.space, {k: v[r] for k, v in objective.X.items()}, data["loss"].to_numpy()[r])
        alone = polish(own, theta0)
        ends = [j, j + 3]
        np.testing.assert_allclose(weighted.objective[ends], alone.objective, rtol=1e-12)
        np.testing.assert_allclose(weighted.theta[ends], alone.theta, rtol=1e-7, atol=1e-9)
        _, runs, best = Fitter(polish="lbfgsb").search(own, own.space, theta0, own.values(theta0))
        assert weighted.objective[ends].min() == pytest.approx(runs[best].fun / own.scale, rel=SAME)


def test_groups_share_weight_rows():
    objective, starts = _objective(sl.get_law("chinchilla"), synthetic_points(EPOCH, 0.01, seed=3))
    theta0 = starts[np.argsort(objective.values(starts), kind="stable")[:3]]
    counts = np.random.default_rng(1).integers(0, 3, (2, objective.n)).astype(float)
    grouped = polish(objective, np.vstack([theta0, theta0]), weights=counts, groups=[0, 0, 0, 1, 1, 1])
    spelled = polish(objective, np.vstack([theta0, theta0]), weights=np.repeat(counts, 3, axis=0))
    np.testing.assert_array_equal(grouped.theta, spelled.theta)
    with pytest.raises(ValueError, match="weights must have shape"):
        polish(objective, theta0, weights=counts)


def test_per_problem_observations():
    """A residual-bootstrap problem (its own observations) equals a fit of an objective on those observations."""
    law = sl.get_law("chinchilla")
    data = synthetic_points(EPOCH, 0.01, seed=3)
    objective, starts = _objective(law, data)
    theta0 = starts[np.argsort(objective.values(starts), kind="stable")[:2]]
    y2 = data["loss"].to_numpy() * np.exp(0.01 * np.random.default_rng(2).standard_normal(objective.n))
    own = polish(Objective(law, objective.space, objective.X, y2), theta0)
    shared = polish(objective, theta0, log_y=np.log(y2))
    np.testing.assert_array_equal(own.theta, shared.theta)


def test_refit_replicates_matches_the_per_replicate_reference():
    """Replicates refitted together equal replicates refitted one by one with the scipy path (the same
    optimum to 1e-9 for nearly all; a replicate whose starts fall into different basins may differ)."""
    law = sl.get_law("chinchilla")
    fit = sl.fit(law, synthetic_points(EPOCH, 0.01, seed=3, grid=isoflop_grid(EPOCH, per_budget=7)))
    fast = sl.bootstrap(fit, 30, seed=4)
    slow = sl.bootstrap(sl.fit(law, fit.data, polish="lbfgsb"), 30, seed=4)
    close = np.all(np.isclose(fast.values, slow.values, rtol=1e-4), axis=1)
    assert fast.converged.all() and close.mean() >= 0.9
    ci_fast, ci_slow = fast.ci(0.9).set_index("param"), slow.ci(0.9).set_index("param")
    np.testing.assert_allclose(ci_fast[["lower", "upper"]], ci_slow[["lower", "upper"]], rtol=0.02)


def test_residual_bootstrap_matches_the_reference():
    law = sl.get_law("chinchilla")
    fit = sl.fit(law, synthetic_points(EPOCH, 0.01, seed=3, grid=isoflop_grid(EPOCH, per_budget=7)))
    fast = sl.bootstrap(fit, 8, method="residuals", seed=2)
    slow = sl.bootstrap(sl.fit(law, fit.data, polish="lbfgsb"), 8, method="residuals", seed=2)
    assert fast.converged.all()
    assert np.all(np.isclose(fast.values, slow.values, rtol=1e-4), axis=1).sum() >= 7


def test_a_replicate_without_a_finite_start_is_a_failed_replicate():
    law = sl.get_law("chinchilla")
    data = synthetic_points(EPOCH, 0.01, seed=3)
    objective, starts = _objective(law, data)
    fitter = Fitter(top_k=2)
    rows = np.arange(objective.n)
    good = (rows, starts[:10], objective.values(starts[:10]), None)
    bad = (rows, starts[:2], np.array([np.inf, np.inf]), None)
    out = refit_replicates(fitter, law, objective.X, np.exp(objective.log_y), [good, bad])
    assert out[0][1] and np.isfinite(out[0][0]).all()
    assert not out[1][1] and np.isnan(out[1][0]).all()


# -- robustness, determinism -----------------------------------------------------------------------------
def test_non_finite_starts_and_steps():
    """A start where the law overflows fails alone ("not finite at the start"); the others are unaffected."""
    objective, starts = _objective(sl.get_law("chinchilla"), synthetic_points(EPOCH, 0.01, seed=1))
    good = starts[np.argsort(objective.values(starts), kind="stable")[:2]]
    broken = good[0].copy()
    broken[1] = 800.0  # log A: A = e^800 overflows
    result = polish(objective, np.vstack([good, broken]))
    alone = polish(objective, good)
    np.testing.assert_array_equal(result.theta[:2], alone.theta)
    assert result.status[2] == -1 and not result.converged[2] and result.objective[2] == np.inf
    assert result.message[2] == "the law is not finite at the start"


def test_problems_of_a_batch_are_independent_and_deterministic():
    """The same numbers, bit for bit, whether a problem is solved alone, in a batch, or again; bootstraps
    with one seed are identical."""
    objective, starts = _objective(sl.get_law("chinchilla"), synthetic_points(EPOCH, 0.01, seed=6))
    theta0 = starts[np.argsort(objective.values(starts), kind="stable")[:6]]
    together = polish(objective, theta0)
    again = polish(objective, theta0)
    np.testing.assert_array_equal(together.theta, again.theta)
    for i in range(len(theta0)):
        alone = polish(objective, theta0[i : i + 1])
        np.testing.assert_array_equal(alone.theta[0], together.theta[i])
        assert alone.iterations[0] == together.iterations[i]
    fit = sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed=3, grid=isoflop_grid(EPOCH, per_budget=7)))
    np.testing.assert_array_equal(sl.bootstrap(fit, 10, seed=9).values, sl.bootstrap(fit, 10, seed=9).values)
    a = sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed=2), random_starts=100, seed=11)
    b = sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed=2), random_starts=100, seed=11)
    assert a.to_json() == b.to_json()


def test_input_checks():
    objective, starts = _objective(sl.get_law("chinchilla"), synthetic_points(EPOCH, 0.01, seed=1))
    with pytest.raises(ValueError, match="5 free parameters"):
        polish(objective, starts[:2, :3])
    with pytest.raises(ValueError, match="unknown loss"):
        polish(objective, starts[:2], loss="cauchy")
    with pytest.raises(ValueError, match="bounds for 2 parameters"):
        polish(objective, starts[:2], bounds=[(0, 1), (0, 1)])
    empty = polish(objective, starts[:0])
    assert empty.theta.shape == (0, 5) and empty.message == ()
