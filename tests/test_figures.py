"""The planning figure set and the fixed fit, curve-forecast and compare figures, checked by their artists (not
pixels): axes labels, the band (a PolyCollection from fill_between), the data-edge marker, and legends that cover
no plotted data (every legend lies outside every axes of its figure)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

import scalinglaws as sl  # noqa: E402
from scalinglaws import plan_figures as pf  # noqa: E402
from scalinglaws.plot import plot_backtest, plot_curve_forecast, plot_fit, save_figure  # noqa: E402
from scalinglaws.schedules import constant, wsd  # noqa: E402
from scalinglaws.schema import format_number  # noqa: E402

from .helpers import EPOCH, isoflop_grid, law_curves, synthetic_points  # noqa: E402

BUDGETS = [1e22, 1e23, 1e24]


@pytest.fixture(scope="module")
def iso_fit():
    """A fit to an IsoFLOP design (nine budgets of 13 sizes each), with one point pushed off as an outlier."""
    data = synthetic_points(EPOCH, 0.005, seed=4)
    data.loc[40, "loss"] *= 1.2
    return sl.fit("chinchilla", data, top_k=2)


@pytest.fixture(scope="module")
def curve_fit():
    schedules = {"constant": constant(3000, 1e-3, warmup=100), "wsd": wsd(3000, 1e-3, cooldown=0.3, warmup=100)}
    curves = law_curves("lr-annealing", schedules, dict(L0=2.6, A=0.5, alpha=0.5, C=2.0, lam=0.99),
                        np.arange(50, 3000, 50), noise=0.003, seed=1)
    return sl.fit_curves(curves, "lr-annealing", schedules=schedules), curves


def _render(fig, tmp_path, name):
    """Render to PNG (a real, non-blank image) and draw, so that every extent is final."""
    path = save_figure(fig, tmp_path / f"{name}.png")
    image = plt.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 300 and image[..., :3].std() > 0.05
    fig.canvas.draw()
    return fig


def assert_legends_clear(fig):
    """No legend overlaps the data area of any axes of the figure (legends sit outside the axes)."""
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert legends, "the figure has no legend"
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            area = ax.get_window_extent(renderer)
            assert not box.overlaps(area), f"legend {[t.get_text() for t in legend.get_texts()][:3]} covers " \
                                           f"the axes titled {ax.get_title()!r}"


def _bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def _edges(ax, start):
    """The dotted data-edge lines whose label starts with ``start``."""
    return [line for line in ax.get_lines() if line.get_label().startswith(start) and line.get_linestyle() == ":"]


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_loss_frontier_has_runs_band_fitted_range_and_edge(iso_fit, tmp_path):
    fig = _render(pf.plot_loss_frontier(iso_fit, BUDGETS), tmp_path, "loss_frontier")
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Training compute C (FLOPs)", "Loss (nats/token)")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = _legend_texts(ax)
    assert "90% band of a run's loss" in labels and "fitted compute range" in labels
    assert f"measured runs ({iso_fit.n_points})" in labels and "budgets" in labels
    band = [c for c in _bands(ax) if c.get_label() == "90% band of a run's loss"]
    assert len(band) == 1
    lo, hi = pf.fitted_compute_range(iso_fit)
    (edge,) = _edges(ax, "largest fitted compute")
    assert edge.get_xdata()[0] == pytest.approx(hi)
    # the band's top edge at the largest budget is the table's upper loss, and the title quotes its loss
    row = sl.compute_optimal(iso_fit, [1e24]).iloc[0]
    assert f"{row['loss']:.3f} [{row['loss_lower']:.3f}, {row['loss_upper']:.3f}]" in ax.get_title()
    assert_legends_clear(fig)
    plt.close(fig)


def test_allocation_has_both_bands_and_exponents(iso_fit, tmp_path):
    fig = _render(pf.plot_allocation(iso_fit, BUDGETS), tmp_path, "allocation")
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Training compute C (FLOPs)", "Compute-optimal N and D")
    assert len([c for c in _bands(ax) if c.get_label() != "fitted compute range"]) >= 2  # N_opt and D_opt bands
    assert len(_edges(ax, "largest fitted compute")) == 1
    p = iso_fit.params
    a = p["beta"] / (p["alpha"] + p["beta"])  # the closed-form N_opt exponent of the Chinchilla law
    assert f"N_opt ∝ C^{a:.3f}" in ax.get_title() and f"D_opt ∝ C^{1 - a:.3f}" in ax.get_title()
    assert_legends_clear(fig)
    plt.close(fig)


def test_isoflops_draw_measured_budgets_and_minima(iso_fit, tmp_path):
    measured = pf.measured_isoflops(iso_fit)
    assert len(measured) == 9 and all(len(rows) == 13 for rows in measured.values())  # the design's budgets
    fig = _render(pf.plot_law_isoflops(iso_fit, BUDGETS), tmp_path, "isoflops")
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Parameters N", "Loss (nats/token)")
    labels = _legend_texts(ax)
    assert "measured runs" in labels and "minimum (N_opt)" in labels
    assert sum("(measured)" in label for label in labels) == 4  # max_curves - 2 of the measured budgets
    minima = [line for line in ax.get_lines() if line.get_marker() == "v" and len(line.get_xdata())]
    optimum = sl.compute_optimal(iso_fit, [1e24], level=None).iloc[0]
    assert any(np.isclose(line.get_xdata()[0], optimum["N_opt"]) for line in minima)
    assert len(_edges(ax, "largest fitted N")) == 1
    assert_legends_clear(fig)
    plt.close(fig)


def test_isoflops_without_a_design_use_budgets():
    rng = np.random.default_rng(5)  # sizes and tokens drawn apart: no two runs share a budget
    grid = np.column_stack([10 ** rng.uniform(7, 10, 60), 10 ** rng.uniform(9, 11.5, 60)])
    points = synthetic_points(EPOCH, 0.005, seed=5, grid=grid)
    fit = sl.fit("chinchilla", points, top_k=2)
    assert pf.measured_isoflops(fit) == {}
    fig = pf.plot_law_isoflops(fit, BUDGETS)
    assert "no IsoFLOP budgets in the data" in fig.axes[0].get_title()
    plt.close(fig)


def test_schedule_forecasts_have_observed_part_band_and_end(curve_fit, tmp_path):
    fit, curves = curve_fit
    schedules = {"cosine 6k": "cosine:steps=6000,peak=1e-3,final=1e-4,warmup=100",
                 "wsd 6k": "wsd:steps=6000,peak=1e-3,cooldown=0.2,warmup=100"}
    fig = _render(pf.plot_schedule_forecasts(fit, schedules), tmp_path, "schedules")
    ax, lr = fig.axes
    assert ax.get_ylabel() == "Loss (nats/token)" and lr.get_xlabel() == "Step" and lr.get_ylabel() == "Learning rate"
    labels = _legend_texts(ax)
    assert {"cosine 6k", "wsd 6k", "observed: constant", "observed: wsd", "band (with model error)"} <= set(labels)
    assert len(_bands(ax)) == 4  # each schedule: the band and its noise part
    (edge,) = _edges(ax, "last fitted step")
    assert edge.get_xdata()[0] == pytest.approx(float(curves["step"].max()))
    final = sl.predict_curve(fit, schedules["cosine 6k"]).iloc[-1]
    assert f"cosine 6k: {final['loss']:.3f} [{final['lower']:.3f}, {final['upper']:.3f}]" in ax.get_title()
    assert_legends_clear(fig)
    plt.close(fig)


def test_planning_figures_set_and_combined(iso_fit, curve_fit, tmp_path):
    figures = pf.planning_figures(iso_fit, BUDGETS)
    assert list(figures) == ["loss_frontier", "allocation", "isoflops"]
    for name, fig in figures.items():
        _render(fig, tmp_path, name)
        assert_legends_clear(fig)
        plt.close(fig)
    fig = _render(pf.plot_planning(iso_fit, BUDGETS), tmp_path, "planning")
    assert [ax.get_ylabel() for ax in fig.axes] == ["Loss (nats/token)", "Compute-optimal N and D",
                                                    "Loss (nats/token)"]
    assert_legends_clear(fig)
    plt.close(fig)
    assert list(pf.planning_figures(curve_fit[0])) == ["schedules"]
    plt.close("all")
    with pytest.raises(sl.ScalingLawsError, match="not a loss-curve law"):
        pf.plot_schedule_forecasts(iso_fit)


def test_fit_figure_legend_outside_colours_match_outliers_marked(iso_fit, tmp_path):
    fig = _render(plot_fit(iso_fit), tmp_path, "fit")
    main, residuals = fig.axes[:2]
    assert_legends_clear(fig)
    # the points of each size group share the colour of that group's curve
    groups, centres, binned, colours = sl.plot.size_groups(iso_fit)
    scatter_colours = [tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in main.collections
                       if c.get_label().startswith("_") and len(c.get_offsets())][: len(centres)]
    curve_colours = [tuple(np.round(matplotlib.colors.to_rgb(line.get_color()), 3)) for line in main.get_lines()
                     if line.get_label().startswith("N = ") and "extrapolated" not in line.get_label()]
    assert scatter_colours == curve_colours and len(set(curve_colours)) == len(centres)
    # the flagged outlier is circled in both panels, at its own point
    outlier = iso_fit.diagnostics.outliers
    assert 40 in outlier
    rings = [c for c in main.collections if c.get_label().startswith("flagged outlier")]
    assert len(rings) == 1 and np.allclose(rings[0].get_offsets()[:, 0], np.asarray(iso_fit.inputs["D"])[list(outlier)])
    assert any(c.get_label().startswith("flagged outlier") for c in residuals.collections)
    assert _bands(main) and _edges(main, "largest fitted D")
    plt.close(fig)


def test_curve_forecast_band_visible_edge_and_spike_proof_limits(curve_fit, tmp_path):
    fit, curves = curve_fit
    table = sl.predict_curve(fit, "constant:steps=6000,peak=1e-3")  # no warmup: the prediction starts at step 1
    spiked = pd.concat([pd.DataFrame({"run": ["constant"], "step": [1], "lr": [1e-3], "loss": [40.0]}), curves])
    fig = _render(plot_curve_forecast(table, observed=spiked, fitted_until=float(curves["step"].max())), tmp_path,
                  "curve")
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    late = table.loc[table["step"] > 200]
    assert high < 2 * late["upper"].max() and low <= late["lower"].min()  # the step-1 spike is off the axis
    (band, noise) = _bands(ax)
    assert band.get_alpha() >= 0.2  # visible
    assert len(_edges(ax, "last fitted step")) == 1
    assert_legends_clear(fig)
    plt.close(fig)


def test_compare_ticks_are_unique_run_inputs_not_losses(tmp_path):
    data = synthetic_points(EPOCH, 0.01, seed=1, grid=np.repeat(isoflop_grid(EPOCH), 2, axis=0))  # two seeds a run
    table = sl.compare_laws(["chinchilla", "chinchilla-tied"], data, progress=False)
    fig = _render(plot_backtest(table), tmp_path, "compare")
    left = fig.axes[0]
    ticks = [t.get_text() for t in left.get_xticklabels()]
    assert len(ticks) == len(set(ticks)) == len(table.backtests[0].heldout)
    heldout = table.backtests[0].heldout
    losses = {f"{v:.4g}" for v in heldout["loss"]} | {format_number(v) for v in heldout["loss"]}
    assert not any(tick in losses for tick in ticks)
    assert all(" " in tick for tick in ticks)  # "N D"
    assert_legends_clear(fig)
    plt.close(fig)


def test_plan_and_forecast_plot_the_planning_set(capsys, iso_fit, tmp_path):
    """``plan --plot`` and ``forecast --compute --plot`` draw the planning figures (three stacked panels: a tall
    image); ``forecast --params --tokens --plot`` the fit figure (two panels side by side: a wide one)."""
    from .helpers import run_cli

    path = sl.save(iso_fit, tmp_path / "fit.json")
    shapes = {}
    for name, args in {"plan": ["plan", path, "--budget", "1e22,1e23", "--hparams", "none"],
                       "budgets": ["forecast", path, "--compute", "1e22,1e23"],
                       "sizes": ["forecast", path, "--params", "7e9", "--tokens", "1.4e11"]}.items():
        code, out, err = run_cli(capsys, *args, "--plot", tmp_path / f"{name}.png")
        assert code == 0, err
        shapes[name] = plt.imread(tmp_path / f"{name}.png").shape[:2]
    assert shapes["plan"] == shapes["budgets"] and shapes["plan"][0] > 1.2 * shapes["plan"][1]
    assert shapes["sizes"][1] > 2 * shapes["sizes"][0]
