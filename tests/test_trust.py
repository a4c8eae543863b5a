"""Profile-likelihood intervals, the lmfit path, diagnostics, and the compare command."""

import warnings

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl

from .helpers import DATA, EPOCH, isoflop_grid, shared, synthetic_points
from .helpers import run_cli as _run


@pytest.fixture(scope="module")
def fit_1pct():
    return sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed=4))


def test_profile_interval_contains_the_estimate_and_is_of_the_right_size(fit_1pct):
    out = sl.profile_interval(fit_1pct, "alpha", level=0.9)
    assert out["lower"] < out["estimate"] < out["upper"]
    assert not out["open_lower"] and not out["open_upper"]
    width = out["upper"] - out["lower"]
    se = fit_1pct.errors["alpha"]
    assert 0.5 * 2 * 1.645 * se < width < 2 * 2 * 1.645 * se  # same order as the asymptotic interval
    profile = out["profile"]
    assert profile["statistic"].min() == pytest.approx(0.0, abs=1e-6)
    assert out["profile"]["statistic"].iloc[0] > 2.706 and out["profile"]["statistic"].iloc[-1] > 2.706


def test_profile_of_a_log_scale_parameter(fit_1pct):
    out = sl.profile_interval(fit_1pct, "A", level=0.68, points=11)
    assert 0 < out["lower"] < out["estimate"] < out["upper"]
    with pytest.raises(sl.ScalingLawsError, match="only fitted parameters"):
        sl.profile_interval(sl.fit(sl.get_law("chinchilla").fix(E=1.8), synthetic_points(EPOCH, 0.01, 4)), "E")


def test_lmfit_minimizer_reaches_the_least_squares_fit(fit_1pct):
    pytest.importorskip("lmfit")
    mini = sl.to_lmfit_minimizer(fit_1pct)
    result = mini.minimize(method="leastsq")
    l2 = sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed=4), loss="l2")
    for name in ("E", "alpha", "beta"):
        assert result.params[name].value == pytest.approx(l2.params[name], rel=1e-4)


def test_narrow_range_and_too_few_points_are_flagged():
    grid = isoflop_grid(EPOCH, budgets=np.array([1e20, 1.5e20]), per_budget=7, spread=2.0)
    data = synthetic_points(EPOCH, 0.003, seed=1, grid=grid)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sl.fit("chinchilla", data)
    kinds = {type(w.message) for w in caught}
    assert sl.DataWarning in kinds
    text = " ".join(result.warnings)
    assert "less than a decade in N" in text and "fewer than 3 per parameter" in text


def test_outlying_runs_are_flagged():
    data = synthetic_points(EPOCH, 0.002, seed=1)
    data.loc[7, "loss"] *= 1.2
    with pytest.warns(sl.DataWarning, match=r"1 point\(s\) lie beyond 5 robust.*run r7, observed \+20%"):
        sl.fit("chinchilla", data)


def test_fit_with_bootstrap_prints_intervals(capsys):
    code, out, err = _run(capsys, "fit", DATA / "example_points.csv", "--bootstrap", "20", "--quiet")
    assert code == 0, err
    assert "Bootstrap of chinchilla: 20 replicates" in out and "parameter uncertainty (20 bootstrap replicates" in out


def test_compare_on_synthetic_data(capsys, tmp_path):
    path = tmp_path / "runs.csv"
    synthetic_points(EPOCH, 0.003, seed=2).to_csv(path, index=False)
    code, out, err = _run(capsys, "compare", path, "--laws", "chinchilla,kaplan", "--bootstrap", "20",
                          "--out", tmp_path / "table.csv", "--plot", tmp_path / "compare.png", "--quiet")
    assert code == 0, err
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["law", "converged"])
    assert lines[header + 1].split()[0] == "chinchilla"  # the true law ranks first
    table = pd.read_csv(tmp_path / "table.csv")
    assert {"law", "in_range_error", "heldout_error", "band_coverage", "aic", "bic", "delta_aic"} <= set(table.columns)
    assert table["band_coverage"].between(0, 1).all()
    assert (tmp_path / "compare.png").stat().st_size > 10_000


@pytest.mark.parametrize("args, message", [
    (["--laws", "chinchilla,nope"], "unknown law 'nope'"),
    (["--laws", ","], "give at least one law"),
    (["--by", "Q"], "Invalid value for '--by'"),
    (["--cutoff", "huge"], "'huge' is not a number"),
    (["--bootstrap", "-3"], "'-3' must be at least 0"),
    (["--cutoff", "1e30"], "leaves nothing to test"),
    (["--laws", "data-constrained"], "missing column 'U'"),
])
def test_compare_bad_arguments(capsys, args, message):
    code, _, err = _run(capsys, "compare", DATA / "example_points.csv", "--bootstrap", "0", *args)
    assert code == 2 and err.count("\n") == 1 and message in err, err


@pytest.mark.slow
def test_compare_on_real_grids(capsys, tmp_path):
    """Acceptance: the backtest table and plot on one Porian configuration and on the Step Law sweep."""
    porian = pd.read_csv(shared("isoflop_porian.csv"))
    one = porian[(porian.dataset == "rw") & porian.config.str.startswith("tuned")]
    steplaw = pd.read_csv(shared("steplaw_dense_runs.csv"))
    best = steplaw.loc[steplaw.groupby(["N", "D"])["loss"].idxmin()]
    for name, frame, extra in (("porian.csv", one, ["--col", "C=budget_flops"]), ("steplaw.csv", best, ["--by", "N"])):
        path = tmp_path / name
        frame.to_csv(path, index=False)
        code, out, err = _run(capsys, "compare", path, *extra, "--bootstrap", "30", "--n-jobs", "2", "--quiet",
                              "--plot", tmp_path / f"{name}.png")
        assert code == 0, err
        for law in ("chinchilla", "kaplan", "farseer"):
            assert law in out
        assert "in band" in out and "AIC" in out and "BIC" in out
        assert (tmp_path / f"{name}.png").exists()


def _square(x):
    return x * x


def test_task_runner_keeps_order_and_shows_progress_only_when_asked(capsys):
    from scalinglaws._parallel import run_tasks

    assert run_tasks(_square, [(i,) for i in range(7)], n_jobs=2) == [i * i for i in range(7)]
    run_tasks(_square, [(i,) for i in range(3)], description="quiet")  # stderr is not a terminal here
    assert "quiet" not in capsys.readouterr().err
    run_tasks(_square, [(i,) for i in range(3)], progress=True, description="shown")
    assert "shown" in capsys.readouterr().err
