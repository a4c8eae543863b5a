"""Benchmark: the cost of the loss-curve laws on long curves logged at every step.

    python benchmarks/curve_cost.py [--part fits|scaling|all] [--max-n 1000000] [--repeats 3]

1. ``fits``: ``fit_curves`` of the Multi-Power and the LR-annealing law on one 100,000-step curve logged at
   every step (99,999 observations after the warmup), drawn from the law itself (cosine decay from 3e-4 to
   3e-5 after a 2,160-step warmup, the Multi-Power-law authors' shape stretched to 100k steps; the 400M
   published Multi-Power parameters, LR-annealing parameters of the same scale) with log-normal noise of 0.5 %.
   Each fit runs in a fresh process: wall and CPU seconds, peak resident memory of that process (interpreter,
   libraries and the curve included; before the fit, and overall), the number of objective evaluations and
   Jacobians the fitter asked for, and the largest relative error of a fitted parameter (the Multi-Power
   law's seven parameters are not all determined by one curve). Targets: < 30 s and < 1 GB each.
2. ``scaling``: one law evaluation (value, then value and gradient) on curves of 1k … 1M steps logged at
   every step (observations = steps), and on 1,000 observations spread over schedules of 10k … 1M steps:
   seconds of the first evaluation (which plans the Multi-Power sum), of later ones at new parameters (best
   of repeats; a new λ each time for the LR-annealing law), peak traced memory of the first, Multi-Power
   kernel terms per observation and pieces of observations planned again at each evaluation (beyond the
   plans' memory budget), and the growth exponent fitted to sizes >= 10k (1 = linear). Then the LR-annealing
   law at 50 new λ on 200k and 2M observations: its caches stay bounded (a few λ values).

The machine load (``/proc/loadavg``) is printed before and after: on a shared machine the seconds are an upper
bound of an idle run, the work and memory columns are not affected.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

import scalinglaws as sl
from scalinglaws.fitting.curves import fit_curves
from scalinglaws.io.tables import markdown_table
from scalinglaws.schedules import cosine

STEPS = 100_000
WARMUP = 2160
TRUTH = {
    "multi-power": dict(L0=2.37474466, A=0.65421216, alpha=0.42878731, B=523.42464371, C=2.02462735,
                        beta=0.59350493, gamma=0.63472457),
    "lr-annealing": dict(L0=2.4, A=0.6, alpha=0.45, C=0.5, lam=0.999),
}
NOISE = 0.005


def load() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def synthetic_curve(law_name: str, steps: int = STEPS, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    schedule = cosine(steps, 3e-4, final=3e-5, warmup=WARMUP, name="cosine")
    law = sl.get_law(law_name).bind({"cosine": schedule})
    t = np.arange(1, steps)
    loss = law.evaluate({"run_index": np.zeros(t.size), "step": t}, *law.values_of(TRUTH[law_name]))
    loss = loss * np.exp(NOISE * np.random.default_rng(seed).standard_normal(t.size))
    return pd.DataFrame({"run": "cosine", "step": t, "lr": schedule.lr[t], "loss": loss}), {"cosine": schedule}


def one_fit(law_name: str) -> dict:
    """Fit one law on the 100k-step curve, in this process (run by :func:`fits` in a fresh one)."""
    curves, schedules = synthetic_curve(law_name)
    from scalinglaws.fitting.objective import Objective

    calls = {"value": 0, "gradient": 0}
    predict, jacobian = Objective.log_predict, Objective._value_and_jacobian

    def counted_predict(self, theta):
        calls["value"] += 1
        return predict(self, theta)

    def counted_jacobian(self, theta):
        calls["gradient"] += 1
        return jacobian(self, theta)

    Objective.log_predict, Objective._value_and_jacobian = counted_predict, counted_jacobian
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        fit = fit_curves(curves, law_name, schedules=schedules)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    truth = TRUTH[law_name]
    return {"law": law_name, "observations": fit.n_points, "wall_s": wall, "cpu_s": cpu,
            "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_before_MB": base / 1024,
            "evaluations": calls["value"], "jacobians": calls["gradient"], "converged": bool(fit.converged),
            "max_param_error": max(abs(fit.params[k] / v - 1) for k, v in truth.items())}


def fits() -> pd.DataFrame:
    rows = []
    for law_name in ("multi-power", "lr-annealing"):
        out = subprocess.run([sys.executable, __file__, "--one-fit", law_name], capture_output=True, text=True,
                             check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return pd.DataFrame(rows)


def _time(fn, repeats: int) -> float:
    """Best of ``repeats`` calls of fn(i) (each call with other parameters: nothing is reused between them
    but the plan)."""
    best = np.inf
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        best = min(best, time.perf_counter() - t0)
    return best


def _evaluation_row(law_name: str, steps: int, observed: np.ndarray, repeats: int) -> dict:
    schedule = cosine(steps, 3e-4, final=3e-5, warmup=min(WARMUP, steps // 20))
    law = sl.get_law(law_name).bind({"run": schedule})
    X = {"run_index": np.zeros(observed.size), "step": observed.astype(float)}
    moving = "lam" if law_name == "lr-annealing" else "C"

    def values(i):  # parameters never seen before: a new λ means new annealing areas
        p = dict(TRUTH[law_name])
        p[moving] *= 1 - 1e-4 * (i + 1) if moving == "lam" else 1 + 1e-3 * (i + 1)
        return law.values_of(p)

    tracemalloc.start()
    t0 = time.perf_counter()
    law.evaluate(X, *values(-1))
    first = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    value = _time(lambda i: law.evaluate(X, *values(i)), repeats)
    both = _time(lambda i: law.log_evaluate_and_gradient(X, *values(repeats + i)), repeats)
    row = {"law": law_name, "steps": steps, "observations": observed.size, "first_s": first, "value_s": value,
           "value+gradient_s": both, "first_peak_MB": peak / 2**20}
    if law_name == "multi-power":
        plans = [plan for *_, pieces in law._plans(law._observed(X)) for _, _, plan in pieces]
        row["terms_per_obs"] = sum(plan.terms for plan in plans if plan is not None) / observed.size
        row["replanned"] = f"{sum(plan is None for plan in plans)}/{len(plans)}"
    return row


def _exponent(frame: pd.DataFrame, x: str, y: str, lowest: int = 10_000) -> float:
    use = frame[frame[x] >= lowest]
    return float(np.polyfit(np.log(use[x]), np.log(use[y]), 1)[0]) if len(use) >= 2 else np.nan


def scaling(max_n: int = 1_000_000, repeats: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    sizes = [n for n in (1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000) if n <= max_n]
    rows = []
    for law_name in ("multi-power", "lr-annealing"):
        for n in sizes:
            rows.append({"grid": "every step", **_evaluation_row(law_name, n, np.arange(1, n), repeats)})
        for n in [s for s in sizes if s >= 10_000]:
            observed = np.unique(np.linspace(min(WARMUP, n // 20), n - 1, 1000).astype(int))
            rows.append({"grid": "1,000 observations", **_evaluation_row(law_name, n, observed, repeats)})
    table = pd.DataFrame(rows)
    growth = []
    for (law_name, grid), group in table.groupby(["law", "grid"], sort=False):
        x = "observations" if grid == "every step" else "steps"
        growth.append({"law": law_name, "grid": grid, "in": x,
                       **{f"exponent {c}": _exponent(group, "steps", c)
                          for c in ("first_s", "value_s", "value+gradient_s", "first_peak_MB")}})
    return table, pd.DataFrame(growth)


def annealing_memory(sizes=(200_000, 2_000_000), values: int = 50) -> pd.DataFrame:
    """The LR-annealing law's value and gradient at ``values`` new momenta λ (as a fit asks for them) on curves
    logged at every step: seconds, traced peak memory, memory kept afterwards, λ values kept."""
    rows = []
    for n in sizes:
        law = sl.get_law("lr-annealing").bind({"run": cosine(n, 3e-4, final=3e-5, warmup=WARMUP)})
        X = {"run_index": np.zeros(n - 1), "step": np.arange(1, n, dtype=float)}
        tracemalloc.start()
        t0 = time.perf_counter()
        for lam in np.linspace(0.9, 0.9999, values):
            law.log_evaluate_and_gradient(X, *law.values_of({**TRUTH["lr-annealing"], "lam": lam}))
        seconds = time.perf_counter() - t0
        kept, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append({"observations": n - 1, "λ values": values, "seconds": seconds, "peak_MB": peak / 2**20,
                     "kept_MB": kept / 2**20, "λ kept": len(law._cache.annealing)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["fits", "scaling", "all"], default="all")
    parser.add_argument("--max-n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one-fit", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_fit:
        print(json.dumps(one_fit(args.one_fit)))
        return
    print(f"load average before: {load()} ({os.cpu_count()} cores)")
    if args.part in ("fits", "all"):
        table = fits()
        print(f"\nfit_curves on one {STEPS:,}-step curve logged at every step (noise {NOISE:.1%}):")
        print(markdown_table(table, ".3g"))
        ok = (table["wall_s"] < 30) & (table["peak_rss_MB"] < 1024)
        print(f"targets met (< 30 s and < 1 GB each): {bool(ok.all())}")
    if args.part in ("scaling", "all"):
        table, growth = scaling(args.max_n, args.repeats)
        print("\none evaluation (first: with planning, and its traced peak memory; then best of repeats at new "
              "parameters):")
        print(markdown_table(table, ".3g"))
        print("\ngrowth exponents (log-log slope over sizes >= 10k; 1 = linear):")
        print(markdown_table(growth, ".2f"))
        sizes = tuple(n for n in (200_000, 2_000_000) if n <= 2 * args.max_n)
        print("\nLR-annealing law, value and gradient at 50 new λ (traced memory):")
        print(markdown_table(annealing_memory(sizes), ".3g"))
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
