"""Bootstrap: full refits per replicate, run resampling, determinism across backends, honest intervals."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

import scalinglaws as sl
from scalinglaws.fitting.resample import _screen_counts, resample_runs
from scalinglaws.fitting.objective import Objective
from scalinglaws.fitting.optimize import Fitter
from scalinglaws.fitting.space import ParameterSpace

from .helpers import DATA, EPOCH, isoflop_grid, synthetic_points

#: Epoch AI's 95 % bootstrap intervals (4000 resamples; LAWS.md §1).
EPOCH_CI95 = {"alpha": (0.317, 0.373), "beta": (0.331, 0.415)}


@pytest.fixture(scope="module")
def small_fit():
    return sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed=3, grid=isoflop_grid(EPOCH, per_budget=7)))


def test_resampling_keeps_runs_together():
    runs = np.array([0, 0, 0, 1, 2, 2])  # run 0 has three checkpoints, run 2 two
    for seed in range(20):
        rows = resample_runs(runs, np.random.default_rng(seed))
        drawn = runs[rows]
        for k, size in ((0, 3), (1, 1), (2, 2)):
            assert np.sum(drawn == k) % size == 0  # a run is in the sample with all its rows, or not at all
        assert np.unique(drawn, return_counts=True)[1].sum() == rows.size


def test_every_replicate_screens_the_whole_grid(small_fit):
    """The counts trick equals screening each replicate's own data with every start of the grid."""
    law = small_fit.law
    space = ParameterSpace(law)
    X = {k: np.asarray(v) for k, v in small_fit.inputs.items()}
    y = np.asarray(small_fit.observed)
    fitter = Fitter()
    starts = fitter.start_points(law, space, X, y)
    rng = np.random.default_rng(0)
    rows = [rng.integers(0, y.size, y.size) for _ in range(3)]
    counts = np.stack([np.bincount(r, minlength=y.size) for r in rows], axis=1).astype(float)
    screened = _screen_counts(law, space, X, y, starts, counts, fitter)
    assert screened.shape == (len(starts), 3) and len(starts) == 4500
    for j, r in enumerate(rows):
        own = Objective(law, space, {k: v[r] for k, v in X.items()}, y[r]).values(starts)
        np.testing.assert_allclose(screened[:, j], own, rtol=1e-12)


def test_same_seed_same_replicates_on_any_number_of_workers(small_fit):
    a = sl.bootstrap(small_fit, 12, seed=7)
    b = sl.bootstrap(small_fit, 12, seed=7, n_jobs=2)
    c = sl.bootstrap(small_fit, 12, seed=8)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert a.converged.all() and a.n_resamples == 12


@pytest.mark.parametrize("n_jobs", [0, -2, 2.0, True])
def test_a_number_of_workers_that_means_nothing_is_refused(small_fit, n_jobs):
    with pytest.raises(sl.ScalingLawsError, match="n_jobs must be a number of processes >= 1, or -1"):
        sl.bootstrap(small_fit, 4, n_jobs=n_jobs)


def test_progress_bar_moves_in_one_process_and_changes_no_number(small_fit, capsys):
    """With n_jobs=1 the replicates are polished in several pieces when a bar is shown, so it counts up."""
    quiet = sl.bootstrap(small_fit, 20, seed=3, n_jobs=1, progress=False)
    capsys.readouterr()
    shown = sl.bootstrap(small_fit, 20, seed=3, n_jobs=1, progress=True)
    bar = capsys.readouterr().err
    assert re.search(r"\b\d+/10\b", bar)  # ten pieces (one, before, so the bar stood at 0/1 until the end)
    np.testing.assert_array_equal(shown.values, quiet.values)


def test_dask_cluster_gives_the_same_numbers_as_joblib(small_fit):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask = sl.bootstrap(small_fit, 8, seed=3, scheduler=client)
    on_joblib = sl.bootstrap(small_fit, 8, seed=3, n_jobs=2)
    np.testing.assert_array_equal(on_dask.values, on_joblib.values)


def test_unreachable_dask_scheduler_is_a_clear_error(small_fit):
    pytest.importorskip("distributed")
    with pytest.raises(sl.ScalingLawsError, match="cannot reach the Dask scheduler"):
        sl.bootstrap(small_fit, 4, scheduler="tcp://127.0.0.1:9")


