"""Figures of fits, in one consistent style. Every function takes an optional ``ax`` and returns the Figure.

Save figures with :func:`save_figure`, which picks PNG/SVG/PDF from the extension and writes atomically.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .exceptions import LawError, OutputError
from .fitting.result import FitResult
from .schema import format_number

__all__ = ["STYLE", "MAX_LEGEND_RUNS", "GROUP_COLOURS", "style", "outside_legend", "size_groups", "plot_fit", "plot_residuals", "plot_backtest", "plot_isoflop",
           "plot_frontier", "plot_batch", "plot_curve_forecast", "save_figure"]

#: Matplotlib settings applied by every plotting function.
STYLE = {
    "figure.dpi": 110, "savefig.dpi": 200, "savefig.bbox": "tight", "font.size": 10, "axes.titlesize": 11,
    "axes.labelsize": 10, "legend.fontsize": 8, "legend.frameon": True, "legend.framealpha": 0.95,
    "legend.edgecolor": "0.8", "legend.facecolor": "white", "axes.grid": True,
    "grid.alpha": 0.3, "grid.linewidth": 0.6, "axes.spines.top": False, "axes.spines.right": False,
    "lines.linewidth": 1.6, "xtick.labelsize": 9, "ytick.labelsize": 9,
}


@contextmanager
def style():
    """Context manager applying :data:`STYLE`."""
    import matplotlib as mpl

    with mpl.rc_context(STYLE):
        yield


def _plain_log_axis(axis) -> None:
    """Log axis with plain-number labels (loss values 1.8, 2, 3 rather than 2×10⁰)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _count_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: format_number(v)))


def _size_groups(N: np.ndarray, max_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Group model sizes: each distinct N when few, else equal-width bins in log N. Returns labels, centres."""
    distinct = np.unique(N)
    if distinct.size <= max_groups:
        return np.searchsorted(distinct, N), distinct
    edges = np.linspace(np.log(N.min()), np.log(N.max()), max_groups + 1)
    labels = np.clip(np.searchsorted(edges, np.log(N), side="right") - 1, 0, max_groups - 1)
    used = np.unique(labels)
    centres = np.array([np.exp(np.mean(np.log(N[labels == g]))) for g in used])
    return np.searchsorted(used, labels), centres


#: Runs (curves) beyond which a legend would crowd out the plot; the count is shown instead.
MAX_LEGEND_RUNS = 12


def _run_legend(ax, n_runs: int, **options) -> None:
    """A legend naming each run (outside the axes, see :func:`outside_legend`), or, with more runs than
    :data:`MAX_LEGEND_RUNS`, a note of how many."""
    if n_runs <= MAX_LEGEND_RUNS:
        outside_legend(ax, **options)
    else:
        ax.text(0.98, 0.98, f"{n_runs} runs", transform=ax.transAxes, ha="right", va="top", fontsize=8)


def outside_legend(ax, handles=None, labels=None, *, title: str | None = None, ncol: int = 1, **options):
    """A legend to the right of ``ax``, outside the axes, so that it never covers data (constrained layout, and
    ``bbox_inches="tight"`` on saving, make room for it)."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    options = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0, "ncol": ncol,
               "title": title, **options}
    legend = ax.legend(handles, labels, **options)
    if title:
        legend.get_title().set_fontsize(8)
        legend.get_title().set_multialignment("left")
    return legend


def _params_title(fit, limit: int = 6) -> str:
    """The law's name and its fitted values (at most ``limit``; the rest as "…")."""
    shown = [f"{name} = {value:.4g}" for name, value in list(fit.params.items())[:limit]]
    more = ", …" if len(fit.params) > limit else ""
    return f"{fit.law.name}: " + ", ".join(shown) + more


def _new_axes(ax, ncols: int = 1, width: float = 5.2):
    if ax is not None:
        return ax.figure, [ax]
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, 4.2), layout="constrained")
    return fig, list(np.atleast_1d(axes))


