"""Benchmark: 1,000 bootstrap replicates of a Chinchilla fit on 250 points, with 1 and 2 worker processes.

    python benchmarks/bootstrap_speed.py [--replicates R]

Data: 250 runs drawn from Epoch AI's Chinchilla law with 1 % noise on an IsoFLOP design (10 budgets × 25
sizes, seed 0). Each replicate resamples whole runs and is a full refit: the 4,500-start grid screened on the
replicate's data (one matrix product for all replicates) and its best 3 starts polished. Prints wall times,
the speed-up of n_jobs=2 over n_jobs=1 measured in the same run, and checks both give identical replicates.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import scalinglaws as sl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import EPOCH, isoflop_grid, synthetic_points  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()
    grid = isoflop_grid(EPOCH, budgets=np.geomspace(6e18, 3e21, 10), per_budget=25)
    data = synthetic_points(EPOCH, 0.01, seed=0, grid=grid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.ScalingLawsWarning)
        fit = sl.fit("chinchilla", data)
    times, results = {}, {}
    for n_jobs in (1, 2):
        t0 = time.perf_counter()
        results[n_jobs] = sl.bootstrap(fit, args.replicates, seed=0, n_jobs=n_jobs, progress=False)
        times[n_jobs] = time.perf_counter() - t0
    same = np.array_equal(results[1].values, results[2].values, equal_nan=True)
    print(f"{args.replicates} replicates, {len(data)} points, 4,500 starts each; {platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print()
    print("| n_jobs | wall time (s) | per replicate (ms) | converged |")
    print("|---|---|---|---|")
    for n_jobs in (1, 2):
        print(f"| {n_jobs} | {times[n_jobs]:.1f} | {1000 * times[n_jobs] / args.replicates:.1f} | "
              f"{int(results[n_jobs].converged.sum())} |")
    print()
    print(f"Speed-up with 2 workers: {times[1] / times[2]:.2f}x; n_jobs=2 under 60 s: {times[2] < 60}; "
          f"identical replicates: {same}")
    ci = results[2].ci(0.9).set_index("param")
    print("90% intervals: " + ", ".join(f"{k} [{ci.loc[k, 'lower']:.4g}, {ci.loc[k, 'upper']:.4g}]"
                                        for k in ("E", "alpha", "beta")))


if __name__ == "__main__":
    main()
