"""The checks every ingested run goes through: divergence, over-fitting, units, values a fit cannot use.

**Divergence** is judged on a smoothed curve, not on raw per-batch losses (whose lucky minima make any noisy run
look like it rose): the training loss (the evaluation loss when there is none) is smoothed by a running median
over ``max(5, n/20)`` logged values (none below :data:`SMOOTH_FROM` values), and the run is *diverged* when its
final value (the lower of its last smoothed value and the median of the last three) exceeds ``diverge_factor`` times the lowest smoothed value (by a rise of
at least :data:`MATERIAL` of the curve's fall from its first value to its best: a training loss memorised down to
1e-4 that doubles has not diverged), or when a logged value is NaN/inf.

**Over-fitting** is told apart: when the evaluation loss ends more than :data:`OVERFIT_MARGIN` above its best
while the training loss kept falling, the run is flagged *over-fitting* (not diverged: its points are real
measurements, of a model past its best). With no training loss to compare, an evaluation loss that rose by
``diverge_factor`` is divergence or over-fitting, and the reason says it cannot tell.

**Values a fit cannot use** are flagged: a loss of 0 or below (reinforcement-learning surrogates, Dice losses
log exactly 0.0) is kept in the curves as logged, but it is no cross-entropy in nats, and points made of it are
excluded from fits; a loss named in bits, or a median loss above 20 nats (a per-sequence sum?), is flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._parallel import thread_map, usable_cores
from .logs import NONFINITE
from .names import is_bits

__all__ = ["check_runs", "smooth", "SMOOTH_FROM", "OVERFIT_MARGIN"]

#: Curves with fewer logged values than this are not smoothed (sparse evaluations are averages already).
SMOOTH_FROM = 20
#: Longer curves are reduced to this many block medians before smoothing.
BLOCKS = 200
#: How far above its best the evaluation loss must end to call a run over-fitting.
OVERFIT_MARGIN = 0.05
#: A rise counts only when it is at least this fraction of the curve's fall from its first value to its best.
MATERIAL = 0.05
_PER_SEQUENCE = 20.0  # nats: no per-token language-model loss is this high for long (ln 256k ≈ 12.5)
#: Curves of at least this many values (all runs together) are checked on :data:`THREADS` threads.
THREADS_FROM = 1_000_000
#: Threads for checking long curves: the cores this process may use, at most 2 (measured: docs/benchmarks.md).
THREADS = min(2, usable_cores())


def smooth(values: np.ndarray, steps: np.ndarray | None = None):
    """A running median (centred, window ``max(5, n/20)`` values, odd) of one run's logged values; unchanged
    below :data:`SMOOTH_FROM` values. Past :data:`BLOCKS` values, the values are first reduced to the medians of
    :data:`BLOCKS` equal blocks (aligned on the last value), so that smoothing stays O(n). With ``steps``, returns
    ``(curve, steps of its points)``.

    >>> smooth(np.array([3.0, 2.0, 9.0, 1.0])).tolist()
    [3.0, 2.0, 9.0, 1.0]
    """
    n = len(values)
    at = steps
    if n >= SMOOTH_FROM:
        if n > 2 * BLOCKS:
            block = n // BLOCKS
            cut = n - (n // block) * block
            values = np.median(values[cut:].reshape(-1, block), axis=1)
            at = None if steps is None else steps[cut:].reshape(-1, block)[:, -1]
        values = _running_median(values, max(5, len(values) // 20) | 1)
    return values if steps is None else (values, at)


def _running_median(values: np.ndarray, window: int) -> np.ndarray:
    """``pandas.Series(values).rolling(window, center=True, min_periods=1).median()`` of finite values (odd
    ``window`` <= their number), in numpy: the full windows at once, the shorter ones at the two ends one by one
    (a pandas rolling window costs ~0.2 ms, and a folder may hold thousands of runs)."""
    n, half = len(values), window // 2
    out = np.empty(n)
    out[half : n - half] = np.median(np.lib.stride_tricks.sliding_window_view(values, window), axis=1)
    for i in range(half):  # a few short windows: sorted in Python (np.median costs ~30 µs a call)
        out[i] = _median(values[: i + half + 1].tolist())
        out[n - 1 - i] = _median(values[n - 1 - i - half :].tolist())
    return out


def _median(values: list) -> float:
    """The median of a short list of floats, as numpy computes it (the mean of the middle two of an even count)."""
    values = sorted(values)
    m = len(values) // 2
    return values[m] if len(values) % 2 else (values[m - 1] + values[m]) / 2


def _smoothed(values: np.ndarray) -> str:
    """How a reason names the curve its numbers come from: the running median (:func:`smooth`) from
    :data:`SMOOTH_FROM` values on, so that they may appear nowhere in the log."""
    return " (running median)" if values.size >= SMOOTH_FROM else ""


def _trend(values: np.ndarray, steps: np.ndarray):
    """(best, step of best, final, first) of a smoothed curve, or None below three values."""
    if values.size < 3:
        return None
    curve, at = smooth(values, steps)
    i = int(np.argmin(curve))
    final = min(float(np.median(curve[-3:])), float(curve[-1]))  # a last spike is not a rise; a fall is a fall
    return float(curve[i]), int(at[i]), final, float(curve[0])


def _rose(trend, factor: float) -> bool:
    """Whether a curve ended ``factor`` above its best, by a rise that matters next to how far it fell (a loss
    memorised down to 1e-4 that doubles has not diverged)."""
    best, _, final, first = trend
    return final > factor * best and final - best >= MATERIAL * max(first - best, 0.0)


def check_runs(curves: pd.DataFrame, info: pd.DataFrame, diverge_factor: float, segments,
               flags: dict | None = None) -> pd.DataFrame:
    """Rows, last step and tokens of every run, and its checks (``diverged``, ``reason``, ``flags``).

    What can be counted is counted over whole columns at once (per run, by ``reduceat``); a run's values are
    copied only when some of them are not finite. The smoothing of long curves (block medians) runs on
    :data:`THREADS` threads when the curves hold at least :data:`THREADS_FROM` values (numpy's sorting releases
    the GIL), with the same results as in one thread."""
    starts, ends, names = segments
    starts, ends = np.asarray(starts, dtype=np.intp), np.asarray(ends, dtype=np.intp)
    step = curves["step"].to_numpy()
    tokens = curves["tokens"].to_numpy(dtype=float)
    metrics = {name: curves[name].to_numpy(dtype=float) for name in ("loss", "eval_loss")}
    scratch = (np.empty(len(step), dtype=bool), np.empty(len(step), dtype=bool))
    counts = {name: _counts(values, starts, ends, scratch) for name, values in metrics.items()}
    column = {c: dict(zip(info["run"], info[c])) for c in ("flags", "_N_flag", "loss_key", "eval_loss_key")
              if c in info}  # look-ups in dicts: .at costs ~10 µs, and a folder may hold thousands of runs
    last_token = _last_finite(tokens, starts, ends, scratch[0])
    del scratch

    def check(j: int) -> tuple[bool, str, str]:
        run, lo, hi = names[j], starts[j], ends[j]
        notes = [column["flags"][run]] if column["flags"][run] else []
        if "_N_flag" in column and column["_N_flag"][run]:
            notes.append(column["_N_flag"][run])
        notes += list((flags or {}).get(run, []))
        reasons = []
        steps = step[lo:hi]
        series = {}
        for name, values in metrics.items():
            finite, marked, low, high = (c[j] for c in counts[name])
            values = values[lo:hi]
            if marked:
                reasons.append(f"{name} not finite at step {int(steps[np.flatnonzero(values == NONFINITE)[0]])}")
            if finite == hi - lo:
                kept, at = values, steps  # views: nothing to leave out
            else:
                ok = np.isfinite(values)
                kept, at = values[ok], steps[ok]
            if low:
                lowest = kept[kept <= 0]
                notes.append(f"{name} <= 0 at {lowest.size} of {kept.size} steps (lowest {lowest.min():g}): "
                             "not a cross-entropy in nats (an RL or Dice objective?); points of such values are "
                             "left out of fits")
            series[name] = (kept, at, bool(low), high)
        train, train_steps, train_low, train_high = series["loss"]
        ev, ev_steps, ev_low, ev_high = series["eval_loss"]
        t = None if train_low else _trend(train, train_steps)
        e = None if ev_low else _trend(ev, ev_steps)
        if t is not None and _rose(t, diverge_factor):
            reasons.append(f"loss{_smoothed(train)} rose from {t[0]:.4g} (step {t[1]}) to {t[2]:.4g}")
        elif e is not None and e[2] > (1 + OVERFIT_MARGIN) * e[0]:
            falling = t is not None and t[2] < float(np.interp(e[1], *reversed(smooth(train, train_steps))))
            if falling:
                notes.append(f"over-fitting: eval loss{_smoothed(ev)} rose from {e[0]:.4g} (step {e[1]}) to "
                             f"{e[2]:.4g} while the training loss fell to {t[2]:.4g}")
            elif _rose(e, diverge_factor):
                why = "no training loss to tell divergence from over-fitting" if t is None else \
                    "while the training loss did not fall"
                reasons.append(f"eval loss{_smoothed(ev)} rose from {e[0]:.4g} (step {e[1]}) to {e[2]:.4g} ({why})")
        evaluated = ev.size > 0
        key = column["eval_loss_key" if evaluated else "loss_key"][run]
        if key and is_bits(key):
            notes.append(f"{key!r} is in bits, not nats")
        finite, high = (ev, ev_high) if evaluated else (train, train_high)
        if finite.size and high > finite.size / 2:  # the median is above it
            notes.append(f"median loss {np.median(finite):.3g} nats: a per-sequence sum, not per token?")
        return bool(reasons), "; ".join(reasons), "; ".join(dict.fromkeys(n for n in notes if n))

    checked = thread_map(check, range(len(names)), THREADS if len(step) >= THREADS_FROM else 1)
    out = {"rows": (ends - starts).tolist(), "last_step": step[ends - 1].astype(np.int64).tolist() if len(names)
           else [], "tokens": last_token.tolist(), "diverged": [c[0] for c in checked],
           "reason": [c[1] for c in checked]}
    all_flags = [c[2] for c in checked]
    info = info.set_index("run").loc[names].reset_index()
    for k, v in out.items():
        info[k] = v
    info["flags"] = all_flags
    info = info.drop(columns=[c for c in ("_N_flag",) if c in info])
    front = ["run", "format", "source", "rows", "last_step", "tokens", "N", "N_embed", "N_total", "N_source",
             "batch_size", "seq_len", "tokens_per_step", "tokens_source", "loss_key", "eval_loss_key", "lr_key",
             "tokens_key", "diverged", "reason", "flags"]
    return info[front + [c for c in info.columns if c not in front]]


def _counts(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, scratch=None) -> tuple[np.ndarray, ...]:
    """Per run (rows ``starts[j]:ends[j]``, contiguous, none empty): how many values are finite, how many are
    marked non-finite (:data:`~scalinglaws.io.logs.NONFINITE`), how many finite ones are <= 0 and how many are
    above :data:`_PER_SEQUENCE` nats. A count that is 0 or everything over the whole column is not split. The
    masks are written into ``scratch`` (two boolean arrays as long as ``values``) when given: fresh memory is
    what a long column's passes cost most."""
    sizes = ends - starts
    if not len(starts):
        return (sizes,) * 4
    if values.strides == (0,):  # one repeated value (a metric no row logged): counted once
        values, scratch = values[:1], None
    n = len(values)
    finite, other = scratch if scratch is not None else (np.empty(n, dtype=bool), np.empty(n, dtype=bool))

    def split(mask):
        if n == 1:
            return sizes * int(mask[0])
        total = np.count_nonzero(mask)
        return sizes * (total > 0) if total in (0, n) else np.add.reduceat(mask, starts, dtype=np.intp)

    np.isfinite(values, out=finite)
    return (split(finite), split(np.equal(values, NONFINITE, out=other)),
            split(np.logical_and(finite, np.less_equal(values, 0, out=other), out=other)),
            split(np.logical_and(finite, np.greater(values, _PER_SEQUENCE, out=other), out=other)))


def _last_finite(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, scratch=None) -> np.ndarray:
    """Per run, its last finite value (NaN when it has none); the mask written into ``scratch`` when given."""
    out = np.full(len(starts), np.nan)
    if not len(starts):
        return out
    finite = np.isfinite(values, out=scratch) if scratch is not None else np.isfinite(values)
    if np.count_nonzero(finite) == len(values):
        out[:] = values[ends - 1]
        return out
    whole = np.add.reduceat(finite, starts, dtype=np.intp) == ends - starts
    out[whole] = values[ends[whole] - 1]
    for j in np.flatnonzero(~whole):
        seg = values[starts[j]:ends[j]][finite[starts[j]:ends[j]]]
        if seg.size:
            out[j] = seg[-1]
    return out