def plot_fit(fit, ax=None, *, extrapolate: float = 10.0, max_groups: int = 8, residuals: bool = True,
             level: float = 0.9, forecast=None):
    """The data, the fitted law and its extrapolation; with ``ax=None`` and ``residuals=True``, a second panel
    with the residuals.

    ``fit`` is a :class:`FitResult` or a :class:`~scalinglaws.fitting.resample.BootstrapResult`; the ``level``
    band of the extrapolated curve comes from the replicates, or from the fit's asymptotic covariance.
    ``forecast`` (the table of a :func:`~scalinglaws.forecasting.forecast`) marks forecast points, with their
    bands when it has ``lower``/``upper``.

    * A law of exactly N and D: loss against training tokens D, one discrete colour per model size (or size
      bin when the data have many sizes, marked "(bin)" and explained in the legend), the same for its points,
      its curve and its residuals. Each curve is solid over the tokens its size was trained on and dashed
      beyond, up to ``extrapolate`` × the largest D; a dashed black curve shows a model ``extrapolate`` × larger
      than the largest fitted, with its band; a dotted line marks the largest fitted D.
    * A law of one input: loss against that input, the fitted curve dashed beyond the data up to
      ``extrapolate`` × its largest value.
    * Any other law: fitted against observed loss, on the diagonal when the law holds.

    The points the fit's diagnostics flag as outliers are circled in red; the title carries the fitted values;
    every legend lies outside its axes (:func:`outside_legend`).
    """
    from .fitting.resample import BootstrapResult

    boot = fit  # where bands come from: the replicates, or the fit's asymptotic covariance
    fit = fit.fit if isinstance(fit, BootstrapResult) else fit
    with style():
        fig, axes = _new_axes(ax, 2 if (ax is None and residuals) else 1, width=6.4)
        inputs = set(fit.law.inputs)
        if fit.law.capabilities.curve:
            _curves_panel(fit, axes[0])
        elif inputs == {"N", "D"}:
            _sizes_panel(fit, axes[0], extrapolate, max_groups, boot, level, forecast)
        elif len(inputs) == 1:
            _single_input_panel(fit, axes[0], extrapolate, boot, level, forecast)
        else:
            _parity_panel(fit, axes[0])
        axes[0].set_title(f"{_params_title(fit)}\n{fit.n_points} points, RMS {100 * fit.rmse:.2g}% of the loss",
                          fontsize=9)
        if len(axes) > 1:
            plot_residuals(fit, ax=axes[1], max_groups=max_groups)
    return fig


def _band(ax, boot, level: float, x: np.ndarray, colour, **inputs) -> None:
    """The forecast band in two shades: its noise part (darker) and the whole band with the model error."""
    if boot is not None:
        band = boot.band(level=level, **inputs)
        ax.fill_between(x, band["lower"], band["upper"], color=colour, alpha=0.12, linewidth=0,
                        label=f"{100 * level:g}% band (with model error)")
        ax.fill_between(x, band["noise_lower"], band["noise_upper"], color=colour, alpha=0.25, linewidth=0,
                        label="its noise part")


def _data_edge(ax, value: float, what: str, axis: str = "x") -> None:
    """A dotted line where the fitted data end (``what``: "largest fitted D", ...)."""
    line = ax.axvline if axis == "x" else ax.axhline
    line(value, color="0.35", linestyle=":", linewidth=1.0, label=what, zorder=1)


def _mark_forecast(ax, forecast, x: str) -> None:
    if forecast is None or x not in forecast:
        return
    if {"lower", "upper"} <= set(forecast.columns):
        err = np.vstack([forecast["loss"] - forecast["lower"], forecast["upper"] - forecast["loss"]])
        ax.errorbar(forecast[x], forecast["loss"], yerr=np.clip(err, 0, None), fmt="*", ms=11, color="C3",
                    capsize=3, zorder=5, label="forecast")
    else:
        ax.plot(forecast[x], forecast["loss"], "*", ms=11, color="C3", zorder=5, label="forecast")


_LABELS = {"step": "Step", "C": "Training compute C (FLOPs)", "N": "Parameters N", "D": "Training tokens D",
           "N_avg": "Average parameters N_avg", "U": "Unique tokens U", "S_min": "Minimum steps S_min"}


