"""The planning figures of one fit: what a team looks at when it decides a training budget.

* :func:`plot_loss_frontier` (a): loss against compute C (FLOPs): the measured runs, the loss at the
  compute-optimal allocation with its band, the fitted compute range shaded, the budgets marked;
* :func:`plot_allocation` (b): N_opt (parameters) and D_opt (tokens) against C with their bands, the fitted
  range shaded and the budgets marked;
* :func:`plot_law_isoflops` (c): the law's IsoFLOP curves, loss against N at a few budgets with their minima,
  and the measured IsoFLOP points where the data have budgets of several runs;
* :func:`plot_schedule_forecasts` (d): for loss-curve laws, the predicted curve under one or several schedules
  with the observed part, the band and the last fitted step.

:func:`planning_figures` gives the set as a dict of Figures; :func:`plot_planning` draws it in one figure (the
``--plot`` of ``scalinglaws plan`` and ``forecast``). The bands are the default, calibrated ones
(:mod:`scalinglaws.fitting.calibration`): a new run's loss, noise plus the law's own error growing beyond the
data; with a :class:`~scalinglaws.BootstrapResult` the noise part comes from its replicates. Every legend lies
outside its axes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .exceptions import ScalingLawsError, ScalingLawsWarning
from .plot import _count_axis, _data_edge, _plain_log_axis, outside_legend, plot_curve_forecast, style
from .schema import format_number

__all__ = ["plot_loss_frontier", "plot_allocation", "plot_law_isoflops", "plot_schedule_forecasts",
           "planning_figures", "plot_planning", "default_budgets", "fitted_compute_range", "measured_isoflops"]

#: Shade of the fitted range.
FITTED_SHADE = "0.88"
#: Budgets along the drawn frontier.
GRID_POINTS = 40


def _base(fit):
    return getattr(fit, "fit", fit)


def _compute_of(fit) -> np.ndarray:
    """The training compute C (FLOPs) of every fitted run: its C column, else 6·N·D."""
    inputs = fit.inputs
    if "C" in inputs:
        return np.asarray(inputs["C"], dtype=float)
    if "N" in inputs and "D" in inputs:
        return 6.0 * np.asarray(inputs["N"], dtype=float) * np.asarray(inputs["D"], dtype=float)
    raise ScalingLawsError(f"law '{fit.law.name}' has no compute to plan from (it needs N and D, or C)")


def fitted_compute_range(fit) -> tuple[float, float]:
    """Smallest and largest fitted compute (FLOPs)."""
    C = _compute_of(fit)
    return float(C.min()), float(C.max())


def default_budgets(fit) -> list[float]:
    """Budgets when none are given: those of :func:`scalinglaws.forecasting.planning.default_budgets` (five
    decades from the decade of the largest fitted compute)."""
    from .forecasting.planning import default_budgets as planned

    return planned(fit)


def _check_allocation(fit) -> None:
    if not fit.law.capabilities.allocation:
        raise ScalingLawsError(f"law '{fit.law.name}' has no compute-optimal allocation (it needs N and D); "
                               "the planning figures of a loss-curve law are plot_schedule_forecasts")


def _frontier(fit, budgets, level: float, model_error: bool = True) -> pd.DataFrame:
    """compute_optimal over a dense grid from the smallest fitted compute to past the largest budget."""
    from .forecasting import compute_optimal

    lo, hi = fitted_compute_range(fit)
    top = max(hi, float(np.max(budgets))) * 2.0
    grid = np.geomspace(lo, top, GRID_POINTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)
        return compute_optimal(fit, grid, level=level, model_error=model_error)


def _budget_table(fit, budgets, level: float, model_error: bool = True) -> pd.DataFrame:
    from .forecasting import compute_optimal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)
        return compute_optimal(fit, np.asarray(budgets, dtype=float), level=level, model_error=model_error)


def _shade_fitted(ax, fit, label: str = "fitted compute range") -> float:
    lo, hi = fitted_compute_range(fit)
    ax.axvspan(lo, hi, color=FITTED_SHADE, alpha=0.6, linewidth=0, zorder=0, label=label)
    _data_edge(ax, hi, f"largest fitted compute ({hi:.2g} FLOPs)")
    return hi


def _axes(ax, height: float = 4.0):
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.4, height), layout="constrained")
    return fig, ax


def _band_text(row, column: str, fmt) -> str:
    """``value [lower, upper]`` of a row: ``<column>_lower`` bands, or a curve's ``lower``/``upper``."""
    prefix = f"{column}_" if f"{column}_lower" in row else ""
    lower, upper = row.get(f"{prefix}lower"), row.get(f"{prefix}upper")
    text = fmt(row[column])
    if lower is not None and np.isfinite(lower) and np.isfinite(upper):
        text += f" [{fmt(lower)}, {fmt(upper)}]"
    return text


