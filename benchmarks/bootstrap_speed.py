"""Benchmark: 1,000 bootstrap refits of the Epoch Chinchilla fit, batched polish (1 and 2 worker processes)
against the per-start scipy polish, in the same run.

    python benchmarks/bootstrap_speed.py [--replicates R] [--reference-replicates K]

Data: Epoch AI's 240 Chinchilla points (data/chinchilla_epoch.csv, 5 highest-loss points excluded). Each
replicate resamples whole runs and is a full refit: the 4,500-start grid screened on the replicate's data
(one matrix product for all replicates) and its best 3 starts polished. ``batched`` (the default) polishes
the chosen starts of all replicates of a worker together in one vectorized solver; ``lbfgsb`` is the scipy
reference (an L-BFGS-B call per start and trust-region refinements), run on the first K replicates (the same
resamples: replicate r draws from its own seed) and scaled to R. Prints wall times, checks that n_jobs=1 and
n_jobs=2 give identical replicates and how many replicates both polishes put at the same optimum; the CPU time
of the one-process run is the better guide to the idle time on a busy machine. Run with BLAS on one thread
(``OPENBLAS_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

import scalinglaws as sl

DATA = Path(__file__).resolve().parents[1] / "data" / "chinchilla_epoch.csv"


def _load() -> str:
    return open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--reference-replicates", type=int, default=100,
                        help="replicates refitted with the scipy polish (its time is scaled to --replicates)")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        fit = sl.fit("chinchilla", DATA)
        reference_fit = sl.fit("chinchilla", DATA, polish="lbfgsb")
    R, K = args.replicates, min(args.reference_replicates, args.replicates)
    rows, results = [], {}
    for label, source, n, jobs in (("batched", fit, R, 1), ("batched", fit, R, 2), ("lbfgsb", reference_fit, K, 2)):
        load = _load()
        t0, c0 = time.perf_counter(), time.process_time()
        results[label, jobs] = sl.bootstrap(source, n, seed=0, n_jobs=jobs, progress=False)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append((label, jobs, n, seconds, seconds * R / n, cpu if jobs == 1 else None,
                     int(results[label, jobs].converged.sum()), load))
    same = np.array_equal(results["batched", 1].values, results["batched", 2].values, equal_nan=True)
    ours, theirs = results["batched", 2].values[:K], results["lbfgsb", 2].values
    agree = int(np.sum(np.all(np.isclose(ours, theirs, rtol=1e-5), axis=1)))

    print(f"{R} replicates of the Epoch fit, {fit.n_points} points, 4,500 starts screened and 3 polished each; "
          f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print()
    print(f"| polish | n_jobs | replicates run | wall time (s) | for {R} (s) | per replicate (ms) | CPU (s) | "
          "converged | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, jobs, n, seconds, scaled, cpu, converged, load in rows:
        print(f"| {label} | {jobs} | {n} | {seconds:.2f} | {scaled:.1f} | {1000 * seconds / n:.2f} | "
              f"{'' if cpu is None else f'{cpu:.2f}'} | {converged}/{n} | {load} |")
    print()
    best = min(r[3] for r in rows if r[0] == "batched")
    print(f"Batched, best of n_jobs 1/2: {best:.2f} s for {R} (target <= 5 s: {best <= 5}); "
          f"{rows[2][4] / rows[1][3]:.1f}x faster than the scipy polish at n_jobs=2; identical replicates with 1 "
          f"and 2 workers: {same}; the same optimum as the scipy polish (1e-5) in {agree} of {K} replicates")
    ci = results["batched", 2].ci(0.95).set_index("param")
    print("95% intervals: " + ", ".join(f"{k} [{ci.loc[k, 'lower']:.4g}, {ci.loc[k, 'upper']:.4g}]"
                                        for k in ("E", "A", "B", "alpha", "beta")))


if __name__ == "__main__":
    main()