#: Discrete colours of the size groups (points and curves of one group share one).
GROUP_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f")


def size_groups(fit: FitResult, max_groups: int = 8):
    """The size groups of a fit of N and D as drawn by :func:`plot_fit`: per-point group labels, the groups'
    sizes N (parameters; a bin's geometric mean), whether each group is a bin of several sizes, and colours."""
    N = np.asarray(fit.inputs["N"])
    groups, centres = _size_groups(N, min(max_groups, len(GROUP_COLOURS)))
    binned = [len(np.unique(N[groups == g])) > 1 for g in range(len(centres))]
    colours = [GROUP_COLOURS[g % len(GROUP_COLOURS)] for g in range(len(centres))]
    return groups, centres, binned, colours


#: The legend's note on the "(bin)" of a size group.
BIN_NOTE = "(bin): sizes grouped in equal\nlog-N bins; curve at their\ngeometric mean"


def _mark_outliers(ax, x, y, fit: FitResult) -> None:
    """Open red circles on the points the fit's diagnostics flag as outliers (beyond 5 robust SD)."""
    idx = np.asarray(fit.diagnostics.outliers, dtype=int)
    if idx.size:
        ax.scatter(np.asarray(x)[idx], np.asarray(y)[idx], s=60, facecolor="none", edgecolor="#d62728",
                   linewidth=1.3, zorder=6, label=f"flagged outlier ({idx.size}; > 5 robust SD)")


def _sizes_panel(fit: FitResult, main, extrapolate: float, max_groups: int, boot=None, level: float = 0.9,
                 forecast=None) -> None:
    N, D, loss = np.asarray(fit.inputs["N"]), np.asarray(fit.inputs["D"]), fit.observed
    groups, centres, binned, colours = size_groups(fit, max_groups)
    d_max = D.max() * extrapolate
    if forecast is not None and "D" in forecast:
        d_max = max(d_max, float(forecast["D"].max()) * 1.5)
    d_all = np.geomspace(D.min() / 1.5, d_max, 200)
    for g, (n_g, colour) in enumerate(zip(centres, colours)):
        mask = groups == g
        main.scatter(D[mask], loss[mask], s=14, color=colour, alpha=0.85, edgecolor="none", zorder=3)
        curve = fit.predict(N=np.full_like(d_all, n_g), D=d_all)
        inside = (d_all >= D[mask].min() / 1.5) & (d_all <= D[mask].max() * 1.5)
        label = f"N = {format_number(n_g)}" + (" (bin)" if binned[g] else "")
        main.plot(d_all[inside], curve[inside], color=colour, label=label)
        main.plot(d_all, np.where(inside, np.nan, curve), color=colour, linestyle="--", alpha=0.6)
    n_big = N.max() * extrapolate
    big = np.full_like(d_all, n_big)
    main.plot(d_all, fit.predict(N=big, D=d_all), color="black", linestyle="--",
              label=f"N = {format_number(n_big)} (extrapolated)")
    _band(main, boot, level, d_all, "black", N=big, D=d_all)
    _data_edge(main, float(D.max()), f"largest fitted D ({format_number(D.max())})")
    _mark_outliers(main, D, loss, fit)
    _mark_forecast(main, forecast, "D")
    _loss_axes(main, "D")
    title = "Model size N; dashed: beyond the data"
    if any(binned):
        title += "\n" + BIN_NOTE
    outside_legend(main, title=title)


def _single_input_panel(fit: FitResult, main, extrapolate: float, boot=None, level: float = 0.9,
                        forecast=None) -> None:
    (name,) = fit.law.inputs
    x, loss = np.asarray(fit.inputs[name]), fit.observed
    main.scatter(x, loss, s=14, color="C0", edgecolor="none", zorder=3, label="data")
    x_max = x.max() * extrapolate
    if forecast is not None and name in forecast:
        x_max = max(x_max, float(forecast[name].max()) * 1.5)
    grid = np.geomspace(x.min() / 1.5, x_max, 300)
    curve = fit.predict(**{name: grid})
    inside = grid <= x.max()
    main.plot(grid[inside], curve[inside], color="C1", label="fit")
    main.plot(grid, np.where(inside, np.nan, curve), color="C1", linestyle="--",
              label=f"extrapolation (to {extrapolate:g}x)")
    _band(main, boot, level, grid, "C1", **{name: grid})
    _data_edge(main, float(x.max()), f"largest fitted {name}")
    _mark_outliers(main, x, loss, fit)
    _mark_forecast(main, forecast, name)
    _loss_axes(main, name)
    outside_legend(main)


