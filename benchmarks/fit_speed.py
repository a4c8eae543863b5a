"""Benchmark: the full Epoch-style Chinchilla fit, batched polish against the per-start scipy reference and a
naive multi-start loop, in the same run.

    python benchmarks/fit_speed.py [--naive-starts K] [--repeats R]

Data: Epoch AI's 240 Chinchilla points (data/chinchilla_epoch.csv, 5 highest-loss points excluded).
Ours: ``scalinglaws.fit("chinchilla", ...)``: Epoch's 4,500-start grid screened in one vectorized pass, the
best 8 starts polished together by the batched Levenberg-Marquardt solver (``polish="batched"``, the
default), plus covariance and diagnostics. Reference: the same fit with ``polish="lbfgsb"`` (one L-BFGS-B
call per start with analytic gradients, then scipy's trust-region least squares on the best 3).
Naive baseline: what the replication notebooks do, one ``scipy.optimize.minimize(method="L-BFGS-B")`` per
grid start with numerical (finite-difference) gradients, keeping the best. With ``--naive-starts K < 4500``
the baseline runs K evenly spaced starts and its time is scaled to 4,500 (the table says so; 0 skips it).
Times (wall and this process's CPU) are medians of ``--repeats`` fits, the two polishes alternating; on a
busy machine the CPU time is the better guide to the idle wall time. Run with BLAS on one thread
(``OPENBLAS_NUM_THREADS=1``): small dense problems only lose from threads.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

import scalinglaws as sl
from scalinglaws.fitting.space import ParameterSpace

DATA = Path(__file__).resolve().parents[1] / "data" / "chinchilla_epoch.csv"


def naive_fit(log_n, log_d, log_l, starts):
    """Epoch's recipe written plainly: per start, L-BFGS-B with finite-difference gradients."""

    def objective(theta):
        a, b, e, alpha, beta = theta
        pred = logsumexp([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)], axis=0)
        return huber(1e-3, pred - log_l).sum()

    best = None
    for theta0 in starts:
        res = minimize(objective, theta0, method="L-BFGS-B")
        if res.success and (best is None or res.fun < best.fun):
            best = res
    return best


def _row(label: str, seconds: float, cpu: float | None, objective: float, p: dict) -> str:
    cpu_text = "" if cpu is None else f"{cpu:.3f}"
    return (f"| {label} | {seconds:.3f} | {cpu_text} | {objective:.10g} | {p['E']:.5g} | {p['A']:.5g} | "
            f"{p['B']:.5g} | {p['alpha']:.5g} | {p['beta']:.5g} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-starts", type=int, default=4500, help="starts for the naive loop (default all; 0: skip)")
    parser.add_argument("--repeats", type=int, default=7, help="repeats of each fit (median reported)")
    args = parser.parse_args()

    points = sl.read_points(DATA)
    points = points[~points["exclude"]]
    law = sl.get_law("chinchilla")
    times: dict[str, list[float]] = {"batched": [], "lbfgsb": []}
    cpu: dict[str, list[float]] = {"batched": [], "lbfgsb": []}
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        sl.fit(law, points)  # warm-up: imports, caches
        for _ in range(args.repeats):
            for polish in times:
                t0, c0 = time.perf_counter(), time.process_time()
                results[polish] = sl.fit(law, points, polish=polish)
                times[polish].append(time.perf_counter() - t0)
                cpu[polish].append(time.process_time() - c0)
    median = {k: statistics.median(v) for k, v in times.items()}
    median_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    ours, reference = results["batched"], results["lbfgsb"]
    agreement = abs(ours.objective - reference.objective) / reference.objective

    print(f"Chinchilla fit on {len(points)} points, 4500 starts; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"load {open('/proc/loadavg').read().split()[0] if os.path.exists('/proc/loadavg') else '?'}")
    print()
    print("| method | wall time (s) | CPU time (s) | objective | E | A | B | alpha | beta |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(_row("scalinglaws.fit, batched polish of 8 starts (default)", median["batched"], median_cpu["batched"],
               ours.objective, ours.params))
    print(_row("scalinglaws.fit, polish='lbfgsb' (8 scipy L-BFGS-B calls + 3 trust-region refinements)",
               median["lbfgsb"], median_cpu["lbfgsb"], reference.objective, reference.params))
    naive_time = None
    if args.naive_starts > 0:
        space = ParameterSpace(law)  # the same grid in the (log A, log B, log E, alpha, beta) order of Epoch's notebook
        grid = space.start_grid()[:, [1, 2, 0, 3, 4]]
        index = np.linspace(0, len(grid) - 1, min(args.naive_starts, len(grid))).round().astype(int)
        log_n, log_d, log_l = (np.log(points[c].to_numpy()) for c in ("N", "D", "loss"))
        t0 = time.perf_counter()
        naive = naive_fit(log_n, log_d, log_l, grid[index])
        naive_time = (time.perf_counter() - t0) * len(grid) / len(index)
        scaled = "" if len(index) == len(grid) else f" (measured on {len(index)} starts, scaled to {len(grid)})"
        a, b, e, alpha, beta = naive.x
        print(_row(f"naive loop: minimize per start, numerical gradients{scaled}", naive_time, None, naive.fun,
                   dict(E=np.exp(e), A=np.exp(a), B=np.exp(b), alpha=alpha, beta=beta)))
    print()
    print(f"Batched fit {median['batched']:.3f} s (median of {args.repeats}; target <= 0.1 s: "
          f"{median['batched'] <= 0.1}), {median['lbfgsb'] / median['batched']:.1f}x faster than the scipy polish; "
          f"objectives agree to {agreement:.1e} relative (target 1e-9: {agreement <= 1e-9})"
          + ("" if naive_time is None else f"; {naive_time / median['batched']:.0f}x the naive loop"))


if __name__ == "__main__":
    main()
