"""Loss-curve laws: Multi-Power fixtures and accuracy, fitting curves (and its bad inputs), curve forecasts."""

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.cli import main
from scalinglaws.fitting.curves import fit_curves
from scalinglaws.forecasting.curves import best_cooldown, continue_run, predict_curve
from scalinglaws.laws import MultiPower, ScheduleSet
from scalinglaws.schedules import constant, cosine, from_array, parse_schedule, wsd

from .helpers import law_curves, shared

PUBLISHED = {  # LAWS.md §7, src/config.py PARAMS (L0, A, alpha, B, C, beta, gamma)
    "25M": dict(L0=3.04045406, A=0.52468604, alpha=0.50786857, B=363.78751622, C=2.06560812, beta=0.58279013,
                gamma=0.64142257),
    "100M": dict(L0=2.6514477, A=0.60115152, alpha=0.45295811, B=437.9464276, C=2.13245612, beta=0.59785199,
                 gamma=0.65523644),
    "400M": dict(L0=2.37474466, A=0.65421216, alpha=0.42878731, B=523.42464371, C=2.02462735, beta=0.59350493,
                 gamma=0.63472457),
}
SPECS = {"cosine_24000": "cosine:steps=24000,peak=3e-4,final=3e-5,warmup=2160",
         "constant_24000": "constant:steps=24000,peak=3e-4,warmup=2160",
         "wsd_20000_24000": "wsd:steps=24000,peak=3e-4,final=3e-5,warmup=2160,cooldown=4000,shape=exp"}
FIXTURES = {  # t = 2160, 12000, 20000, 23999
    ("cosine_24000", "25M"): [4.07045, 3.41580, 3.32880, 3.31519],
    ("cosine_24000", "400M"): [3.57950, 2.88928, 2.77529, 2.75707],
    ("constant_24000", "25M"): [4.07045, 3.43548, 3.36590, 3.34585],
    ("constant_24000", "400M"): [3.57950, 2.92329, 2.84122, 2.81684],
    ("wsd_20000_24000", "25M"): [4.07045, 3.43548, 3.36590, 3.26626],
    ("wsd_20000_24000", "400M"): [3.57950, 2.92329, 2.84122, 2.69981],
}


def _naive_mpl(lr, t, p):
    """The authors' formula, written as their loop: O(t) per step."""
    lr_sum = np.cumsum(lr)
    total = p["L0"] + p["A"] * lr_sum[t] ** -p["alpha"]
    for k in range(1, t + 1):
        gap = lr[k] - lr[k - 1]
        if gap:
            s = lr_sum[t] - lr_sum[k - 1]
            total += p["B"] * gap * (1 - (p["C"] * max(lr[k], 1e-10) ** -p["gamma"] * s + 1) ** -p["beta"])
    return total


@pytest.mark.parametrize("schedule, size", sorted(FIXTURES))
def test_multi_power_fixtures(schedule, size):
    law = MultiPower({schedule: parse_schedule(SPECS[schedule])}, bins=None)
    got = law(run_index=np.zeros(4), step=np.array([2160, 12000, 20000, 23999]), **PUBLISHED[size])
    np.testing.assert_allclose(got, FIXTURES[schedule, size], rtol=1e-5)


def test_multi_power_toy_fixture_and_naive_loop():
    lr = np.array([1, 1, 1, 0.5, 0.5, 0.25])
    p = dict(L0=2, A=1, alpha=0.5, B=1, C=1, beta=0.5, gamma=0.5)
    law = MultiPower({"toy": from_array(lr, warmup=0)}, bins=None)
    got = law(run_index=np.zeros(6), step=np.arange(6), **p)
    np.testing.assert_allclose(got, [3, 2.70711, 2.57735, 2.41721, 2.32180, 2.23974], rtol=1e-5)
    np.testing.assert_allclose(got, [_naive_mpl(lr, t, p) for t in range(6)], rtol=1e-12)