def _curves_panel(fit: FitResult, main) -> None:
    """Loss against step for each fitted run (and model size), with the law along the run's whole schedule."""
    from .forecasting.curves import predict_curve

    data = fit.data
    law = fit.law
    keys = ["run", "N"] if "N" in law.inputs else ["run"]
    for k, (key, rows) in enumerate(data.groupby(keys, sort=False)):
        key = key if isinstance(key, tuple) else (key,)
        colour = f"C{k % 10}"
        main.plot(rows["step"], rows["loss"], ".", ms=3, color=colour, alpha=0.6)
        schedule = law.schedules[int(rows["run_index"].iloc[0])]
        extra = {"N": float(key[1])} if len(key) > 1 else {}
        curve = predict_curve(fit, schedule, points=300, level=None, **extra)
        label = str(key[0]) + (f", N = {format_number(key[1])}" if len(key) > 1 else "")
        main.plot(curve["step"], curve["loss"], color=colour, label=label)
    main.set_yscale("log")
    _plain_log_axis(main.yaxis)
    main.set_xlabel("Step")
    main.set_ylabel("Loss (nats/token)")
    _data_edge(main, float(data["step"].max()), f"last fitted step ({format_number(data['step'].max())})")
    _run_legend(main, k + 1, fontsize=7)


def _parity_panel(fit: FitResult, main) -> None:
    predicted = fit.observed * np.exp(-fit.residuals)
    first = fit.law.inputs[0]
    points = main.scatter(fit.observed, predicted, c=np.log10(np.asarray(fit.inputs[first])), s=14,
                          cmap="viridis", edgecolor="none")
    main.figure.colorbar(points, ax=main).set_label(f"log10 {first}")
    lo, hi = min(fit.observed.min(), predicted.min()), max(fit.observed.max(), predicted.max())
    main.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, label="fitted = observed")
    main.set_xlabel("Observed loss (nats/token)")
    main.set_ylabel("Fitted loss (nats/token)")
    _mark_outliers(main, fit.observed, predicted, fit)
    outside_legend(main)


def _loss_axes(ax, x: str) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_axis(ax.yaxis)
    if x in ("N", "D", "N_avg", "U"):
        _count_axis(ax.xaxis)
    ax.set_xlabel(_LABELS.get(x, x))
    ax.set_ylabel("Loss (nats/token)")


def plot_residuals(fit: FitResult, ax=None, *, x: str | None = None, max_groups: int = 8):
    """Relative residuals (observed/predicted − 1, in %) against an input: C when present, the step for a
    loss-curve law (one colour per run), else the first input. A law of N and D colours the points by the size
    groups of :func:`plot_fit` (the same discrete colours); flagged outliers are circled."""
    with style():
        fig, axes = _new_axes(ax)
        ax = axes[0]
        inputs = {k: np.asarray(v) for k, v in fit.inputs.items()}
        if "N" in inputs and "D" in inputs:
            inputs.setdefault("C", 6.0 * inputs["N"] * inputs["D"])
        curves = fit.law.capabilities.curve
        x = x or ("step" if curves else "C" if "C" in inputs else fit.law.inputs[0])
        if x not in inputs:
            raise LawError(f"no input {x!r} to plot residuals against; choose one of {', '.join(inputs)}")
        rel = 100.0 * np.expm1(fit.residuals)
        if curves:
            for k, run in enumerate(dict.fromkeys(fit.runs)):  # the order of the data, as in plot_fit
                mask = fit.runs == run
                ax.plot(inputs[x][mask], rel[mask], ".", ms=4, color=f"C{k % 10}", label=str(run))
            _run_legend(ax, k + 1, fontsize=7)
        else:
            if "N" in inputs and "D" in inputs and x != "N" and inputs["N"].size:
                groups, centres, binned, colours = size_groups(fit, max_groups)
                for g, (n_g, colour) in enumerate(zip(centres, colours)):
                    mask = groups == g
                    ax.scatter(inputs[x][mask], rel[mask], s=14, color=colour, edgecolor="none",
                               label=f"N = {format_number(n_g)}" + (" (bin)" if binned[g] else ""))
            else:
                ax.scatter(inputs[x], rel, s=14, edgecolor="none")
            _mark_outliers(ax, inputs[x], rel, fit)
            ax.set_xscale("log")
        ax.axhline(0.0, color="black", linewidth=0.8)
        if x in ("N", "D", "N_avg", "U"):
            _count_axis(ax.xaxis)
        ax.set_xlabel(_LABELS.get(x, x))
        ax.set_ylabel("Residual: observed / fitted − 1 (%)")
        ax.set_title(f"Residuals: RMS {100 * fit.rmse:.2g}% of the loss")
        if not curves and len(ax.get_legend_handles_labels()[0]) > 1:
            outside_legend(ax, title="colours: model size N")
    return fig


