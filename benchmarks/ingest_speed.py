"""Benchmark: ingesting a 10-million-row CSV curves file, against a bare ``pandas.read_csv`` of the same file,
idle and with both cores busy.

    python benchmarks/ingest_speed.py [--rows 10000000] [--repeats 5] [--file curves.csv] [--load 2]

Data: a curves file written by this script (seeded) in a temporary folder: 100 runs × 100,000 steps, columns
run, step, tokens, lr, loss (~450 MB), unless ``--file`` names an existing one.

Methods, all in this process, alternating, after one untimed warm-up call each:

* ``pandas.read_csv`` — the bare C engine (this pandas reads large local files with a thread per core);
* ``scalinglaws.ingest`` — as installed: large CSV/TSV logs are read by pyarrow where it is installed
  (:mod:`scalinglaws.io.fastcsv`; the same table as the C engine), then classified, checked and settled;
* ``ingest, C engine`` — the same ingest with the pyarrow reader switched off (what it was before);
* ``polars.read_csv`` — a reference only (not used by scalinglaws), when polars is installed.

Phases: **idle** (whatever else runs on the machine: see the load average printed), then **busy**, with
``--load`` processes spinning (benchmarks/cpu_load.py) started by this script and always stopped, then
**fresh**: ``--fresh`` rounds in which each method makes one call in a fresh Python process (imports not
counted; idle): the first call of a command, whose memory is all new to the process (on a virtual machine
new memory can cost more than the parsing). Each phase gives the median, min and max, and the ratio of the
medians to the bare ``read_csv`` measured in the same phase. Memory: the fresh processes report their peak
resident memory above what they held before the call (median). "Frame size" is the
``memory_usage(deep=True)`` of the DataFrame ``read_csv`` returns.

Targets (issue 18): ingest at most 1.0x the bare read (median, same phase), peak memory under 3x the frame.
"""

from __future__ import annotations

import argparse
import contextlib
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_load import cpu_load  # noqa: E402  (processes spinning on the cores, started and stopped here)


def write_curves(path: Path, rows: int, runs: int = 100) -> None:
    """A curves CSV of ``runs`` runs with cosine schedules and a noisy power-law loss (seed 0): a per-token loss
    in nats, 11.5 at the first step and 2.1 at the last (an earlier version stayed above 17 nats, so every run
    was flagged as a per-sequence sum and the checks took a path real logs do not)."""
    import pandas as pd

    steps = rows // runs
    rng = np.random.default_rng(0)
    step = np.tile(np.arange(1, steps + 1), runs)
    tokens = step * 524_288
    lr = 3e-4 * np.minimum(1, step / 2000) * 0.5 * (1 + np.cos(np.pi * step / steps))
    loss = 1.8 + 8 / (tokens / 1e6) ** 0.3 + 0.01 * rng.standard_normal(len(step))
    run = np.repeat([f"run-{i:03d}" for i in range(runs)], steps)
    frame = pd.DataFrame({"run": run, "step": step, "tokens": tokens, "lr": lr, "loss": loss})
    frame.to_csv(path, index=False, float_format="%.6g")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


METHODS = {"read_csv": "pandas.read_csv", "ingest": "scalinglaws.ingest", "ingest_c": "ingest, C engine",
           "polars": "polars.read_csv (reference)"}


def call(method: str, path: Path) -> dict:
    """Run one method on ``path``; return its seconds and what it read."""
    import pandas as pd

    import scalinglaws as sl
    from scalinglaws.io import fastcsv

    t0 = time.perf_counter()
    if method == "read_csv":
        frame = pd.read_csv(path)
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "frame_mb": frame.memory_usage(deep=True).sum() / 2**20, "rows": len(frame)}
    if method == "polars":
        import polars as pl

        frame = pl.read_csv(path)
        return {"seconds": time.perf_counter() - t0, "rows": len(frame)}
    threshold = fastcsv.FAST_FROM
    if method == "ingest_c":
        fastcsv.FAST_FROM = float("inf")
    try:
        t0 = time.perf_counter()
        result = sl.ingest(path)
        seconds = time.perf_counter() - t0
    finally:
        fastcsv.FAST_FROM = threshold
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
    import scalinglaws.io.fastcsv  # noqa: F401

    with contextlib.suppress(ImportError):
        import pyarrow.csv  # noqa: F401
    if method == "polars":
        import polars  # noqa: F401
    before = peak_rss_kib()
    seconds = call(method, Path(path))["seconds"]
    print(json.dumps({"peak_mb": (peak_rss_kib() - before) / 1024, "seconds": seconds}))