def test_fast_evaluation_is_accurate_and_cheap():
    """The fast evaluation against the exact sum on the published runs (observations every 128 steps): < 1e-5
    relative, with a number of kernel terms per observation that grows with the log of the schedule's length
    (tests/test_curve_cost.py measures the cost and accuracy in more detail)."""
    schedules = ScheduleSet({k: parse_schedule(v) for k, v in SPECS.items()})
    steps = np.arange(2176, 24000, 128)
    X = {"run_index": np.repeat(np.arange(3), steps.size), "step": np.tile(steps, 3)}
    exact = MultiPower(schedules, bins=None)
    fast = MultiPower(schedules)
    e = exact.evaluate(X, *exact.values_of(PUBLISHED["25M"]))
    g = fast.evaluate(X, *fast.values_of(PUBLISHED["25M"]))
    assert np.max(np.abs(g / e - 1)) < 1e-5

    def terms(law, X):
        groups = law._plans(law._observed(X))
        return sum(plan.terms for *_, pieces in groups for _, _, plan in pieces) / np.size(X["step"])

    long = MultiPower(ScheduleSet({"cosine": cosine(240000, 3e-4, final=3e-5, warmup=2160)}))
    X_long = {"run_index": np.zeros(steps.size), "step": steps * 10}
    assert terms(fast, X) < 60 and terms(long, X_long) < 80  # not the 24,000 or 240,000 change points


@pytest.mark.slow
def test_grouped_evaluation_on_every_published_run():
    """The documented accuracy of the default grouping (laws/curves.py): with the published coefficients at
    every released observation of the 27 runs, at most 1.3e-5 relative (cosine_72000), 8.2e-6 on the
    24,000-step runs; asserted with a margin."""
    curves = pd.read_csv(shared("lr_schedule_curves.csv"))
    per_step = pd.read_csv(shared("lr_schedule_lr_per_step.csv"))
    worst = {}
    for sid, g in per_step.groupby("schedule_id"):
        schedule = from_array(g["lr"].to_numpy(), warmup=2160)
        for size, p in PUBLISHED.items():
            steps = curves.loc[curves["run"] == f"mpl_{size}_{sid}", "step"].to_numpy()
            X = {"run_index": np.zeros(np.sum(steps < schedule.steps)), "step": steps[steps < schedule.steps]}
            exact = MultiPower({sid: schedule}, bins=None)
            grouped = MultiPower({sid: schedule})
            e, g_ = exact.evaluate(X, *exact.values_of(p)), grouped.evaluate(X, *grouped.values_of(p))
            worst[sid, size] = float(np.max(np.abs(g_ / e - 1)))
    assert len(worst) == 27 and max(worst.values()) < 2e-5, max(worst.items(), key=lambda kv: kv[1])
    assert max(v for (sid, _), v in worst.items() if not sid.endswith("72000")) < 1e-5


def _toy_curves(law_name="multi-power", noise=0.0, seed=0):
    schedules = {"constant": constant(6000, 1e-3, warmup=300), "wsd": wsd(6000, 1e-3, cooldown=0.3, warmup=300)}
    truth = dict(L0=2.5, A=0.5, alpha=0.45, B=400.0, C=2.0, beta=0.6, gamma=0.6) if law_name == "multi-power" else \
        dict(L0=2.6, A=0.5, alpha=0.5, C=2.0, lam=0.99)
    return law_curves(law_name, schedules, truth, np.arange(50, 6000, 50), noise, seed), schedules, truth


def test_fit_curves_recovers_a_known_law():
    curves, schedules, truth = _toy_curves("lr-annealing")
    fit = fit_curves(curves, "lr-annealing", schedules=schedules)
    for name, value in truth.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-5), name
    assert fit.n_excluded == 2 * 6  # steps 50 … 300 of each run are warmup (6 logged each)
    quality = fit.run_quality()
    assert (quality["r2"] > 0.999999).all() and set(quality["run"]) == {"constant", "wsd"}
    assert fit.settings["schedules"]["wsd"] == "given"


