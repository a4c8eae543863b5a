"""Planning training runs from a fit: for each compute budget, the compute-optimal model size and token count
with their bands, the loss to expect, how far beyond the fitted data the budget lies, and a batch size and peak
learning rate from a published hyperparameter law.

    plan = sl.plan(fit, [1e23, 1e24], inference_tokens=1e12)
    print(plan.summary()); plan.table
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from ..exceptions import ScalingLawsError
from ..schema import format_number
from .allocation import compute_optimal
from .batch import PRESETS, HyperparameterLaw
from .loss import band_part
from ..fitting.extrapolation import WARN_BEYOND, beyond_data, fitted_compute, warn_extrapolation

__all__ = ["plan", "Plan", "HPARAM_CHOICES", "default_budgets"]

#: Names accepted for the hyperparameter law of a plan: the published presets, or ``none``.
HPARAM_CHOICES = (*PRESETS, "none")


@dataclass(frozen=True, eq=False)
class Plan:
    """A training plan (see :func:`plan`). :attr:`table` has one row per budget: ``C``, ``N_opt``, ``D_opt``,
    ``tokens_per_param``, ``loss`` with ``_lower``/``_upper`` bands, ``beyond_C`` (training compute over the
    largest fitted compute), and with a hyperparameter law ``batch_tokens``, ``batch_seqs`` and ``lr``."""

    table: pd.DataFrame
    law: str
    level: float
    band: str
    band_description: str
    model_error: str
    hyperparameters: HyperparameterLaw | None
    seq_len: int
    options: Mapping = field(default_factory=dict)
    source: str = ""
    warning: str | None = None

    def summary(self, compact: bool = False) -> str:
        """The plan as the command line prints it: one block per budget, or with ``compact`` one line per budget
        (the allocation table of ``scalinglaws fit``)."""
        if compact:
            return self._compact()
        notes = []
        if self.options.get("inference_tokens"):
            notes.append(f"inference {format_number(self.options['inference_tokens'])} tokens")
        if self.options.get("unique_tokens"):
            notes.append(f"unique tokens capped at {format_number(self.options['unique_tokens'])}")
        if self.options.get("flops"):
            notes.append(f"FLOPs {self.options['flops']}")
        lines = [f"Plan{f' from {self.source}' if self.source else ''} ({self.law})" + "".join(f"; {n}" for n in notes),
                 self._band_line()]
        count = format_number
        for row in self.table.itertuples():
            beyond = f" (x{row.beyond_C:.3g} the largest fitted compute)" if row.beyond_C > 1.0001 else ""
            lines.append(f"C = {row.C:.3g} FLOPs{beyond}")
            if np.isnan(row.N_opt):
                lines.append("  no interior optimum: the law keeps improving toward an extreme model size")
                continue
            lines.append(f"  parameters N      {_band(row, 'N_opt', count)}")
            lines.append(f"  tokens D          {_band(row, 'D_opt', count)}"
                         + (f"  ({row.epochs:.3g} epochs of the unique tokens)" if "epochs" in self.table else ""))
            lines.append(f"  tokens/parameter  {_band(row, 'tokens_per_param', lambda v: f'{v:.4g}')}")
            parts = (f"  (noise {band_part(row, 'noise', 'loss_').strip()}, model error "
                     f"{band_part(row, 'model', 'loss_').strip()})") if "loss_noise_lower" in self.table else ""
            lines.append(f"  loss              {_band(row, 'loss', lambda v: f'{v:.4f}')}{parts}")
            if "inference_flops" in self.table:
                lines.append(f"  FLOPs: training {row.train_flops:.3g}, inference {row.inference_flops:.3g}")
            if self.hyperparameters is not None:
                lines.append(f"  batch size        {format_number(row.batch_tokens)} tokens ({row.batch_seqs:.4g} "
                             f"sequences of {self.seq_len}); learning rate {row.lr:.3g}  [{self.hyperparameters.name}]")
        if self.hyperparameters is not None:
            lines.append(f"Batch size and learning rate: {self.hyperparameters.describe()}; its N counts "
                         "non-embedding parameters.")
        if self.warning:
            lines.append(f"Warning: {self.warning}")
        return "\n".join(lines)

    def _band_line(self) -> str:
        model = f"; {self.model_error}" if self.model_error else "; no model error (the narrow band)"
        return (f"[{100 * self.level:g}% intervals: N, D and tokens/parameter from the parameter uncertainty "
                f"({self.band_description or self.band}); the loss of a run at the optimum also with its scatter"
                f"{model}]")

    def _compact(self) -> str:
        fitted = self.options.get("fitted_compute", np.nan)
        lines = [f"Compute-optimal allocation (C = 6·N·D; data reach C = {fitted:.3g} FLOPs):", "  " + self._band_line()]
        cells = {"N_opt": format_number, "D_opt": format_number, "tokens_per_param": lambda v: f"{v:.4g}",
                 "loss": lambda v: f"{v:.4f}"}
        rows = []
        for row in self.table.itertuples():
            if np.isnan(row.N_opt):
                rows.append((f"{row.C:.3g}", "no interior optimum: the law keeps improving toward an extreme N"))
                continue
            beyond = f"x{row.beyond_C:.3g}" if row.beyond_C > 1.0001 else "-"
            parts = (band_part(row, "noise", "loss_").strip(), band_part(row, "model", "loss_").strip())
            rows.append((f"{row.C:.3g}", *(_band(row, k, f) for k, f in cells.items()), *parts, beyond))
        head = ("C (FLOPs)", "N_opt", "D_opt", "tokens/param", "loss", "noise", "model", "beyond (C)")
        widths = [max((len(r[i]) for r in rows if len(r) > i), default=0) for i in range(len(head))]
        widths = [max(w, len(h)) for w, h in zip(widths, head)]
        lines.append("  " + "  ".join(f"{h:>{w}}" for h, w in zip(head, widths)))
        for r in rows:
            lines.append("  " + ("  ".join(f"{c:>{w}}" for c, w in zip(r, widths)) if len(r) == len(head)
                                 else f"{r[0]:>{widths[0]}}  {r[1]}"))
        if "loss_noise_lower" in self.table:
            lines.append("  noise, model: the loss band's half-widths (% of the loss) without the model error, and of "
                         "the model error alone")
        if self.warning:
            lines.append(f"Warning: {self.warning}")
        return "\n".join(lines)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``plan``: the table."""
        return {"plan": self.table}