def test_intervals_and_derived_quantities(small_fit):
    boot = sl.bootstrap(small_fit, 40, seed=1)
    ci = boot.ci(0.9).set_index("param")
    assert (ci["lower"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["upper"]).all()
    half = boot.ci(0.5).set_index("param")
    assert (half["upper"] - half["lower"] < ci["upper"] - ci["lower"]).all()
    exponent = boot.interval(lambda p: p["beta"] / (p["alpha"] + p["beta"]))
    assert exponent["lower"] < exponent["estimate"] < exponent["upper"]
    band = boot.band(N=[1e9, 7e10], D=[2e10, 1.4e12], kind="mean", model_error=False)
    assert (band["lower"] < band["loss"]).all() and (band["loss"] < band["upper"]).all()
    wide = boot.band(N=[1e9, 7e10], D=[2e10, 1.4e12], kind="observation", model_error=False)
    assert ((wide["upper"] - wide["lower"]) > (band["upper"] - band["lower"])).all()
    calibrated = boot.band(N=[1e9, 7e10], D=[2e10, 1.4e12])  # the default: a new run's loss, with model error
    assert (calibrated["lower"] <= wide["lower"]).all() and (calibrated["upper"] >= wide["upper"]).all()
    np.testing.assert_allclose(calibrated["noise_upper"], wide["upper"])
    alloc = sl.compute_optimal(boot, [1e21, 1e24])
    for col in ("N_opt", "D_opt", "tokens_per_param", "loss"):
        assert (alloc[f"{col}_lower"] <= alloc[col]).all() and (alloc[col] <= alloc[f"{col}_upper"]).all()
    assert "converged" in boot.summary() and len(boot.samples()) == 40


def test_residual_bootstrap(small_fit):
    boot = sl.bootstrap(small_fit, 20, method="residuals", seed=2)
    assert boot.converged.all() and boot.method == "residuals"
    ci = boot.ci().set_index("param")
    assert ci.loc["alpha", "lower"] < small_fit.params["alpha"] < ci.loc["alpha", "upper"]


def test_bad_bootstrap_arguments(small_fit):
    with pytest.raises(sl.ScalingLawsError, match="method must be auto or one of"):
        sl.bootstrap(small_fit, 10, method="jackknife")
    with pytest.raises(sl.ScalingLawsError, match="at least 2"):
        sl.bootstrap(small_fit, 1)
    with pytest.raises(sl.ScalingLawsError, match="level must be between"):
        sl.bootstrap(small_fit, 4).ci(1.5)


@pytest.fixture(scope="module")
def epoch_bootstrap(epoch_fit):
    return sl.bootstrap(epoch_fit, 400, seed=42, n_jobs=2)


@pytest.mark.slow
def test_epoch_intervals_match_the_published_width(epoch_bootstrap):
    """Acceptance: 95 % intervals of alpha and beta as wide as Epoch AI's (within a factor of 1.5)."""
    ci = epoch_bootstrap.ci(0.95).set_index("param")
    for name, (lo, hi) in EPOCH_CI95.items():
        ratio = (ci.loc[name, "upper"] - ci.loc[name, "lower"]) / (hi - lo)
        assert 1 / 1.5 <= ratio <= 1.5, (name, ratio)


@pytest.mark.slow
def test_warm_started_refits_would_collapse_the_intervals(epoch_bootstrap):
    """The regression guard: refits started only from the full-data optimum with L-BFGS-B's default stopping
    rules (the mistake LAWS.md §13.4–5 describes) stop near their start. Our intervals must stay within 2x of
    Epoch's published widths, and more than 2x wider than such collapsed ones."""
    df = pd.read_csv(DATA / "chinchilla_epoch.csv")
    df = df[~df["excluded_by_epoch"]]
    lN, lD, lL = (np.log(df[c].to_numpy()) for c in ("N", "D", "loss"))
    p = epoch_bootstrap.fit.params
    best = np.array([np.log(p["A"]), np.log(p["B"]), np.log(p["E"]), p["alpha"], p["beta"]])

    def objective(theta, idx):
        a, b, e, alpha, beta = theta
        return huber(1e-3, logsumexp([a - alpha * lN[idx], b - beta * lD[idx], np.full(idx.size, e)], axis=0)
                     - lL[idx]).sum()

    rng = np.random.default_rng(0)
    warm = np.array([minimize(objective, best, args=(rng.integers(0, lN.size, lN.size),), method="L-BFGS-B").x
                     for _ in range(100)])
    ours = epoch_bootstrap.ci(0.95).set_index("param")
    for j, name in ((3, "alpha"), (4, "beta")):
        width = ours.loc[name, "upper"] - ours.loc[name, "lower"]
        published = EPOCH_CI95[name][1] - EPOCH_CI95[name][0]
        collapsed = np.subtract(*np.percentile(warm[:, j], [97.5, 2.5]))
        assert width > published / 2, f"{name}: intervals shrank more than 2x"
        assert width > 2 * collapsed, name


@pytest.mark.slow
def test_coverage_of_the_n_opt_interval():
    """Acceptance: the 90 % interval of N_opt at 100x the largest fitted compute covers the truth in 80–97 %
    of 100 repeats (seeded synthetic Chinchilla data, 1 % noise, 9 IsoFLOP budgets × 13 sizes; 100 run-resampling
    replicates each). Measured: 94 % (on a 5 × 7 design the run bootstrap is conservative: 98 %)."""
    grid = isoflop_grid(EPOCH, budgets=np.geomspace(1e19, 1e21, 9), per_budget=13)
    target = 100 * 6 * np.max(grid[:, 0] * grid[:, 1])
    truth = sl.compute_optimal("chinchilla", target, params=EPOCH)["N_opt"].item()
    law = sl.get_law("chinchilla").with_grid(E=[1.0, 2.0], A=[100.0, 1000.0], B=[100.0, 3000.0],
                                             alpha=[0.2, 0.5], beta=[0.2, 0.5])
    covered = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        for repeat in range(100):
            fit = sl.fit(law, synthetic_points(EPOCH, 0.01, seed=1000 + repeat, grid=grid), top_k=2)
            band = sl.compute_optimal(sl.bootstrap(fit, 100, seed=repeat, top_k=2, n_jobs=2), target, level=0.9)
            covered.append(band["N_opt_lower"].item() <= truth <= band["N_opt_upper"].item())
    rate = np.mean(covered)
    assert 0.80 <= rate <= 0.97, rate