def test_fit_of_a_bound_curve_law_without_run_names_groups_rows_by_run_index():
    """``sl.fit`` on a bound curve law and a table of run_index, step, loss: the rows of one schedule are one
    run (for the bootstrap and the per-run diagnostics), not one run per row."""
    curves, schedules, truth = _toy_curves("lr-annealing")
    law = sl.get_law("lr-annealing").bind(schedules)
    frame = pd.DataFrame({"run_index": curves["run"].map({"constant": 0, "wsd": 1}), "step": curves["step"],
                          "loss": curves["loss"]})
    fit = sl.fit(law, frame[frame["step"] > 300])
    assert sorted(set(fit.runs)) == ["run0", "run1"]
    assert fit.params["lam"] == pytest.approx(truth["lam"], rel=1e-4)


def test_schedules_rebuilt_from_the_logged_lr_are_reported():
    curves, schedules, truth = _toy_curves("lr-annealing", noise=0.001)
    fit = fit_curves(curves, "lr-annealing")
    assert fit.settings["schedules"]["wsd"].startswith("interpolated from 119 logged values (every 50 steps)")
    assert fit.params["lam"] == pytest.approx(truth["lam"], abs=0.005)


def test_nan_losses_are_left_out_and_counted():
    curves, schedules, _ = _toy_curves("lr-annealing")
    curves.loc[curves.index[100:110], "loss"] = np.nan
    fit = fit_curves(curves, "lr-annealing", schedules=schedules)
    assert fit.n_excluded == 2 * 6 + 10 and fit.n_points == len(curves) - 22


def test_zero_learning_rates_are_handled():
    """A cooldown to exactly 0 and a run paused at lr = 0: the Multi-Power law floors η at 1e-10 (as the
    authors' code) and S1/S2 simply stop growing; predictions stay finite."""
    curves, _, truth = _toy_curves("multi-power")
    paused = wsd(6000, 1e-3, cooldown=0.3, warmup=300).lr.copy()
    paused[3000:3500] = 0.0
    law = sl.get_law("multi-power").bind({"paused": from_array(paused, warmup=300)})
    values = law(run_index=np.zeros(5), step=np.array([2999, 3200, 3499, 4000, 5999]), **truth)
    assert np.all(np.isfinite(values))
    assert values[1] == pytest.approx(values[1])  # finite at a zero learning rate


def test_bad_curve_inputs():
    curves, schedules, _ = _toy_curves("lr-annealing")
    restarted = pd.concat([curves, curves.iloc[[5]]], ignore_index=True)
    with pytest.raises(sl.InputError, match="logs step 300 more than once"):
        fit_curves(restarted, "lr-annealing", schedules=schedules)
    with pytest.raises(sl.InputError, match="has no learning rate column and no schedule"):
        fit_curves(curves.drop(columns="lr"), "lr-annealing")
    with pytest.raises(sl.InputError, match="beyond its schedule"):
        fit_curves(curves, "lr-annealing", schedules={**schedules, "wsd": wsd(3000, 1e-3)})
    with pytest.raises(sl.InputError, match="runs not in the table"):
        fit_curves(curves, "lr-annealing", schedules={**schedules, "other": wsd(3000, 1e-3)})
    with pytest.raises(sl.LawError, match="not a loss-curve law"):
        fit_curves(curves, "chinchilla")
    with pytest.raises(sl.InputError, match="needs an N column"):
        fit_curves(curves, "lr-annealing-N", schedules=schedules)
    with pytest.raises(sl.InputError, match="no step is left"):
        fit_curves(curves.assign(loss=np.nan), "lr-annealing", schedules=schedules)


@pytest.fixture(scope="module")
def toy_fit():
    curves, schedules, truth = _toy_curves("lr-annealing", noise=0.002, seed=3)
    return fit_curves(curves, "lr-annealing", schedules=schedules), truth


def test_predict_curve_and_its_band(toy_fit):
    fit, truth = toy_fit
    target = cosine(8000, 1e-3, final=1e-4, warmup=300)
    table = predict_curve(fit, target, points=50)
    exact = sl.get_law("lr-annealing").bind({"c": target})(run_index=np.zeros(len(table)), step=table["step"], **truth)
    np.testing.assert_allclose(table["loss"], exact, rtol=0.01)
    assert table["step"].iloc[-1] == 7999 and table["lr"].iloc[0] == pytest.approx(target.lr[301])
    boot = sl.bootstrap(fit, 12, method="residuals", seed=1)
    banded = predict_curve(boot, "cosine:steps=8000,peak=1e-3,final=1e-4,warmup=300", points=50)
    assert (banded["lower"] <= banded["loss"] + 1e-12).all() and (banded["loss"] <= banded["upper"] + 1e-12).all()
    with pytest.raises(sl.ScalingLawsError, match="within the schedule"):
        predict_curve(fit, target, steps=[9000])