def _slope(x, y) -> float:
    good = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if good.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[good]), np.log(y[good]), 1)[0])


def _frontier_and_budgets(fit, budgets, level: float, model_error: bool):
    """The compute-optimal frontier over the drawn range and the table at the budgets (default
    :func:`default_budgets`), both with their bands, for a law with an allocation."""
    _check_allocation(fit)
    budgets = default_budgets(fit) if budgets is None else np.atleast_1d(np.asarray(budgets, dtype=float))
    return _frontier(fit, budgets, level, model_error), _budget_table(fit, budgets, level, model_error)


def plot_loss_frontier(fit, budgets=None, *, level: float = 0.9, model_error: bool = True, ax=None):
    """(a) Loss (nats/token) against training compute C (FLOPs): the measured runs, the loss at the
    compute-optimal N and D with its ``level`` band, the fitted compute shaded and its end dotted, and the
    budgets (default :func:`default_budgets`) with their bands (``model_error=False``: the noise part alone). The
    title gives the loss at the largest budget."""
    frontier, table = _frontier_and_budgets(fit, budgets, level, model_error)
    with style():
        fig, ax = _axes(ax)
        _shade_fitted(ax, fit)
        base = _base(fit)
        ax.scatter(_compute_of(base), base.observed, s=10, color="0.45", alpha=0.6, edgecolor="none", zorder=2,
                   label=f"measured runs ({base.n_points})")
        if "loss_lower" in frontier:
            ax.fill_between(frontier["C"], frontier["loss_lower"], frontier["loss_upper"], color="C0", alpha=0.22,
                            linewidth=0, zorder=1, label=f"{100 * level:g}% band of a run's loss")
        ax.plot(frontier["C"], frontier["loss"], color="C0", zorder=3, label="loss at the compute optimum")
        if "loss_lower" in table:
            err = np.vstack([table["loss"] - table["loss_lower"], table["loss_upper"] - table["loss"]])
            ax.errorbar(table["C"], table["loss"], yerr=np.clip(err, 0, None), fmt="D", ms=5, color="C3",
                        capsize=3, zorder=5, label="budgets")
        else:
            ax.plot(table["C"], table["loss"], "D", ms=5, color="C3", zorder=5, label="budgets")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_axis(ax.yaxis)
        ax.set_xlabel("Training compute C (FLOPs)")
        ax.set_ylabel("Loss (nats/token)")
        last = table.iloc[-1]
        ax.set_title(f"{fit.law.name}: loss at the optimum, {_band_text(last, 'loss', lambda v: f'{v:.3f}')} "
                     f"at C = {last['C']:.3g} FLOPs", fontsize=9)
        outside_legend(ax)
    return fig


def plot_allocation(fit, budgets=None, *, level: float = 0.9, model_error: bool = True, ax=None):
    """(b) Compute-optimal N_opt (parameters) and D_opt (tokens) against C (FLOPs) with their ``level`` bands,
    the fitted compute shaded and its end dotted, and the budgets marked. The title gives the exponents of
    N_opt ∝ C^a and D_opt ∝ C^b (slopes of the drawn frontier)."""
    frontier, table = _frontier_and_budgets(fit, budgets, level, model_error)
    with style():
        fig, ax = _axes(ax)
        _shade_fitted(ax, fit)
        for column, colour, label in (("N_opt", "C0", "parameters N_opt"), ("D_opt", "C1", "tokens D_opt")):
            ax.plot(frontier["C"], frontier[column], color=colour, label=label, zorder=3)
            if f"{column}_lower" in frontier:
                ax.fill_between(frontier["C"], frontier[f"{column}_lower"], frontier[f"{column}_upper"],
                                color=colour, alpha=0.22, linewidth=0, zorder=1,
                                label=f"{100 * level:g}% band" if column == "N_opt" else None)
            ax.plot(table["C"], table[column], "D", ms=5, color=colour, markeredgecolor="black", zorder=5,
                    label="budgets" if column == "N_opt" else None)
        ax.set_xscale("log")
        ax.set_yscale("log")
        _count_axis(ax.yaxis)
        ax.set_xlabel("Training compute C (FLOPs)")
        ax.set_ylabel("Compute-optimal N and D")
        C = frontier["C"].to_numpy()
        a, b = _slope(C, frontier["N_opt"].to_numpy()), _slope(C, frontier["D_opt"].to_numpy())
        last = table.iloc[-1]
        ax.set_title(f"N_opt ∝ C^{a:.3f}, D_opt ∝ C^{b:.3f}; at C = {last['C']:.3g}: "
                     f"N {format_number(last['N_opt'])}, D {format_number(last['D_opt'])} "
                     f"({last['tokens_per_param']:.3g} tokens/param)", fontsize=9)
        outside_legend(ax)
    return fig