_NOT_INPUTS = ("loss", "predicted", "lower", "upper", "run", "noise_lower", "noise_upper", "model_error",
               "distance")


def _inputs_of(heldout) -> list[str]:
    """The law's inputs among a held-out table's columns (N and D first), never the observed loss."""
    columns = [c for c in heldout.columns if c not in _NOT_INPUTS]
    preferred = [c for c in ("N", "D") if c in columns]
    return preferred or columns[:2] or ["run"]


def _run_labels(heldout, order) -> list[str]:
    """A tick label per held-out run (in ``order``): its inputs (N D), made unique by a suffix #2, #3 … when two
    runs round to the same numbers."""
    names = _inputs_of(heldout)
    labels, seen = [], {}
    for i in order:
        if names == ["run"]:
            text = str(i + 1)
        else:
            text = " ".join(format_number(heldout[c].iloc[i]) for c in names)
        seen[text] = seen.get(text, 0) + 1
        labels.append(text if seen[text] == 1 else f"{text} #{seen[text]}")
    return labels


def plot_backtest(comparison, ax=None):
    """The laws of a :class:`~scalinglaws.fitting.compare.Comparison` side by side.

    Left: the relative error of each law's prediction for every held-out run (runs ordered by compute, then by
    model size; labelled by N and D), with the band as error bars; zero means the law extrapolated exactly.
    Right (with ``ax=None``): in-range and held-out errors per law, labelled with the share of held-out runs
    inside the band.
    """
    backtests = list(getattr(comparison, "backtests", comparison))
    table = pd.DataFrame([b.row() for b in backtests])
    with style():
        fig, axes = _new_axes(ax, 1 if ax is not None else 2)
        left = axes[0]
        width = 0.8 / max(len(backtests), 1)
        first = backtests[0].heldout
        keys = [k for k in ("C", "N", "D") if k in first] or list(first.columns[:1])
        order = np.lexsort([first[k].to_numpy() for k in reversed(keys)]) if keys else np.arange(len(first))
        for k, b in enumerate(backtests):
            held = b.heldout.iloc[order]
            x = np.arange(len(held)) + (k - (len(backtests) - 1) / 2) * width
            rel = 100 * (held["predicted"] / held["loss"] - 1)
            err = 100 * np.vstack([held["predicted"] - held["lower"], held["upper"] - held["predicted"]])
            left.errorbar(x, rel, yerr=np.clip(err / held["loss"].to_numpy(), 0, None), fmt="o", ms=4,
                          color=f"C{k}", capsize=2, label=b.law)
        left.axhline(0.0, color="black", linewidth=0.8)
        labels = _run_labels(first, order)
        left.set_xticks(np.arange(len(first)), labels, rotation=60, ha="right", fontsize=7)
        left.set_xlabel(f"Held-out runs ({', '.join(_inputs_of(first))}), by compute")
        left.set_ylabel("Predicted / observed − 1 (%)")
        left.set_title("Extrapolation to the held-out runs")
        outside_legend(left)
        if len(axes) > 1:
            right = axes[1]
            x = np.arange(len(table))
            right.bar(x - 0.2, 100 * table["in_range_error"], width=0.4, label="in range", color="0.6")
            right.bar(x + 0.2, 100 * table["heldout_error"], width=0.4, label="held out", color="C3")
            for i, row in enumerate(table.itertuples()):
                if np.isfinite(row.band_coverage):
                    right.annotate(f"{100 * row.band_coverage:.0f}%\nin band", (i + 0.2, 100 * row.heldout_error),
                                   ha="center", va="bottom", fontsize=8)
            top = 100 * float(np.nanmax([table["in_range_error"].max(), table["heldout_error"].max()]))
            right.set_ylim(0, 1.35 * top)
            right.set_xticks(x, table["law"])
            right.set_ylabel("Mean |predicted/observed − 1| (%)")
            right.set_title("Errors by law")
            outside_legend(right)
    return fig