def test_best_cooldown_and_continuation(toy_fit):
    fit, truth = toy_fit
    table = best_cooldown(fit, 10000, 1e-3, warmup=300, fractions=(0.1, 0.3, 0.6), shapes=("linear", "sqrt"))
    assert len(table) == 6 and table["final_loss"].is_monotonic_increasing
    assert set(table.columns) == {"cooldown_fraction", "cooldown_steps", "shape", "final_lr", "final_loss"}
    more = continue_run(fit, wsd(6000, 1e-3, cooldown=0.3, warmup=300), 4000, rewarmup=500, cooldown=0.3)
    assert set(more["option"]) == {"rewarmup", "constant"}
    ends = more.groupby("option")["loss"].last()
    assert ends["rewarmup"] < ends["constant"]  # a new cooldown beats carrying on at the tiny final lr
    assert more[more.option == "rewarmup"]["lr"].max() == pytest.approx(1e-3)


def test_curve_commands(capsys, tmp_path):
    curves, _, _ = _toy_curves("lr-annealing", noise=0.001)
    path, fit_json = tmp_path / "curves.csv", tmp_path / "fit.json"
    curves.to_csv(path, index=False)
    assert main(["fit", str(path), "--law", "lr-annealing", "--schedule", "wsd=wsd:steps=6000,peak=1e-3,cooldown=0.3,"
                 "warmup=300", "--out", str(fit_json)]) == 0
    out = capsys.readouterr().out
    assert "schedule of wsd: given (wsd:" in out and "schedule of constant: interpolated" in out and "R^2" in out
    code = main(["forecast", str(fit_json), "--schedule", "cosine:steps=8000,peak=1e-3,final=1e-4,warmup=300",
                 "--observed", str(path), "--bootstrap", "5", "--quiet", "--plot", str(tmp_path / "c.png"),
                 "--out", str(tmp_path / "c.csv")])
    out = capsys.readouterr().out
    assert code == 0 and "too narrow" in out and (tmp_path / "c.png").exists()
    assert len(pd.read_csv(tmp_path / "c.csv")) > 100
    no_loss = tmp_path / "no_loss.csv"
    curves.drop(columns="loss").to_csv(no_loss, index=False)
    for args, message in ((["forecast", str(fit_json)], "give --schedule"),
                          (["forecast", str(fit_json), "--schedule", "wsd:steps=10"], "give peak"),
                          (["fit", str(path), "--law", "lr-annealing", "--schedule", "nope=wsd:steps=10,peak=1"],
                           "no run 'nope'"),
                          (["fit", str(path), "--schedule", "x=wsd:steps=10,peak=1"], "for loss-curve laws"),
                          (["fit", str(no_loss), "--law", "lr-annealing"], f"{no_loss}: no step is left to fit")):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


def _benchmark():
    import sys

    from .helpers import REPO

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import lr_curves
    finally:
        sys.path.pop(0)
    return lr_curves