def _band(row, name: str, fmt: Callable) -> str:
    text = fmt(getattr(row, name))
    lower = getattr(row, f"{name}_lower", None)
    if lower is not None and np.isfinite(lower):
        text += f" [{fmt(lower)}, {fmt(getattr(row, name + '_upper'))}]"
    return text


def default_budgets(fit) -> list[float]:
    """Five decades of compute from the decade of the largest fitted compute: 1e22 … 1e26 for data reaching 1.3e22."""
    fitted = fitted_compute(fit)
    if fitted is None:
        raise ScalingLawsError(f"law '{fit.law.name}' has no compute to plan budgets from; give the budgets")
    top = int(np.floor(np.log10(float(np.max(fitted)))))
    return [10.0**k for k in range(top, top + 5)]


def plan(fit, budgets=None, *, inference_tokens: float = 0.0, unique_tokens: float | None = None,
         flops: Callable | str | None = None, hparams: str | HyperparameterLaw | None = "steplaw",
         seq_len: int = 2048, level: float = 0.9, kind: str = "observation", model_error: bool = True,
         warn_beyond: float = WARN_BEYOND) -> Plan:
    """Plan runs for compute ``budgets`` (FLOPs; default :func:`default_budgets`) from a fit or a bootstrap of a
    law of N and D.

    ``inference_tokens``, ``unique_tokens`` and ``flops`` are those of
    :func:`~scalinglaws.forecasting.allocation.compute_optimal`; ``hparams`` names a published law of the optimal
    batch size and learning rate (``steplaw``, ``steplaw-mean``, ``deepseek``; ``None`` or ``"none"``: none) or is a
    :class:`~scalinglaws.forecasting.batch.HyperparameterLaw`; ``seq_len`` (tokens) turns the batch into sequences.
    The bands are those of :func:`~scalinglaws.forecasting.allocation.compute_optimal` (``kind``, ``model_error``).
    """
    if not (isinstance(seq_len, (int, np.integer)) and seq_len >= 1):
        raise ScalingLawsError(f"seq_len must be a positive number of tokens, got {seq_len!r}")
    preset = PRESETS.get(hparams) if isinstance(hparams, str) else hparams
    if isinstance(hparams, str) and hparams != "none" and preset is None:
        raise ScalingLawsError(f"unknown hyperparameter law {hparams!r}; use one of {', '.join(HPARAM_CHOICES)}")
    options = {"inference_tokens": float(inference_tokens), "unique_tokens": unique_tokens, "flops": flops}
    if budgets is None:
        budgets = default_budgets(fit)
    table = compute_optimal(fit, budgets, level=level, kind=kind, model_error=model_error, **options)
    train = table["train_flops"] if "train_flops" in table else table["C"]
    far = beyond_data(fit, {"N": table["N_opt"].to_numpy(), "D": table["D_opt"].to_numpy()}, C=train.to_numpy())
    table = pd.concat([table.drop(columns="distance", errors="ignore"), far], axis=1)
    if preset is not None:
        variables = {"N": table["N_opt"], "D": table["D_opt"], "C": train}
        table["batch_tokens"] = preset.batch_size(**{k: variables[k] for k in preset.batch[1]})
        table["batch_seqs"] = table["batch_tokens"] / seq_len
        table["lr"] = preset.learning_rate(**{k: variables[k] for k in preset.lr[1]})
    message = warn_extrapolation(fit, far, warn_beyond, what="budget")
    base = getattr(fit, "fit", fit)  # a bootstrap's own fit
    diagnostics = getattr(base, "diagnostics", None)
    if diagnostics is not None and (diagnostics.narrow or diagnostics.at_bound or not diagnostics.identifiable):
        why = "; ".join(filter(None, [
            ("the data span less than a decade in " + ", ".join(diagnostics.narrow)) if diagnostics.narrow else "",
            ("parameter(s) " + ", ".join(diagnostics.at_bound) + " on a bound") if diagnostics.at_bound else "",
            "some parameters are not determined" if not diagnostics.identifiable else ""]))
        caution = f"this allocation extrapolates a fit that cannot support it ({why}): treat it as a rough guess"
        message = f"{caution}; {message}" if message else caution
    fitted = fitted_compute(fit)
    options["fitted_compute"] = float(np.max(fitted)) if fitted is not None else np.nan
    return Plan(table=table, law=fit.law.name, level=level, band=fit.band_source,
                band_description=fit.band_description,
                model_error=fit.model_error.describe(level) if model_error else "", hyperparameters=preset,
                seq_len=int(seq_len), options=options, warning=message)
