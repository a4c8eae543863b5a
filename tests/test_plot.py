"""Figures render, carry the expected labels, and save by extension."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import scalinglaws as sl  # noqa: E402
from scalinglaws.plot import plot_fit, plot_residuals, save_figure  # noqa: E402

from .helpers import DATA, EPOCH, synthetic_points  # noqa: E402


@pytest.fixture(scope="module")
def small_fit():
    return sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed=3), top_k=2)


def test_plot_fit_two_panels_with_labels(epoch_fit, tmp_path):
    fig = plot_fit(epoch_fit)
    main, residuals = fig.axes[:2]
    assert main.get_xlabel() == "Training tokens D" and main.get_ylabel() == "Loss (nats/token)"
    assert main.get_xscale() == "log" and main.get_yscale() == "log"
    labels = [t.get_text() for t in main.get_legend().get_texts()]
    assert len(labels) == 9 and labels[-1].endswith("(extrapolated)") and labels[0].startswith("N = ")
    assert residuals.get_xlabel() == "Training compute C (FLOPs)" and "%" in residuals.get_ylabel()
    path = save_figure(fig, tmp_path / "fit.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    plt.close(fig)


def test_plot_fit_on_given_axes_uses_distinct_sizes():
    fit = sl.fit("chinchilla", DATA / "example_points.csv", top_k=2)  # 8 model sizes
    fig, ax = plt.subplots()
    assert plot_fit(fit, ax=ax) is fig
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["N = 20M", "N = 39.9M"] and len(labels) == 9
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