def fresh_call(method: str, path: Path) -> dict:
    """One call in a fresh Python process (imports not counted): its seconds and peak memory."""
    out = subprocess.run([sys.executable, __file__, "--worker", method, str(path)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_fresh(methods, path: Path, repeats: int) -> dict[str, list[dict]]:
    """``repeats`` rounds of one fresh process per method, alternating."""
    results: dict[str, list[dict]] = {m: [] for m in methods}
    for _ in range(max(repeats, 1)):
        for method in methods:
            results[method].append(fresh_call(method, path))
    return results


def measure(methods, path: Path, repeats: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {m: [] for m in methods}
    for method in methods:
        call(method, path)  # warm-up: imports, the file in the page cache
    for _ in range(repeats):
        for method in methods:
            gc.collect()
            results[method].append(call(method, path))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--load", type=int, default=2, help="spinning processes in the busy phase")
    parser.add_argument("--fresh", type=int, default=3,
                        help="rounds of first calls in fresh processes (idle; also give the peak memory)")
    parser.add_argument("--file", type=Path, help="an existing curves CSV to use instead of writing one")
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    import pandas as pd

    from scalinglaws.io import fastcsv
    from scalinglaws.io.tables import markdown_table

    methods = ["read_csv", "ingest", "ingest_c"]
    with contextlib.suppress(ImportError):
        import polars  # noqa: F401

        methods.append("polars")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "curves.csv"
            t0 = time.perf_counter()
            write_curves(path, args.rows)
            print(f"wrote {path.stat().st_size / 2**20:.0f} MB in {time.perf_counter() - t0:.0f} s")
        size = path.stat().st_size / 2**20
        phases = {}
        loads = {"idle": load_average()}
        phases["idle"] = measure(methods, path, args.repeats)
        with cpu_load(args.load):
            phases["busy"] = measure(methods, path, args.repeats)
            loads["busy"] = load_average()
        phases["fresh"] = fresh = measure_fresh(methods, path, args.fresh)
        peaks = {method: float(np.median([r["peak_mb"] for r in fresh[method]])) for method in methods}
    frame_mb = phases["idle"]["read_csv"][0]["frame_mb"]
    rows = phases["idle"]["read_csv"][0]["rows"]
    print(f"{rows:,} rows, {size:.0f} MB file, frame {frame_mb:.0f} MB; {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, pandas {pd.__version__}, pyarrow reader "
          f"{'installed' if fastcsv.available() else 'absent'}; {args.repeats} alternating repeats per phase, in "
          f"this process; then {max(args.fresh, 1)} rounds of a first call in a fresh process each (idle), which "
          f"also give the peak memory")
    print(f"load average (1, 5, 15 min) at the start of the idle phase: {loads['idle']}; in the busy phase "
          f"({args.load} spinning processes): {loads['busy']}")
    print()
    table, medians = [], {}
    for phase, results in phases.items():
        base = float(np.median([r["seconds"] for r in results["read_csv"]]))
        for method, runs in results.items():
            seconds = np.array([r["seconds"] for r in runs])
            medians[phase, method] = float(np.median(seconds))
            table.append({"phase": phase, "method": METHODS[method], "median (s)": medians[phase, method],
                          "min (s)": float(seconds.min()), "max (s)": float(seconds.max()),
                          "/ read_csv": f"{medians[phase, method] / base:.2f}x",
                          "peak memory (MB)": f"{peaks[method]:.0f}",
                          "peak / frame": f"{peaks[method] / frame_mb:.2f}x"})
    print(markdown_table(pd.DataFrame(table), ".2f"))
    print()
    for phase in phases:
        ratio = medians[phase, "ingest"] / medians[phase, "read_csv"]
        before = medians[phase, "ingest_c"] / medians[phase, "read_csv"]
        print(f"{phase}: ingest / read_csv {ratio:.2f}x (target <= 1.0x); with the C engine {before:.2f}x")
    print(f"ingest peak memory {peaks['ingest'] / frame_mb:.2f}x the frame (target < 3x; C engine "
          f"{peaks['ingest_c'] / frame_mb:.2f}x)")
    last = phases["idle"]["ingest"][-1]
    print(f"ingest found {last['runs']} runs, {last['rows']:,} rows, {last['diverged']} diverged, "
          f"{last['skipped']} skipped")


if __name__ == "__main__":
    main()