def _robust_limits(series, steps) -> tuple[float, float] | None:
    """Loss limits that a spike at the first steps cannot stretch: the 0.5–99.5 percentiles of the values past
    the first 2 % of the steps (and past step 1)."""
    kept = []
    for values, step in zip(series, steps):
        values, step = np.asarray(values, dtype=float), np.asarray(step, dtype=float)
        if not step.size:
            continue
        late = step >= max(2.0, 0.02 * float(np.nanmax(step)))
        chosen = values[late & np.isfinite(values)]
        kept.append(chosen if chosen.size else values[np.isfinite(values)])
    values = np.concatenate(kept) if kept else np.empty(0)
    values = values[values > 0]
    if not values.size:
        return None
    lo, hi = np.percentile(values, [0.5, 99.5])
    return lo / 1.03, hi * 1.03


def plot_curve_forecast(table, ax=None, *, observed=None, title: str = "", fitted_until: float | None = None):
    """Predicted loss curves (from :func:`~scalinglaws.forecasting.curves.predict_curve`) with their bands (the
    noise part darker), observed curves (a curves table) when given, a dotted line at the last fitted step
    (``fitted_until``, or read from the table's ``beyond_step``), and the learning rate: in a panel below with
    ``ax=None``, else on a second axis.

    ``table`` is one predicted curve, or a mapping name → predicted curve (one colour each). The y limits ignore
    the first 2 % of the steps, so that a spike at step 1 does not flatten the curves."""
    tables = dict(table) if isinstance(table, dict) else {"predicted": table}
    with style():
        if ax is None:
            import matplotlib.pyplot as plt

            fig, (ax, lr_axis) = plt.subplots(2, 1, figsize=(7.4, 5.2), sharex=True, layout="constrained",
                                              gridspec_kw={"height_ratios": [3, 1]})
            twin = False
        else:
            fig, twin = ax.figure, True
            lr_axis = ax.twinx()
        series, steps = [], []
        first_step = min(float(t["step"].min()) for t in tables.values())
        if observed is not None:
            for k, (run, rows) in enumerate(observed.dropna(subset=["loss"]).groupby("run", sort=False)):
                rows = rows[rows["step"] >= first_step]  # not the warmup's first, huge losses
                ax.plot(rows["step"], rows["loss"], ".", ms=3, color="0.45" if len(tables) > 1 else f"C{(k + 1) % 10}",
                        alpha=0.6, label=f"observed: {run}", zorder=2)
                series.append(rows["loss"].to_numpy(float))
                steps.append(rows["step"].to_numpy(float))
        for k, (name, curve) in enumerate(tables.items()):
            colour = f"C{k % 10}" if len(tables) > 1 else "C0"
            ax.plot(curve["step"], curve["loss"], color=colour, label=name, zorder=4)
            series.append(curve["loss"].to_numpy(float))
            steps.append(curve["step"].to_numpy(float))
            if {"lower", "upper"} <= set(curve.columns):
                ax.fill_between(curve["step"], curve["lower"], curve["upper"], color=colour, alpha=0.22,
                                linewidth=0, zorder=3, label="band (with model error)" if k == 0 else None)
                for edge in ("lower", "upper"):
                    ax.plot(curve["step"], curve[edge], color=colour, linewidth=0.6, alpha=0.7, zorder=3)
                series += [curve["lower"].to_numpy(float), curve["upper"].to_numpy(float)]
                steps += [curve["step"].to_numpy(float)] * 2
                if {"noise_lower", "noise_upper"} <= set(curve.columns):
                    ax.fill_between(curve["step"], curve["noise_lower"], curve["noise_upper"], color=colour,
                                    alpha=0.4, linewidth=0, zorder=3, label="its noise part" if k == 0 else None)
            lr_axis.plot(curve["step"], curve["lr"], color=colour, linewidth=1, linestyle=":" if twin else "-")
            if fitted_until is None and "beyond_step" in curve and (curve["beyond_step"] > 1).any():
                first = curve.loc[curve["beyond_step"] > 1].iloc[0]
                fitted_until = float(first["step"] / first["beyond_step"])
        if fitted_until is not None:
            _data_edge(ax, fitted_until, f"last fitted step ({format_number(fitted_until)})")
            if not twin:
                lr_axis.axvline(fitted_until, color="0.35", linestyle=":", linewidth=1.0)
        limits = _robust_limits(series, steps)
        if limits is not None:
            ax.set_ylim(*limits)
        ax.set_yscale("log")
        _plain_log_axis(ax.yaxis)
        ax.set_ylabel("Loss (nats/token)")
        ax.set_title(title or "Predicted loss curve", fontsize=9)
        runs = 0 if observed is None else observed["run"].nunique()
        if twin:
            ax.set_xlabel("Step")
            lr_axis.set_ylabel("Learning rate (dotted)")
            lr_axis.grid(False)
            _run_legend(ax, runs + len(tables) + 1, fontsize=7, bbox_to_anchor=(1.16, 1.0))
        else:
            lr_axis.set_xlabel("Step")
            lr_axis.set_ylabel("Learning rate")
            _count_axis(lr_axis.xaxis)
            _run_legend(ax, runs + len(tables) + 1, fontsize=7)
    return fig


