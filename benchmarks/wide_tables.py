"""Benchmark: tables with thousands of extra columns (issue 17: extra columns were copied one at a time, 128 s
for 4,000 of them), read as points (``read_points``, ``read_input``) and as curves (``read_curves``, ``ingest``).

    python benchmarks/wide_tables.py [--columns 500,1000,2000,4000] [--repeats 3]

Data: written by this script (seeded) in a temporary folder: a points table of 40 runs (run, N, D, loss) and a
curves table of one run of 200 steps (run, step, loss), each with ``--columns`` extra numeric columns.

Time: the median of ``--repeats`` calls in this process after one untimed warm-up. Target: 4,000 extra columns in
under 2 s for every reader, and a time that grows about linearly with the number of columns (the last column of
the table: seconds per 1,000 columns, which should stay roughly constant).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scalinglaws as sl  # noqa: E402


def wide_points(path: Path, columns: int) -> Path:
    rng = np.random.default_rng(0)
    n = np.repeat(np.geomspace(2e7, 1e9, 8), 5)
    d = np.tile(np.geomspace(1e8, 2e10, 5), 8)
    base = pd.DataFrame({"run": [f"r{i}" for i in range(n.size)], "N": n, "D": d,
                         "loss": 1.8 + 400 / n**0.34 + 400 / d**0.28})
    extra = pd.DataFrame(rng.random((n.size, columns)), columns=[f"x{i}" for i in range(columns)])
    pd.concat([base, extra], axis=1).to_csv(path, index=False)
    return path


def wide_curves(path: Path, columns: int, steps: int = 200) -> Path:
    rng = np.random.default_rng(0)
    base = pd.DataFrame({"run": "a", "step": np.arange(1, steps + 1), "loss": 3.0 + 5.0 / np.arange(1, steps + 1)})
    extra = pd.DataFrame(rng.random((steps, columns)), columns=[f"x{i}" for i in range(columns)])
    pd.concat([base, extra], axis=1).to_csv(path, index=False)
    return path


def timed(call, repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", default="500,1000,2000,4000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.columns.split(",")]
    readers = {
        "read_points": lambda p, c: sl.read_points(p),
        "read_input": lambda p, c: sl.read_input(p),
        "read_curves": lambda p, c: sl.read_curves(c),
        "ingest": lambda p, c: sl.ingest([c]),
    }
    print(f"{'columns':>8}  " + "  ".join(f"{name:>12}" for name in readers) + "  s per 1k columns (slowest)")
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            points = wide_points(Path(folder) / f"points{count}.csv", count)
            curves = wide_curves(Path(folder) / f"curves{count}.csv", count)
            row = {name: timed(lambda: read(points, curves), args.repeats) for name, read in readers.items()}
            slowest = max(row.values())
            worst = max(worst, slowest) if count == counts[-1] else worst
            print(f"{count:>8}  " + "  ".join(f"{row[name]:>11.3f}s" for name in readers)
                  + f"  {1000 * slowest / count:.3f}")
    print(f"target: {counts[-1]} extra columns in under 2 s: {'met' if worst < 2.0 else 'NOT met'} "
          f"({worst:.2f} s)")
    return 0 if worst < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