def measured_isoflops(fit, min_runs: int = 3, decimals: int = 4) -> dict[float, pd.DataFrame]:
    """The fitted runs that share a budget (6·N·D equal to ``decimals`` digits of log10 C, as an IsoFLOP design
    has): C (FLOPs) → their N, D, loss, for budgets of at least ``min_runs`` model sizes. Empty when the data
    hold no IsoFLOP design."""
    if not {"N", "D"} <= set(fit.inputs):
        return {}
    frame = pd.DataFrame({"N": np.asarray(fit.inputs["N"]), "D": np.asarray(fit.inputs["D"]),
                          "loss": np.asarray(fit.observed)})
    frame["C"] = 6.0 * frame["N"] * frame["D"]
    key = np.round(np.log10(frame["C"]), decimals)
    out = {}
    for k, rows in frame.groupby(key):
        if rows["N"].nunique() >= min_runs:
            out[float(10.0 ** k)] = rows.sort_values("N")
    return out


def plot_law_isoflops(fit, budgets=None, *, ax=None, max_curves: int = 6, spread: float = 30.0):
    """(c) The law's IsoFLOP curves: loss (nats/token) against N (parameters) with D = C/(6N), for a few budgets
    C (FLOPs), each minimum (the compute-optimal N) marked. When the data hold IsoFLOP budgets
    (:func:`measured_isoflops`), up to ``max_curves`` − 2 of them are drawn with their measured points, plus the
    smallest and largest of ``budgets``; otherwise budgets across the fitted compute and the (up to three
    largest) ``budgets``."""
    _check_allocation(fit)
    from .forecasting import compute_optimal

    base = _base(fit)
    budgets = default_budgets(fit) if budgets is None else np.atleast_1d(np.asarray(budgets, dtype=float))
    measured = measured_isoflops(base)
    chosen_measured = []
    if measured:
        keys = sorted(measured)
        pick = np.unique(np.linspace(0, len(keys) - 1, min(len(keys), max_curves - 2)).round().astype(int))
        chosen_measured = [keys[i] for i in pick]
        extra = sorted({float(np.min(budgets)), float(np.max(budgets))})
    else:  # budgets across the fitted compute, then the (up to three largest) budgets asked
        lo, hi = fitted_compute_range(base)
        asked = sorted({float(b) for b in budgets})[-3:]
        extra = list(np.geomspace(lo, hi, max(2, max_curves - len(asked)))) + asked
    C_all = sorted(set(chosen_measured) | set(extra))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)
        optimum = compute_optimal(base, np.asarray(C_all), level=None)
    import matplotlib as mpl

    colours = mpl.colormaps["plasma"](np.linspace(0.0, 0.85, len(C_all)))
    with style():
        fig, ax = _axes(ax, height=4.4)
        n_hi = float(np.max(base.inputs["N"]))
        _, c_hi = fitted_compute_range(base)
        for (c, row), colour in zip(zip(C_all, optimum.itertuples()), colours):
            centre = row.N_opt if np.isfinite(row.N_opt) else np.sqrt(c / 120.0)
            N = np.geomspace(centre / spread, centre * spread, 200)
            if c in measured:
                points = measured[c]
                N = np.geomspace(min(N[0], points["N"].min() / 1.5), max(N[-1], points["N"].max() * 1.5), 200)
            loss = base.predict(N=N, D=c / (6.0 * N))
            beyond = c > c_hi * 1.001
            ax.plot(N, loss, color=colour, linestyle="--" if beyond else "-", zorder=3,
                    label=f"C = {c:.2g}" + (" (budget)" if c in set(map(float, budgets)) else "")
                    + (" (measured)" if c in measured else ""))
            if np.isfinite(row.N_opt):
                ax.plot(row.N_opt, row.loss, "v", ms=7, color=colour, markeredgecolor="black", zorder=5)
            if c in measured:
                ax.scatter(measured[c]["N"], measured[c]["loss"], s=16, color=colour, edgecolor="black",
                           linewidth=0.4, zorder=4)
        ax.axvline(n_hi, color="0.35", linestyle=":", linewidth=1.0, label=f"largest fitted N ({format_number(n_hi)})")
        ax.plot([], [], "v", color="0.5", markeredgecolor="black", label="minimum (N_opt)")
        if measured:
            ax.scatter([], [], s=16, color="0.5", edgecolor="black", linewidth=0.4, label="measured runs")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_axis(ax.yaxis)
        _count_axis(ax.xaxis)
        ax.set_xlabel("Parameters N")
        ax.set_ylabel("Loss (nats/token)")
        top = optimum.iloc[-1]
        ax.set_title(f"IsoFLOP curves of the law (D = C/6N); N_opt = {format_number(top['N_opt'])} at "
                     f"C = {top['C']:.3g}" + ("" if measured else "; no IsoFLOP budgets in the data"), fontsize=9)
        outside_legend(ax, title="dashed: beyond the fitted compute")
    return fig