def plot_isoflop(result, ax=None):
    """IsoFLOP curves: loss against N for every budget with its fitted minimum; with ``ax=None`` a second
    panel shows N_opt and D_opt against C with their power laws."""
    import matplotlib as mpl

    with style():
        fig, axes = _new_axes(ax, 1 if ax is not None else 2)
        left = axes[0]
        points, budgets = result.points, result.budgets
        key = np.round(np.log(points["C"].to_numpy()), 6)
        colours = mpl.colormaps["plasma"](np.linspace(0.0, 0.85, len(budgets)))
        for row, colour in zip(budgets.itertuples(), colours):
            group = points.loc[key == np.round(np.log(row.C), 6)]
            left.scatter(group["N"], group["loss"], s=12, color=colour, edgecolor="none")
            if row.used:
                left.plot(row.N_opt, row.loss_opt, "v", ms=7, color=colour, markeredgecolor="black")
            if len(group) >= 3:
                order = np.argsort(group["N"].to_numpy())
                left.plot(group["N"].to_numpy()[order], group["loss"].to_numpy()[order], color=colour, alpha=0.5,
                          linewidth=1, label=f"C = {row.C:.2g}")
        left.set_xscale("log")
        _count_axis(left.xaxis)
        left.set_xlabel("Parameters N")
        left.set_ylabel("Loss (nats/token)")
        left.set_title(f"IsoFLOP curves ({result.method}); triangles: minima")
        outside_legend(left, fontsize=7, ncol=2 if len(budgets) > 8 else 1)
        if len(axes) > 1:
            right = axes[1]
            used = budgets[budgets["used"]]
            C = np.geomspace(budgets["C"].min(), budgets["C"].max() * 100, 100)
            right.plot(used["C"], used["N_opt"], "o", color="C0", label="N_opt (minima)")
            right.plot(C, result.n_fit(C), color="C0", label=f"N_opt ∝ C^{result.n_fit.exponent:.3f}")
            right.plot(used["C"], used["D_opt"], "s", color="C1", label="D_opt (minima)")
            right.plot(C, result.d_fit(C), color="C1", label=f"D_opt ∝ C^{result.d_fit.exponent:.3f}")
            right.set_xscale("log")
            right.set_yscale("log")
            right.set_xlabel("Training compute C (FLOPs)")
            right.set_ylabel("Parameters / tokens at the optimum")
            right.set_title("Compute-optimal frontier")
            outside_legend(right)
    return fig