@pytest.mark.slow
def test_split_of_the_multi_power_paper():
    """The paper's split (benchmarks/lr_curves.py prints the table): fit on cosine_24000, constant_24000 and
    wsdcon_9, predict the six other schedules, per model size.

    Acceptance: the LR-annealing law reaches test R² >= 0.99 and the Multi-Power law, fitted with its
    authors' recipe (``recipe="luo2025"``, early-stopped AdamW), >= 0.997 for every size, as do the published
    coefficients. The default fit (the minimum of the objective with the drop's shape held at the authors'
    shared values) reaches 0.9982 / 0.9976 / 0.9961 at 25M / 100M / 400M: >= 0.997 but at 400M, where no
    minimum of the objective we tried reaches it (free: 0.9952; other shapes, losses and windows: 0.9953–0.9964,
    docs/benchmarks.md): there the training curves pull L0 0.03 below the early-stopped fit's and the long
    runs come out too low. Its assertions are regression guards at the measured level, and it must not lose
    against the free fit (the former default) at any size.
    """
    shared("lr_schedule_curves.csv")
    table = _benchmark().mpl_split()
    target = {("lr-annealing", "converged"): 0.99, ("multi-power", "luo2025"): 0.997,
              ("multi-power", "published parameters"): 0.997, ("multi-power", "converged"): 0.996,
              ("multi-power", "free"): 0.995}
    assert len(table) == 3 * len(target)
    for row in table.itertuples():
        assert row.test_r2 >= target[row.law, row.recipe], (row.size, row.law, row.recipe, row.test_r2)
        assert row.test_mae < 0.01, (row.size, row.law, row.recipe, row.test_mae)
    r2 = table.set_index(["size", "law", "recipe"])["test_r2"]
    for size in ("25M", "100M", "400M"):
        assert r2[size, "multi-power", "converged"] > r2[size, "multi-power", "free"], size
    assert all(r2[size, "multi-power", "converged"] >= 0.997 for size in ("25M", "100M"))


@pytest.mark.slow
def test_final_loss_of_longer_wsd_runs():
    """Acceptance: fitted on a constant run and the shortest WSD run, the LR-annealing law and the Multi-Power
    law, each fitted the default way, predict the final loss of the longer WSD runs with a mean absolute error
    <= 0.01 nats for every model size (Multi-Power: 0.0016–0.0098, the drop's shape held at the authors'
    values). With every parameter free the Multi-Power law misses by 0.011–0.032 (docs/benchmarks.md)."""
    shared("lr_schedule_curves.csv")
    table = _benchmark().wsd_final_losses(variants=(("lr-annealing", "converged"), ("multi-power", "converged"),
                                                    ("multi-power", "free")))
    per_size = table.assign(abs_error=table["error"].abs()).groupby(["law", "N"])["abs_error"].mean().unstack(0)
    assert len(per_size) == 8
    for law in ("lr-annealing (converged)", "multi-power (converged)"):
        assert (per_size[law] <= 0.01).all(), (law, per_size[law].to_dict())
    assert per_size["multi-power (free)"].max() > 0.02  # the unidentified shape: why the default holds it


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::scalinglaws.exceptions.ScalingLawsWarning")  # its diagnostics: not tested here
@pytest.mark.parametrize("size", ["25M", "100M", "400M"])
def test_luo2025_recipe_reproduces_the_published_coefficients(size):
    """The authors' recipe on their data (training runs, observed steps 2160 ... 23999, exact evaluation)
    lands on their published coefficients (LAWS.md §7, src/config.py PARAMS) to 1e-4 relative."""
    curves = pd.read_csv(shared("lr_schedule_curves.csv"))
    per_step = pd.read_csv(shared("lr_schedule_lr_per_step.csv"))
    train = ("cosine_24000", "constant_24000", "wsdcon_9")
    schedules = {n: from_array(per_step.loc[per_step["schedule_id"] == n, "lr"].to_numpy(), warmup=2160)
                 for n in train}
    table = pd.concat([curves[curves["run"] == f"mpl_{size}_{n}"].assign(run=n) for n in train])
    table = table[table["step"] < 24000]
    fit = fit_curves(table, MultiPower(bins=None), schedules=schedules, recipe="luo2025", exclude_warmup=False,
                     min_step=2160)
    assert fit.converged and "stopped early by design" in fit.message
    for name, value in PUBLISHED[size].items():
        assert fit.params[name] == pytest.approx(value, rel=1e-4), name


@pytest.mark.slow
def test_multi_power_fit_speed_on_one_curve():
    """Not a timing: the 24,000-step fit must converge, and grouped evaluation agree with the O(t) loop."""
    shared("lr_schedule_curves.csv")
    result = _benchmark().speed()
    assert result["fit_converged"] and result["max_relative_difference"] < 1e-5
