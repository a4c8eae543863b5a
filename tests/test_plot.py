"""Figures render, carry the expected labels, and save by extension."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import scalinglaws as sl  # noqa: E402
from scalinglaws.plot import plot_fit, plot_residuals, save_figure  # noqa: E402

from .helpers import DATA, EPOCH, law_curves, synthetic_points  # noqa: E402


@pytest.fixture(scope="module")
def small_fit():
    return sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed=3), top_k=2)


def test_plot_fit_two_panels_with_labels(epoch_fit, tmp_path):
    fig = plot_fit(epoch_fit)
    main, residuals = fig.axes[:2]
    assert main.get_xlabel() == "Training tokens D" and main.get_ylabel() == "Loss (nats/token)"
    assert main.get_xscale() == "log" and main.get_yscale() == "log"
    labels = [t.get_text() for t in main.get_legend().get_texts()]
    assert len(labels) == 13 and labels[0].startswith("N = ") and labels[8].endswith("(extrapolated)")
    assert labels[9:11] == ["90% band (with model error)", "its noise part"]  # the band, and its noise part
    assert labels[11].startswith("largest fitted D")  # where the data end
    flagged = len(epoch_fit.diagnostics.outliers)  # 4 of Epoch's runs
    assert flagged >= 3 and labels[12] == f"flagged outlier ({flagged}; > 5 robust SD)"
    assert "(bin)" in main.get_legend().get_title().get_text()  # "(bin)" is explained
    assert "E = 1.817" in main.get_title() and "alpha = 0.3473" in main.get_title()  # fitted values
    assert residuals.get_xlabel() == "Training compute C (FLOPs)" and "%" in residuals.get_ylabel()
    path = save_figure(fig, tmp_path / "fit.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    plt.close(fig)


def test_plot_fit_on_given_axes_uses_distinct_sizes():
    fit = sl.fit("chinchilla", sl.read_points(DATA / "example_points.csv"), top_k=2)  # 8 model sizes
    fig, ax = plt.subplots()
    assert plot_fit(fit, ax=ax) is fig
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["N = 20M", "N = 39.9M"] and len(labels) == 12
    assert not any("(bin)" in label for label in labels)
    assert len(fig.axes) == 1
    plt.close(fig)


@pytest.mark.parametrize("ext, magic", [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_save_by_extension(small_fit, tmp_path, ext, magic):
    fig = plot_residuals(small_fit, x="N")
    assert fig.axes[0].get_xlabel() == "Parameters N"
    path = save_figure(fig, tmp_path / f"res.{ext}")
    assert path.read_bytes().startswith(magic)
    plt.close(fig)


def test_unknown_extension_and_input(small_fit, tmp_path):
    fig = plot_residuals(small_fit)
    with pytest.raises(sl.OutputError, match="use .png, .svg or .pdf"):
        save_figure(fig, tmp_path / "res.gif")
    with pytest.raises(sl.LawError, match="no input 'S1'"):
        plot_residuals(small_fit, x="S1")
    plt.close("all")


# ------------------------------------------------------------------------------------- every plot type

def _png(fig, tmp_path, name):
    """Render to PNG and check it is a real, non-trivial image."""
    path = save_figure(fig, tmp_path / f"{name}.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    image = plt.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 200 and image[..., :3].std() > 0.05  # not blank
    plt.close(fig)


def _labels(fig):
    return [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]


def test_every_plot_type_renders_with_its_labels(small_fit, tmp_path):
    import numpy as np
    import pandas as pd

    from scalinglaws.plot import (plot_backtest, plot_batch, plot_curve_forecast, plot_frontier, plot_isoflop)
    from scalinglaws.schedules import constant, wsd

    # a law of N and D, with bootstrap bands
    boot = sl.bootstrap(small_fit, 8, seed=0, progress=False)
    fig = plot_fit(boot)
    assert _labels(fig)[:2] == [("Training tokens D", "Loss (nats/token)"),
                                ("Training compute C (FLOPs)", "Residual: observed / fitted − 1 (%)")]
    _png(fig, tmp_path, "fit")

    # a law of one input
    rng = np.random.default_rng(0)
    C = np.geomspace(1e18, 1e21, 12)
    one = sl.fit("power-C", pd.DataFrame({"N": C / 6e10, "D": 1e10, "C": C,
                                          "loss": (1.7 + (3e17 / C) ** 0.3) * np.exp(0.003 * rng.standard_normal(12))}))
    fig = plot_fit(one)
    assert fig.axes[0].get_xlabel() == "Training compute C (FLOPs)" and fig.axes[0].get_xscale() == "log"
    _png(fig, tmp_path, "single")

    # a loss-curve law, and a predicted curve under a new schedule
    schedules = {"constant": constant(3000, 1e-3, warmup=100), "wsd": wsd(3000, 1e-3, cooldown=0.3, warmup=100)}
    curves = law_curves("lr-annealing", schedules, dict(L0=2.6, A=0.5, alpha=0.5, C=2.0, lam=0.99),
                        np.arange(50, 3000, 50))
    curve_fit = sl.fit_curves(curves, "lr-annealing", schedules=schedules)
    fig = plot_fit(curve_fit)
    assert fig.axes[0].get_xlabel() == "Step" and "Loss" in fig.axes[0].get_ylabel()
    _png(fig, tmp_path, "curves")
    predicted = sl.predict_curve(curve_fit, "cosine:steps=6000,peak=1e-3,final=1e-4,warmup=100")
    fig = plot_curve_forecast(predicted, observed=curves)
    main, lr_axis = fig.axes
    assert main.get_ylabel() == "Loss (nats/token)" and lr_axis.get_xlabel() == "Step"
    assert lr_axis.get_ylabel() == "Learning rate"
    assert any(t.get_text() == "observed: wsd" for t in main.get_legend().get_texts())
    _png(fig, tmp_path, "curve_forecast")

    # backtest of several laws
    table = sl.compare_laws(["chinchilla", "chinchilla-tied"], synthetic_points(EPOCH, 0.01, seed=1), progress=False)
    fig = plot_backtest(table)
    assert _labels(fig) == [("Held-out runs (N, D), by compute", "Predicted / observed − 1 (%)"),
                            ("", "Mean |predicted/observed − 1| (%)")]
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["chinchilla", "chinchilla-tied"]
    _png(fig, tmp_path, "backtest")

    # IsoFLOP analysis
    iso = sl.isoflop_analysis(synthetic_points(EPOCH, 0.003, seed=2))
    fig = plot_isoflop(iso)
    assert _labels(fig) == [("Parameters N", "Loss (nats/token)"),
                            ("Training compute C (FLOPs)", "Parameters / tokens at the optimum")]
    _png(fig, tmp_path, "isoflop")

    # compute-optimal frontier with intervals
    frontier = sl.compute_optimal(boot, np.geomspace(1e21, 1e24, 5))
    fig = plot_frontier(frontier)
    assert _labels(fig) == [("Training compute C (FLOPs)", "Compute-optimal N and D")]
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes[0].collections) == 2  # two bands
    _png(fig, tmp_path, "frontier")

    # batch-size sweeps
    B = np.array([64, 128, 256, 512, 1024, 2048])
    sweeps = {"small": sl.fit_batch_sweep(B, 2000 + 4e5 / B), "large": sl.fit_batch_sweep(B, 5000 + 3e6 / B)}
    fig = plot_batch(sweeps)
    assert _labels(fig) == [("Batch size", "Steps to the target loss")]
    assert [t.get_text().split(":")[0] for t in fig.axes[0].get_legend().get_texts()] == ["small", "large"]
    _png(fig, tmp_path, "batch")
