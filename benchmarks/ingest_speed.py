"""Benchmark: ingesting a 10-million-row CSV curves file, against a bare ``pandas.read_csv`` of the same file.

    python benchmarks/ingest_speed.py [--rows 10000000] [--repeats 5] [--file curves.csv]

Data: a curves file written by this script (seeded) in a temporary folder: 100 runs × 100,000 steps, columns
run, step, tokens, lr, loss (~450 MB), unless ``--file`` names an existing one.

Time: both methods run in this process, alternating, after one untimed warm-up call each; the table gives
the median, min and max of ``--repeats`` calls and the ratio of the medians. (Timing each call in a fresh
process instead was tried: the first touch of ~1 GB of fresh memory then costs 0.2-0.8 s at random on this
2-core machine, for either method, which drowns the difference being measured.) Memory: each method runs once
more in a fresh Python process, which reports its peak resident memory above what it held before the call.
"Frame size" is the ``memory_usage(deep=True)`` of the DataFrame ``read_csv`` returns.

``scalinglaws.ingest`` does more than read the file: it classifies the columns, checks every value, settles
restarts, fills tokens, checks every run for divergence and unit problems, and builds the runs table.
Targets (issue #4): ingest time at most 2x the bare read (median of the repeats, measured in the same run);
peak memory under 3x the frame size.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_curves(path: Path, rows: int, runs: int = 100) -> None:
    """A curves CSV of ``runs`` runs with cosine schedules and a noisy power-law loss (seed 0)."""
    import pandas as pd

    steps = rows // runs
    rng = np.random.default_rng(0)
    step = np.tile(np.arange(1, steps + 1), runs)
    tokens = step * 524_288
    lr = 3e-4 * np.minimum(1, step / 2000) * 0.5 * (1 + np.cos(np.pi * step / steps))
    loss = 1.8 + 400 / (tokens / 1e6) ** 0.3 + 0.01 * rng.standard_normal(len(step))
    run = np.repeat([f"run-{i:03d}" for i in range(runs)], steps)
    frame = pd.DataFrame({"run": run, "step": step, "tokens": tokens, "lr": lr, "loss": loss})
    frame.to_csv(path, index=False, float_format="%.6g")


def call(method: str, path: Path) -> dict:
    """Run one method on ``path``; return its seconds and what it read."""
    import pandas as pd

    import scalinglaws as sl

    t0 = time.perf_counter()
    if method == "read_csv":
        frame = pd.read_csv(path)
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "frame_mb": frame.memory_usage(deep=True).sum() / 2**20, "rows": len(frame)}
    result = sl.ingest(path)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": len(result.curves), "runs": len(result.runs),
            "diverged": int(result.runs["diverged"].sum()), "skipped": int(result.skipped["count"].sum())}


def peak_rss_kib() -> int:
    """This process's peak resident memory (KiB): Linux's VmHWM, which starts afresh at exec (``ru_maxrss``
    would start from the parent's peak), else ``ru_maxrss``."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(method: str, path: str) -> None:
    """One call in this (fresh) process: print its peak memory above the start as JSON."""
    import scalinglaws  # noqa: F401  (imports are not counted)

    before = peak_rss_kib()
    call(method, Path(path))
    print(json.dumps({"peak_mb": (peak_rss_kib() - before) / 1024}))


def peak_memory(method: str, path: Path) -> float:
    out = subprocess.run([sys.executable, __file__, "--worker", method, str(path)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--file", type=Path, help="an existing curves CSV to use instead of writing one")
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "curves.csv"
            t0 = time.perf_counter()
            write_curves(path, args.rows)
            print(f"wrote {path.stat().st_size / 2**20:.0f} MB in {time.perf_counter() - t0:.0f} s")
        results: dict[str, list[dict]] = {"read_csv": [], "ingest": []}
        for method in results:
            call(method, path)  # warm-up: imports, the file in the page cache
        for _ in range(args.repeats):
            for method in results:
                gc.collect()
                results[method].append(call(method, path))
        peaks = {method: peak_memory(method, path) for method in results}
        size = path.stat().st_size / 2**20
    import pandas as pd

    from scalinglaws.io.tables import markdown_table

    frame_mb = results["read_csv"][0]["frame_mb"]
    rows = results["read_csv"][0]["rows"]
    print(f"{rows:,} rows, {size:.0f} MB file, frame {frame_mb:.0f} MB; {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, pandas {pd.__version__}; {args.repeats} alternating repeats, "
          "in this process; memory in fresh processes")
    print()
    medians, table = {}, []
    for method, runs in results.items():
        seconds = np.array([r["seconds"] for r in runs])
        medians[method] = float(np.median(seconds))
        table.append({"method": "pandas.read_csv" if method == "read_csv" else "scalinglaws.ingest",
                      "median (s)": medians[method], "min (s)": float(seconds.min()), "max (s)": float(seconds.max()),
                      "peak memory above start (MB)": f"{peaks[method]:.0f}",
                      "peak / frame size": f"{peaks[method] / frame_mb:.2f}x"})
    print(markdown_table(pd.DataFrame(table), ".2f"))
    paired = np.median([b["seconds"] / a["seconds"] for a, b in zip(results["read_csv"], results["ingest"])])
    ratio = medians["ingest"] / medians["read_csv"]
    memory = peaks["ingest"] / frame_mb
    last = results["ingest"][-1]
    print()
    print(f"ingest / read_csv: {ratio:.2f}x of medians (median of paired ratios {paired:.2f}x; target <= 2x); "
          f"ingest peak memory {memory:.2f}x the frame (target < 3x)")
    print(f"ingest found {last['runs']} runs, {last['rows']:,} rows, {last['diverged']} diverged, "
          f"{last['skipped']} skipped")


if __name__ == "__main__":
    main()
