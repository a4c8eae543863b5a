"""A shareable report of one fit: one self-contained HTML file for someone who will not run Python.

:func:`build_report` gathers, from a :class:`~scalinglaws.FitResult` or :class:`~scalinglaws.BootstrapResult`:
the fit summary, the parameter table with uncertainties, the diagnostics and warnings, the fit figure and the
planning figures (:mod:`scalinglaws.plan_figures`), the allocation table with its bands for the budgets (C,
FLOPs), the backtests of the calibrated model error (:mod:`scalinglaws.fitting.calibration`), and the
provenance: the input files with their SHA-256 (recorded in the fit's settings by :func:`record_inputs`, as
``scalinglaws fit`` does), the law, the settings and the versions. Everything is inline (figures as base64 PNG,
styles in a ``<style>`` element, no script, no network access): the file opens from disk, on a phone (a
viewport and a one-column layout below 40 rem) and prints (print styles: no backgrounds, figures kept whole).

``scalinglaws report FIT.json -o report.html`` is the command line of :func:`write_report`.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import io
import json
import math
import platform
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from . import __version__
from .exceptions import ScalingLawsError, ScalingLawsWarning
from .schema import format_number

__all__ = ["Report", "build_report", "render_report", "write_report", "record_inputs", "file_digest"]

#: Bytes read at a time when hashing inputs.
_CHUNK = 1 << 20


def file_digest(path) -> dict:
    """``{"path", "sha256", "bytes"}`` of a file; of a folder (training logs), the SHA-256 over its files in
    sorted order (each relative path, then its content) with the count of files."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        size = 0
        for p in files:
            digest.update(p.relative_to(path).as_posix().encode("utf-8") + b"\0")
            size += _feed(digest, p)
        return {"path": str(path), "sha256": digest.hexdigest(), "bytes": size, "files": len(files)}
    size = _feed(digest, path)
    return {"path": str(path), "sha256": digest.hexdigest(), "bytes": size}


def _feed(digest, path: Path) -> int:
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size


def record_inputs(result, paths):
    """``result`` with the input files it was fitted from recorded in its settings (``settings["inputs"]``: path,
    SHA-256, bytes of each; :func:`file_digest`), for the provenance of reports. A BootstrapResult records them in
    its fit. Paths that are None are skipped."""
    from .fitting.resample import BootstrapResult

    if isinstance(result, BootstrapResult):
        return dataclasses.replace(result, fit=record_inputs(result.fit, paths))
    recorded = [file_digest(p) for p in paths if p is not None and Path(p).exists()]
    return dataclasses.replace(result, settings={**dict(result.settings), "inputs": recorded})


# ----------------------------------------------------------------------------------------------- the report

@dataclass(frozen=True, eq=False)
class Report:
    """A built report (see the module docstring): the HTML and the tables it shows."""

    html: str
    title: str
    law: str
    parameters: pd.DataFrame
    allocation: pd.DataFrame | None
    backtests: pd.DataFrame | None
    provenance: Mapping = field(default_factory=dict)
    figures: tuple[str, ...] = ()

    def summary(self) -> str:
        parts = [f"Report '{self.title}': {len(self.figures)} figures ({', '.join(self.figures)}), "
                 f"{len(self.parameters)} parameters"]
        if self.allocation is not None:
            parts.append(f"allocation for {len(self.allocation)} budgets")
        if self.backtests is not None:
            parts.append(f"{len(self.backtests)} backtests")
        return "; ".join(parts) + f"; {len(self.html) / 1e6:.2g} MB of HTML"

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"parameters": self.parameters}
        if self.allocation is not None:
            out["allocation"] = self.allocation
        if self.backtests is not None:
            out["backtests"] = self.backtests
        return out

    def write(self, path, *, inputs=()) -> Path:
        """Write the HTML to ``path`` atomically, never over one of ``inputs`` (see
        :class:`scalinglaws.io.atomic.Outputs`)."""
        from .io.atomic import Outputs

        outputs = Outputs(inputs=[p for p in inputs if p is not None])
        outputs.add(path, lambda handle: handle.write(self.html))
        outputs.commit()
        return Path(path)


_CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --accent: #1f5fa8; --warn: #9a4d00; --bg: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--bg); }
main { max-width: 62rem; margin: 0 auto; padding: 1.2rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0.2rem 0 0.3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.6rem; padding-bottom: 0.2rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1rem; margin: 1.2rem 0 0.4rem; }
p.lead { color: var(--muted); margin-top: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: 0.6rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 0.7rem; }
.card b { display: block; font-size: 1.15rem; }
.card span { color: var(--muted); font-size: 0.85rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f5f8; font-weight: 600; }
td.text { text-align: left; white-space: normal; }
figure { margin: 1rem 0; break-inside: avoid; page-break-inside: avoid; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 0.88rem; margin-top: 0.3rem; }
pre { background: #f6f7f9; border: 1px solid var(--line); border-radius: 4px; padding: 0.6rem; overflow-x: auto;
      font-size: 0.8rem; line-height: 1.35; white-space: pre; }
code { font-size: 0.9em; }
p, li, td.text { overflow-wrap: anywhere; }
ul.warnings li { color: var(--warn); }
.ok { color: #1b7a3a; } .bad { color: var(--warn); font-weight: 600; }
footer { color: var(--muted); font-size: 0.8rem; margin-top: 2.5rem; border-top: 1px solid var(--line);
         padding-top: 0.6rem; }
@media (max-width: 40rem) {
  body { font-size: 15px; }
  main { padding: 0.8rem 0.6rem 2rem; }
  h1 { font-size: 1.3rem; }
  th, td { padding: 0.25rem 0.35rem; }
}
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  th { background: none; }
  .scroll { overflow: visible; }
  pre { white-space: pre-wrap; }
  a { color: inherit; text-decoration: none; }
}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _num(v, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{float(v):.{digits}g}"


def _table(frame: pd.DataFrame, formats: Mapping | None = None, text_columns=(), caption: str = "",
           table_id: str = "") -> str:
    formats = formats or {}
    head = "".join(f"<th scope=\"col\">{_e(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            fmt = formats.get(column)
            shown = fmt(value) if fmt else (value if isinstance(value, str) else _num(value)
                                            if isinstance(value, (int, float, np.number)) else value)
            cls = ' class="text"' if column in text_columns else ""
            cells.append(f"<td{cls}>{_e(shown)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    ident = f' id="{_e(table_id)}"' if table_id else ""
    return (f'<div class="scroll"><table{ident}>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            "</tbody></table></div>")


def _figure_html(fig, name: str, caption: str, dpi: int) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure id="figure-{_e(name)}"><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _parameters(fit, boot, level: float) -> pd.DataFrame:
    from scipy.special import ndtri

    table = fit.parameter_table()
    z = float(ndtri(0.5 * (1 + level)))
    out = pd.DataFrame({"parameter": table["param"], "value": table["value"], "std err": table["stderr"],
                        "rel. err": table["rel_err"]})
    if boot is not None:
        ci = boot.ci(level)
        out[f"{100 * level:g}% interval"] = [f"[{_num(lo, 5)}, {_num(hi, 5)}] (bootstrap)"
                                             for lo, hi in zip(ci["lower"], ci["upper"])]
    else:
        out[f"{100 * level:g}% interval"] = [
            f"[{_num(v - z * s, 5)}, {_num(v + z * s, 5)}]" if math.isfinite(s) and s > 0 else "–"
            for v, s in zip(table["value"], table["stderr"])]
    out["status"] = table["status"]
    out["unit"] = table["unit"].fillna("") if "unit" in table else ""
    return out


def _allocation(fit_or_boot, budgets, level: float) -> pd.DataFrame:
    from .forecasting import plan

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)
        made = plan(fit_or_boot, budgets, hparams=None, level=level)
    return made


def _band(row, column: str, fmt) -> str:
    lower, upper = getattr(row, f"{column}_lower", None), getattr(row, f"{column}_upper", None)
    text = fmt(getattr(row, column))
    if lower is not None and np.isfinite(lower):
        text += f" [{fmt(lower)}, {fmt(upper)}]"
    return text


def _allocation_view(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for row in table.itertuples():
        if not np.isfinite(row.N_opt):
            rows.append({"C (FLOPs)": f"{row.C:.3g}", "N_opt": "no interior optimum", "D_opt": "",
                         "tokens/param": "", "loss": "", "beyond fitted C": ""})
            continue
        rows.append({"C (FLOPs)": f"{row.C:.3g}", "N_opt": _band(row, "N_opt", format_number),
                     "D_opt": _band(row, "D_opt", format_number),
                     "tokens/param": _band(row, "tokens_per_param", lambda v: f"{v:.3g}"),
                     "loss": _band(row, "loss", lambda v: f"{v:.4f}"),
                     "beyond fitted C": f"x{row.beyond_C:.3g}" if row.beyond_C > 1.0001 else "inside"})
    return pd.DataFrame(rows)


def _backtest_view(cuts: pd.DataFrame) -> pd.DataFrame:
    """The internal backtests in words: fitted and held-out points, used or not, reach (x beyond the fit)."""
    view = pd.DataFrame({"fitted points": cuts.get("train", pd.Series(dtype=float)),
                         "held out": cuts.get("test", pd.Series(dtype=float))})
    if "ok" in cuts:
        view["used"] = ["yes" if bool(v) else "no" for v in cuts["ok"]]
    if "reach" in cuts:
        view["reach"] = [f"{math.exp(float(v)):.3g}x" if v is not None and math.isfinite(float(v)) else "–"
                         for v in cuts["reach"]]
    if "note" in cuts:
        view["note"] = ["" if v is None or (isinstance(v, float) and not math.isfinite(v)) else str(v)
                        for v in cuts["note"]]
    return view


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def build_report(result, budgets=None, *, level: float = 0.9, source=None, title: str | None = None,
                 schedules=None, dpi: int = 130) -> Report:
    """The report of ``result`` (a FitResult or BootstrapResult; see the module docstring).

    ``budgets`` are the compute budgets C (FLOPs) of the allocation table and the planning figures (default
    :func:`scalinglaws.forecasting.planning.default_budgets`: five decades from the largest fitted compute);
    ``source`` the fit file it was read from (hashed into the provenance); ``schedules`` the schedules of a
    loss-curve law's forecast figure (default: its fitted runs' own); ``dpi`` the figures' resolution."""
    import matplotlib

    from .fitting.resample import BootstrapResult
    from .plan_figures import planning_figures
    from .plot import plot_fit

    if not (0 < level < 1):
        raise ScalingLawsError(f"level must lie between 0 and 1, got {level!r}")
    boot = result if isinstance(result, BootstrapResult) else None
    fit = result.fit if boot is not None else result
    law = fit.law
    title = title or f"Scaling-law report: {law.name}"
    sections: list[str] = []
    d = fit.diagnostics

    # -- summary cards ------------------------------------------------------------------------------
    cards = [("law", law.name), ("points fitted", f"{fit.n_points}" + (f" ({fit.n_excluded} excluded)"
                                                                     if fit.n_excluded else "")),
             ("RMS residual", f"{100 * fit.rmse:.3g}% of the loss"), ("R² (loss)", f"{fit.r2:.4f}"),
             ("converged", "yes" if d.converged else "NO"), ("warnings", str(len(fit.warnings)))]
    if "C" in fit.inputs or {"N", "D"} <= set(fit.inputs):
        from .plan_figures import fitted_compute_range

        lo, hi = fitted_compute_range(fit)
        cards.append(("fitted compute", f"{lo:.2g} – {hi:.2g} FLOPs"))
    card_html = "".join(f'<div class="card"><span>{_e(k)}</span><b>{_e(v)}</b></div>' for k, v in cards)
    sections.append(f'<section id="summary"><h2>Fit summary</h2><p><code>{_e(law.formula)}</code></p>'
                    f'<div class="cards">{card_html}</div>'
                    f"<h3>As the command line prints it</h3><pre>{_e(result.summary())}</pre></section>")

    # -- parameters ---------------------------------------------------------------------------------
    parameters = _parameters(fit, boot, level)
    source_of = ("bootstrap percentile intervals of " + boot.band_description if boot is not None else
                 "asymptotic standard errors (robust sandwich), value ± z·std err")
    sections.append('<section id="parameters"><h2>Parameters</h2>'
                    + _table(parameters, {"value": lambda v: f"{v:.6g}", "std err": lambda v: _num(v, 3),
                                          "rel. err": lambda v: "–" if not math.isfinite(v) else f"{100 * v:.2g}%"},
                             table_id="parameter-table")
                    + f"<p>Uncertainties: {_e(source_of)}.</p></section>")

    # -- diagnostics --------------------------------------------------------------------------------
    checks = [("converged", d.converged, d.message),
              ("no parameter on a bound", not d.at_bound, ", ".join(f"{k} ({v})" for k, v in d.at_bound.items())),
              ("identifiable", d.identifiable, ", ".join(d.undetermined) or ""),
              ("enough points (3 per free parameter)", d.enough_points, f"{d.n_points} points, {d.n_free} free"),
              ("starts agree", d.agreeing_starts > 1 or d.polished_starts <= 1,
               f"{d.agreeing_starts} of {d.polished_starts} polished starts reach the optimum"),
              ("no outliers (> 5 robust SD)", not d.outliers, f"{len(d.outliers)} flagged" if d.outliers else "")]
    rows = "".join(f'<tr><td class="text">{_e(name)}</td><td class="{"ok" if good else "bad"}">'
                   f'{"yes" if good else "no"}</td><td class="text">{_e(note)}</td></tr>'
                   for name, good, note in checks)
    warn_html = ("<ul class=\"warnings\">" + "".join(f"<li>{_e(w)}</li>" for w in fit.warnings) + "</ul>"
                 if fit.warnings else "<p class=\"ok\">The fit raised no warnings.</p>")
    sections.append('<section id="diagnostics"><h2>Diagnostics and warnings</h2><div class="scroll"><table>'
                    "<thead><tr><th>check</th><th>passed</th><th>detail</th></tr></thead>"
                    f"<tbody>{rows}</tbody></table></div>{warn_html}</section>")

    # -- allocation ---------------------------------------------------------------------------------
    allocation_table = None
    allocation_html = ""
    if law.capabilities.allocation:
        if budgets is None:
            from .forecasting.planning import default_budgets

            budgets = default_budgets(fit)
        budgets = [float(b) for b in np.atleast_1d(budgets)]
        made = _allocation(result, budgets, level)
        allocation_table = made.table
        allocation_html = ('<section id="allocation"><h2>Compute-optimal allocation</h2>'
                           + _table(_allocation_view(made.table), table_id="allocation-table")
                           + f"<p>{_e(made._band_line())}</p>"
                           + (f'<p class="bad">{_e(made.warning)}</p>' if made.warning else "") + "</section>")

    # -- figures ------------------------------------------------------------------------------------
    captions = {
        "fit": "The data and the fitted law (left; colours are size groups, '(bin)' a group of several sizes, red "
               "circles the flagged outliers, the grey band the calibrated band of the extrapolated size, the "
               "dotted line the end of the fitted data) and the residuals (right).",
        "loss_frontier": "(a) Loss against compute: the measured runs, the loss at the compute optimum with its "
                         f"{100 * level:g}% band (noise and the calibrated model error), the fitted range shaded.",
        "allocation": "(b) Compute-optimal parameters N and tokens D against compute, with their bands and the "
                      "fitted range shaded.",
        "isoflops": "(c) The law's IsoFLOP curves: loss against N at fixed compute, triangles at the minima.",
        "schedules": "(d) The predicted loss curve under each schedule with its band, the observed curves and the "
                     "last fitted step (dotted).",
    }
    figures = {"fit": plot_fit(result, level=level)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)
        if law.capabilities.allocation or law.capabilities.curve:
            figures.update(planning_figures(result, budgets, level=level, schedules=schedules))
    figure_html = "".join(_figure_html(fig, name, captions.get(name, name), dpi) for name, fig in figures.items())
    sections.append(f'<section id="figures"><h2>Figures</h2>{figure_html}</section>')
    if allocation_html:
        sections.append(allocation_html)

    # -- backtests / calibration --------------------------------------------------------------------
    backtests = None
    if "model_error" in fit.__dict__:
        me = fit.model_error
        backtests = me.cuts
        sections.append('<section id="calibration"><h2>Backtests and calibration of the band</h2>'
                        f"<p>{_e(me.describe(level))}; noise of one run ±{100 * me.noise(level):.2g}%.</p>"
                        + _table(_backtest_view(me.cuts), text_columns=("note",), table_id="backtest-table")
                        + "<p>Each backtest refits the law to the runs below a cut in compute (curve laws: in step) "
                        "and predicts the runs above; reach: how far beyond its fit the farthest held-out run lies."
                        "</p></section>")

    # -- provenance ---------------------------------------------------------------------------------
    settings = {k: v for k, v in dict(fit.settings).items() if k != "inputs"}
    inputs = list(fit.settings.get("inputs", []))
    provenance = {"inputs": inputs, "law": law.to_dict(), "settings": _jsonable(settings),
                  "scalinglaws": __version__, "python": platform.python_version(),
                  "numpy": np.__version__, "matplotlib": matplotlib.__version__,
                  "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
    if source is not None:
        provenance["fit_file"] = file_digest(source)
    if inputs:
        input_table = _table(pd.DataFrame([{"input": i.get("path", ""), "sha256": i.get("sha256", ""),
                                            "bytes": str(i.get("bytes", ""))} for i in inputs]),
                             text_columns=("input", "sha256"), table_id="input-table")
    else:
        input_table = "<p>The fit file records no input files (fits made before input recording, or in Python).</p>"
    fit_file = ""
    if source is not None:
        fit_file = (f"<p>Fit file: <code>{_e(provenance['fit_file']['path'])}</code>, SHA-256 "
                    f"<code>{_e(provenance['fit_file']['sha256'])}</code></p>")
    sections.append('<section id="provenance"><h2>Provenance</h2>' + input_table + fit_file
                    + f"<p>Law <code>{_e(law.name)}</code>: <code>{_e(law.formula)}</code>; made with scalinglaws "
                    f"{_e(__version__)} (Python {_e(provenance['python'])}, NumPy {_e(np.__version__)}, Matplotlib "
                    f"{_e(matplotlib.__version__)}).</p>"
                    + "<h3>Law and settings</h3><pre>"
                    + _e(json.dumps({"law": _jsonable(law.to_dict()), "settings": provenance["settings"]},
                                    indent=1, sort_keys=True)) + "</pre></section>")

    body = "".join(sections)
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
            f"<h1>{_e(title)}</h1><p class=\"lead\">{_e(law.formula)} · {fit.n_points} points · generated "
            f"{_e(provenance['generated'])}</p>{body}"
            f"<footer>scalinglaws {_e(__version__)} · a self-contained file: figures and styles are inline.</footer>"
            "</main></body></html>\n")
    return Report(html=page, title=title, law=law.name, parameters=parameters, allocation=allocation_table,
                  backtests=backtests, provenance=provenance, figures=tuple(figures))


def render_report(result, budgets=None, **options) -> str:
    """The HTML of :func:`build_report` (a string)."""
    return build_report(result, budgets, **options).html


def write_report(result, path, budgets=None, *, source=None, **options) -> Report:
    """Build the report and write it to ``path`` atomically, never over ``source`` (the fit file)."""
    report = build_report(result, budgets, source=source, **options)
    report.write(path, inputs=[source] + [i.get("path") for i in report.provenance.get("inputs", [])])
    return report