def plot_frontier(table, ax=None):
    """N_opt and D_opt against the budget C (from :func:`~scalinglaws.forecasting.compute_optimal` or a
    bootstrap's), with their intervals when the table has ``_lower``/``_upper`` columns."""
    with style():
        fig, axes = _new_axes(ax)
        ax = axes[0]
        for column, colour, label in (("N_opt", "C0", "parameters N_opt"), ("D_opt", "C1", "tokens D_opt")):
            ax.plot(table["C"], table[column], "o-", color=colour, label=label)
            if f"{column}_lower" in table:
                ax.fill_between(table["C"], table[f"{column}_lower"], table[f"{column}_upper"], color=colour,
                                alpha=0.2, linewidth=0)
        if "beyond_C" in table and np.isfinite(table["beyond_C"]).any():
            row = table.loc[np.isfinite(table["beyond_C"])].iloc[0]
            c_max = float(row["C"] / row["beyond_C"])
            _data_edge(ax, c_max, f"largest fitted compute ({c_max:.2g} FLOPs)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _count_axis(ax.yaxis)
        ax.set_xlabel("Training compute C (FLOPs)")
        ax.set_ylabel("Compute-optimal N and D")
        ax.set_title("Compute-optimal allocation")
        outside_legend(ax)
    return fig


def plot_batch(fits: dict, ax=None):
    """Steps to the target against batch size for each sweep (name → :class:`BatchFit`), with the fitted
    S_min + E_min/B curve and the critical batch size marked."""
    with style():
        fig, axes = _new_axes(ax)
        ax = axes[0]
        for k, (name, f) in enumerate(fits.items()):
            colour = f"C{k % 10}"
            B = np.geomspace(f.batch_sizes.min() / 1.5, f.batch_sizes.max() * 1.5, 200)
            ax.plot(f.batch_sizes, f.steps, "o", color=colour, ms=4)
            cbs = f"CBS {format_number(f.cbs)}, " if np.isfinite(f.cbs) else ""
            ax.plot(B, f.steps_at(B), color=colour, label=f"{name}: {cbs}B_noise {format_number(f.B_noise)}")
            ax.plot(f.B_noise, f.steps_at(f.B_noise), "D", color=colour, markeredgecolor="black", ms=6)
            if np.isfinite(f.cbs):
                ax.plot(f.cbs, f.steps_at(f.cbs), "o", color=colour, markeredgecolor="black", ms=6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        _count_axis(ax.xaxis)
        ax.set_xlabel("Batch size")
        ax.set_ylabel("Steps to the target loss")
        ax.set_title("Batch-size sweeps: S = S_min + E_min/B (circles: Zhang's CBS; diamonds: McCandlish's "
                     "B_noise)")
        outside_legend(ax, fontsize=7)
    return fig


def figure_to(fig, handle, path) -> None:
    """Write ``fig`` to an open binary handle in the format ``path``'s extension names (.png, .svg or .pdf)."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise OutputError(f"{path}: cannot save a figure as '{Path(path).suffix}'; use .png, .svg or .pdf")
    with style():
        fig.savefig(handle, format=fmt)


def save_figure(fig, path) -> Path:
    """Save ``fig`` to ``path`` (format from the extension: .png, .svg or .pdf), atomically."""
    from .io.atomic import atomic_write

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):  # checked before anything is written
        raise OutputError(f"{path}: cannot save a figure as '{path.suffix}'; use .png, .svg or .pdf")
    with atomic_write(path, "wb") as handle:
        figure_to(fig, handle, path)
    return path