def plot_schedule_forecasts(fit, schedules=None, *, level: float = 0.9, N: float | None = None, observed=None,
                            ax=None):
    """(d) For a loss-curve law: the predicted loss (nats/token) against step under each schedule (a Schedule or
    spec, or a mapping name → one; default: the fitted runs' own schedules) with its ``level`` band, the observed
    curves (``observed``, a curves table; default the fitted points) and the last fitted step dotted. The title
    gives each schedule's final loss with its band."""
    from .forecasting import predict_curve

    base = _base(fit)
    if not base.law.capabilities.curve:
        raise ScalingLawsError(f"law '{base.law.name}' is not a loss-curve law; its planning figures are "
                               "plot_loss_frontier, plot_allocation and plot_law_isoflops")
    if schedules is None:
        runs = list(dict.fromkeys(base.runs))
        schedules = {str(run): base.law.schedules[i] for i, run in enumerate(runs)}
    elif not isinstance(schedules, dict):
        schedules = {str(s): s for s in (schedules if isinstance(schedules, (list, tuple)) else [schedules])}
    tables = {name: predict_curve(fit, spec, level=level, N=N) for name, spec in schedules.items()}
    if observed is None:
        data = base.data
        observed = data[["run", "step", "loss"]]
    last = float(np.max(base.inputs["step"]))
    finals = "; ".join(f"{name}: {_band_text(t.iloc[-1], 'loss', lambda v: f'{v:.3f}')} at step "
                       f"{format_number(t['step'].iloc[-1])}" for name, t in list(tables.items())[:3])
    return plot_curve_forecast(tables if len(tables) > 1 else next(iter(tables.values())), ax=ax,
                               observed=observed, title=f"{base.law.name}: final loss {finals}", fitted_until=last)


def planning_figures(fit, budgets=None, *, level: float = 0.9, model_error: bool = True, schedules=None,
                     observed=None, N: float | None = None) -> dict:
    """The planning figure set of ``fit`` (a FitResult or BootstrapResult), name → matplotlib Figure:
    ``loss_frontier``, ``allocation``, ``isoflops`` for a law of N and D; ``schedules`` for a loss-curve law."""
    base = _base(fit)
    if base.law.capabilities.curve:
        return {"schedules": plot_schedule_forecasts(fit, schedules, level=level, N=N, observed=observed)}
    _check_allocation(base)
    return {"loss_frontier": plot_loss_frontier(fit, budgets, level=level, model_error=model_error),
            "allocation": plot_allocation(fit, budgets, level=level, model_error=model_error),
            "isoflops": plot_law_isoflops(fit, budgets)}


def plot_planning(fit, budgets=None, *, level: float = 0.9, model_error: bool = True, schedules=None, observed=None,
                  N: float | None = None):
    """The planning figure set in one figure (panels stacked, legends to their right): (a), (b), (c) for a law
    of N and D, (d) for a loss-curve law. See :func:`planning_figures`."""
    base = _base(fit)
    if base.law.capabilities.curve:
        return plot_schedule_forecasts(fit, schedules, level=level, N=N, observed=observed)
    _check_allocation(base)
    import matplotlib.pyplot as plt

    with style():
        fig, axes = plt.subplots(3, 1, figsize=(8.6, 12.0), layout="constrained")
    plot_loss_frontier(fit, budgets, level=level, model_error=model_error, ax=axes[0])
    plot_allocation(fit, budgets, level=level, model_error=model_error, ax=axes[1])
    plot_law_isoflops(fit, budgets, ax=axes[2])
    return fig
