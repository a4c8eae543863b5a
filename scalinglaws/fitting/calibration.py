"""The error of the law itself, calibrated on the user's own data: backtests inside the data, split-conformal.

A bootstrap (or the fit's covariance) sees the noise of the runs and the uncertainty of the parameters; it cannot
see that the law is slightly wrong, an error that grows with the distance of the extrapolation. On real grids the
held-out error grows about linearly with the log of the distance (docs/benchmarks.md), so the band of a forecast
gets a **model-error part** M(x) = s·d(x), with d the distance beyond the data in e-folds
(:func:`~scalinglaws.fitting.extrapolation.distance`) and s calibrated here:

1. **Internal backtests.** The fitted points are sorted by compute (curve laws: by step). For training shares
   f ∈ {0.5, 0.6, 0.7, 0.8, 0.9} the cut goes after the largest gap in log C within half a share step of f·n (an
   IsoFLOP budget is never split); the law is refitted below the cut with the fit's own settings and its whole
   start grid (no warm start: a backtest must not see the held-out points), and predicts the points above.
   Every (cut, held-out point) pair gives the log error e and the distance d of the point beyond that refit's data.
2. **Scores.** h is the conformal 90 %-quantile of the full fit's |log residuals| (the noise of one run's measured
   loss, the ⌈(n+1)·0.9⌉-th smallest); each pair scores the smallest slope that covers it,
   s_i = sqrt(max(0, e_i² − h²))/d_i.
3. **Calibration.** s(level) is the weighted split-conformal quantile of the scores (Lei et al. 2018; Tibshirani et
   al. 2019; Barber et al. 2023): the smallest s with Σ_{s_i ≤ s} w_i ≥ level·(Σ w_i + mean w). A cut's points share
   the cut's weight f/(1 − f) = n_train/n_test: backtests whose fit used more of the data resemble the full fit
   more and count more.
4. **Fallback.** Fewer than 2 backtests, fewer than ⌈1/(1 − level)⌉ scored pairs (10 at 90 %), or backtests that
   reach less than 1.5x beyond their fits cannot support a calibration: the slope is then the stated
   conservative rule s = max(2·h, 0.02·z(level)/z(0.9)) per e-fold, and every summary says so and why.

The band adds M in quadrature, per side, on the log scale, to the noise band (bootstrap replicates or the fit's
covariance, plus the resampled residuals of a new run): log upper = log L̂ + sqrt(H_up² + M²). Measured coverage of
the 90 % band on held-out runs at larger scale, old band against this one, is in docs/benchmarks.md
(benchmarks/calibration.py).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from .._threads import one_thread
from ..exceptions import ScalingLawsWarning
from .extrapolation import curve_distance, distance

__all__ = ["ModelError", "calibrate", "SHARES", "FALLBACK_NOISE_FACTOR", "FALLBACK_SLOPE", "MIN_REACH", "NOISE_LEVEL"]

#: Training shares of the internal backtests: every backtest fits at least half the data.
SHARES = (0.5, 0.6, 0.7, 0.8, 0.9)
#: Fallback slope (no calibration possible): max(FALLBACK_NOISE_FACTOR·h, FALLBACK_SLOPE) per e-fold at 90 %: a law
#: that misses its own runs by ±h is assumed to lose up to 2h more per e-fold beyond them, and never less than 2 % of
#: the loss per e-fold (4.6 % per decade). 2 is the 90th percentile of calibrated slope/h over real and synthetic
#: grids; 0.02 the slope calibrated on Epoch AI's Chinchilla runs (0.016–0.019).
FALLBACK_NOISE_FACTOR = 2.0
#: See :data:`FALLBACK_NOISE_FACTOR`.
FALLBACK_SLOPE = 0.02
#: Smallest distance (e-folds) the backtests must reach for a calibration: 1.5x beyond their fits.
MIN_REACH = math.log(1.5)
#: The level of the noise h the scores take out (the scores, and so the slope's growth with the level, do not
#: depend on the level asked).
NOISE_LEVEL = 0.9


def _z(level: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(0.5 * (1 + level)))


@dataclass(frozen=True, eq=False)
class ModelError:
    """The calibrated model error of a fit (see the module docstring).

    Attributes
    ----------
    law : str
    pairs : DataFrame
        One row per (backtest, held-out point): ``cut``, ``share`` (training share), ``d`` (distance, e-folds),
        ``e`` (log error), ``weight``.
    cuts : DataFrame
        One row per backtest: ``train``, ``test`` (points), ``ok``, ``reach`` (largest d), ``note``.
    residuals : ndarray
        The full fit's log residuals (the noise part h).
    status : {"calibrated", "fallback"}
    reason : str
        Why the fallback rule is used ("" when calibrated).
    seconds : float
        Time the backtests took.
    """

    law: str
    pairs: pd.DataFrame
    cuts: pd.DataFrame
    residuals: np.ndarray
    status: str
    reason: str = ""
    seconds: float = 0.0

    @property
    def reach(self) -> float:
        """The largest distance (e-folds) the internal backtests covered."""
        return float(self.pairs["d"].max()) if len(self.pairs) else 0.0

    @property
    def calibrated(self) -> bool:
        return self.status == "calibrated"

    def noise(self, level: float = 0.9) -> float:
        """h(level): the conformal level-quantile of |log residual| of the full fit."""
        r = np.sort(np.abs(np.asarray(self.residuals, dtype=float)))
        if not r.size:
            return 0.0
        return float(r[min(r.size, math.ceil((r.size + 1) * level)) - 1])

    def scores(self) -> np.ndarray:
        """Each pair's smallest covering slope, sqrt(max(0, e² − h²))/d, with h the noise at 90 % (see :meth:`slope`)."""
        e = self.pairs["e"].to_numpy(float)
        return np.sqrt(np.clip(e**2 - self.noise(NOISE_LEVEL) ** 2, 0, None)) / self.pairs["d"].to_numpy(float)

    def fallback_slope(self, level: float = 0.9) -> float:
        """The stated conservative slope: max(2·h(level), 0.02·z(level)/z(0.9)) per e-fold."""
        return max(FALLBACK_NOISE_FACTOR * self.noise(level), FALLBACK_SLOPE * _z(level) / _z(0.9))

    def slope(self, level: float = 0.9) -> float:
        """s(level): the model error, as a log-loss half-width, per e-fold beyond the data: the weighted
        split-conformal ``level``-quantile of the scores (step 3 of the module docstring).

        The scores take out the noise at 90 % (:data:`NOISE_LEVEL`) whatever the level, so the slope grows with the
        level and a band at a higher level is never narrower (taking out each level's own noise made the 80 %
        slope larger than the 90 % one on real runs); at 90 % it is the calibration measured in docs/benchmarks.md.
        """
        if not self.calibrated:
            return self.fallback_slope(level)
        scores, w = self.scores(), self.pairs["weight"].to_numpy(float)
        order = np.argsort(scores, kind="stable")
        k = np.searchsorted(np.cumsum(w[order]), level * (w.sum() + w.mean()) - 1e-12)
        return float(scores[order][k]) if k < scores.size else self.fallback_slope(level)

    def halfwidth(self, d, level: float = 0.9) -> np.ndarray:
        """M = s(level)·d: the model-error half-width (log scale) at distances ``d`` (e-folds)."""
        return self.slope(level) * np.clip(np.asarray(d, dtype=float), 0, None)

    def describe(self, level: float = 0.9) -> str:
        """One line: how the model error was obtained and how large it is."""
        s = self.slope(level)
        rate = f"{100 * s:.2g}% of the loss per e-fold beyond the data ({100 * s * math.log(10):.2g}% per decade)"
        if self.calibrated:
            return (f"model error calibrated on {int(self.cuts['ok'].sum())} backtests inside the data "
                    f"({len(self.pairs)} held-out points, reaching {math.exp(self.reach):.3g}x beyond their fits): "
                    f"{rate} at {100 * level:g}%")
        return (f"model error from the stated fallback rule, max({FALLBACK_NOISE_FACTOR:g}x the noise, "
                f"{100 * FALLBACK_SLOPE:g}%) per e-fold, because {self.reason}: {rate} at {100 * level:g}%")

    def summary(self, level: float = 0.9) -> str:
        """The calibration and its backtests, as text."""
        lines = [f"Model error of {self.law}: {self.describe(level)}; noise of one run ±{100 * self.noise(level):.2g}%"]
        for row in self.cuts.itertuples():
            lines.append(f"  backtest on {row.train} points, {row.test} held out: "
                         + (f"reaches {math.exp(row.reach):.3g}x" if row.ok else f"failed ({row.note})"))
        return "\n".join(lines)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``backtests`` (one row per cut) and ``pairs`` (one row per held-out point of a cut)."""
        return {"backtests": self.cuts, "pairs": self.pairs}

    def to_dict(self) -> dict:
        """Plain data (for JSON): the pairs and cuts as columns of numbers."""
        def columns(frame):
            return {c: [(None if isinstance(v, float) and not math.isfinite(v) else v) for v in frame[c].tolist()]
                    for c in frame.columns}
        return {"law": self.law, "status": self.status, "reason": self.reason, "seconds": self.seconds,
                "pairs": columns(self.pairs), "cuts": columns(self.cuts)}

    @classmethod
    def from_dict(cls, d: Mapping, residuals) -> "ModelError":
        """Inverse of :meth:`to_dict` (the residuals are the fit's own)."""
        pairs = pd.DataFrame(d["pairs"]).astype({"d": float, "e": float, "weight": float})
        return cls(law=str(d["law"]), pairs=pairs, cuts=pd.DataFrame(d["cuts"]),
                   residuals=np.asarray(residuals, dtype=float), status=str(d["status"]), reason=str(d["reason"]),
                   seconds=float(d.get("seconds", 0.0)))


def _cuts(v: np.ndarray, shares, min_train: int) -> list[int]:
    """Training sizes of the backtests: for each share f, the position within half a share step of f·n after which
    the gap in sorted ``v`` is largest (ties: the closest to f·n)."""
    n = v.size
    gaps = np.diff(np.sort(v))
    step = (shares[1] - shares[0]) if len(shares) > 1 else 0.1
    chosen: list[int] = []
    for f in shares:
        lo, hi = max(min_train, math.ceil((f - step / 2) * n)), min(n - 1, math.floor((f + step / 2) * n))
        if lo > hi:
            continue
        m = np.arange(lo, hi + 1)
        g = gaps[m - 1]
        if g.max() <= 1e-12:
            continue
        best = int(m[np.lexsort((np.abs(m - f * n), -g))[0]])
        if best not in chosen:
            chosen.append(best)
    return sorted(chosen)


def _weights(pairs: pd.DataFrame) -> np.ndarray:
    """Each cut's points share its weight f/(1 − f); normalised to mean 1."""
    counts = pairs.groupby("cut")["d"].transform("size").to_numpy(float)
    f = pairs["share"].to_numpy(float)
    w = f / (1.0 - f) / counts
    return w * len(w) / w.sum()


def calibrate(fit, *, shares=SHARES, level: float = 0.9) -> ModelError:
    """Backtest ``fit`` inside its own data and calibrate its model error (see the module docstring).

    Costs one refit per backtest (5 by default; about three times the fit itself). ``level`` only decides the
    fallback's minimum number of held-out points; the slope is recomputed at every level asked.

    >>> import scalinglaws as sl  # doctest: +SKIP
    >>> print(calibrate(sl.fit("chinchilla", sl.read_points("data/chinchilla_epoch.csv"))).describe())  # doctest: +SKIP
    model error calibrated on 5 backtests inside the data (...): 1.9% of the loss per e-fold ... at 90%
    """
    from .optimize import Fitter

    start = time.perf_counter()
    law = fit.law
    X = {k: np.asarray(v, dtype=float) for k, v in fit.inputs.items()}
    y = np.asarray(fit.observed, dtype=float)
    n = y.size
    curve = law.capabilities.curve
    if curve:
        key = X["step"]
    else:
        compute = X["C"] if "C" in X else (6.0 * X["N"] * X["D"] if {"N", "D"} <= set(X) else None)
        key = compute if compute is not None else X[next(k for k in law.inputs)]
    order = np.argsort(np.log(np.maximum(key, 1e-300)), kind="stable")
    fitter = Fitter.from_settings(fit.settings)
    min_train = max(2 * fit.n_free + 2, 8)
    frames, rows = [], []
    with one_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawsWarning)
        for m in _cuts(np.log(np.maximum(key, 1e-300)), shares, min_train):
            train, test = order[:m], order[m:]
            table = pd.DataFrame({"run": np.asarray(fit.runs)[train], **{k: v[train] for k, v in X.items()},
                                  "loss": y[train]})
            try:
                sub = fitter.fit(law, table)
            except Exception as err:  # a backtest that cannot be fitted is reported, not fatal
                rows.append({"train": m, "test": n - m, "ok": False, "reach": 0.0, "note": str(err)[:120]})
                continue
            Xs, Xt = {k: v[train] for k, v in X.items()}, {k: v[test] for k, v in X.items()}
            with np.errstate(all="ignore"):
                e = np.log(y[test]) - np.log(np.asarray(sub.predict(Xt), dtype=float))
            d = (curve_distance(law, Xs, law, Xt)["distance"].to_numpy() if curve else distance(Xs, Xt))
            ok = np.isfinite(e) & np.isfinite(d) & (d > 0)
            frames.append(pd.DataFrame({"cut": len(rows), "share": m / n, "d": d[ok], "e": e[ok]}))
            rows.append({"train": m, "test": n - m, "ok": True, "reach": float(d[ok].max()) if ok.any() else 0.0,
                         "note": "" if sub.converged else "not converged"})
    pairs = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame({"cut": pd.Series(dtype=int), "share": pd.Series(dtype=float),
                                "d": pd.Series(dtype=float), "e": pd.Series(dtype=float)}))
    pairs["weight"] = _weights(pairs) if len(pairs) else np.zeros(0)
    cuts = pd.DataFrame(rows, columns=["train", "test", "ok", "reach", "note"])
    n_ok = int(cuts["ok"].sum()) if len(cuts) else 0
    status, reason = "calibrated", ""
    if n_ok < 2:
        status, reason = "fallback", (f"only {n_ok} backtest{'s' if n_ok != 1 else ''} inside the data could be fitted "
                                      "(too few points or distinct scales)")
    elif len(pairs) < math.ceil(1 / (1 - level)):
        status, reason = "fallback", f"the backtests inside the data hold out only {len(pairs)} points"
    elif pairs["d"].max() < MIN_REACH:
        status, reason = "fallback", (f"the backtests inside the data reach only {math.exp(pairs['d'].max()):.2g}x "
                                      f"beyond their fits (a calibration needs {math.exp(MIN_REACH):.2g}x)")
    return ModelError(law=law.name, pairs=pairs, cuts=cuts, residuals=np.asarray(fit.residuals, dtype=float),
                      status=status, reason=reason, seconds=time.perf_counter() - start)
