"""The runs' checks (scalinglaws.io.checks): the counts taken over whole columns agree with counting run by run,
and checking long curves on threads gives the same runs table as in one thread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalinglaws as sl
from scalinglaws.io import checks
from scalinglaws.io.logs import NONFINITE

_VALUES = st.sampled_from([np.nan, NONFINITE, -np.inf, -1.0, 0.0, 0.5, 3.0, 20.0, 25.0, 1e300])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_VALUES, min_size=1, max_size=12), min_size=1, max_size=6))
def test_column_counts_agree_with_counting_each_run(runs):
    values = np.array([v for run in runs for v in run])
    ends = np.cumsum([len(run) for run in runs])
    starts = ends - [len(run) for run in runs]
    scratch = (np.ones(len(values), dtype=bool), np.ones(len(values), dtype=bool))  # stale contents
    finite, marked, low, high = checks._counts(values, starts, ends)
    for mine, given in zip((finite, marked, low, high), checks._counts(values, starts, ends, scratch)):
        assert mine.tolist() == given.tolist()
    for j, run in enumerate(runs):
        run = np.array(run)
        ok = np.isfinite(run)
        assert finite[j] == ok.sum()
        assert marked[j] == np.count_nonzero(run == NONFINITE)
        assert low[j] == np.count_nonzero(ok & (run <= 0))
        assert high[j] == np.count_nonzero(run[ok] > checks._PER_SEQUENCE)
    last = checks._last_finite(values, starts, ends)
    assert np.array_equal(last, checks._last_finite(values, starts, ends, scratch[0]), equal_nan=True)
    for j, run in enumerate(runs):
        kept = np.array(run)[np.isfinite(run)]
        assert (np.isnan(last[j]) and not kept.size) or last[j] == kept[-1]


def test_a_column_of_one_repeated_value_is_counted_once():
    starts, ends = np.array([0, 3]), np.array([3, 8])
    for value in (np.nan, NONFINITE, -2.0, 30.0, 1.0):
        column = np.broadcast_to(np.float64(value), (8,))
        assert [c.tolist() for c in checks._counts(column, starts, ends)] == \
            [c.tolist() for c in checks._counts(np.full(8, value), starts, ends)]


def _curves(path):
    """Runs that exercise every check: diverged, over-fitting, a loss <= 0, a per-sequence loss, a NaN loss."""
    rng = np.random.default_rng(3)
    steps = np.arange(1, 601)
    fall = 2 + 3 / np.sqrt(steps)
    rows = []
    shapes = {
        "steady": (fall, fall + 0.1),
        "diverged": (np.where(steps > 400, fall * 4, fall), fall + 0.1),
        "overfit": (fall, np.where(steps > 300, fall + 0.5 + steps / 400, fall + 0.1)),
        "surrogate": (fall - 3, fall),
        "summed": (fall * 40, fall * 40),
        "broken": (np.where(steps == 250, np.inf, fall), fall + 0.1),
    }
    for run, (loss, ev) in shapes.items():
        noise = 0.01 * rng.standard_normal(len(steps))
        ev = np.where(steps % 50 == 0, ev, np.nan)  # evaluated every 50 steps
        rows.append(pd.DataFrame({"run": run, "step": steps, "loss": loss + noise, "eval_loss": ev}))
    pd.concat(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("threads", [2, 3])
def test_checks_on_threads_give_the_runs_table_of_one_thread(tmp_path, monkeypatch, threads):
    path = _curves(tmp_path / "curves.csv")
    monkeypatch.setattr(checks, "THREADS", 1)
    alone = sl.ingest(path).runs
    monkeypatch.setattr(checks, "THREADS", threads)
    monkeypatch.setattr(checks, "THREADS_FROM", 0)
    threaded = sl.ingest(path).runs
    pd.testing.assert_frame_equal(alone, threaded)
    by_run = alone.set_index("run")
    assert by_run.loc["diverged", "diverged"] and "rose from" in by_run.loc["diverged", "reason"]
    assert by_run.loc["broken", "diverged"] and "not finite at step 250" in by_run.loc["broken", "reason"]
    assert "over-fitting" in by_run.loc["overfit", "flags"] and not by_run.loc["overfit", "diverged"]
    assert "loss <= 0 at" in by_run.loc["surrogate", "flags"]
    assert "per-sequence sum" in by_run.loc["summed", "flags"]
    assert not by_run.loc["steady", "diverged"] and by_run.loc["steady", "flags"] == ""
