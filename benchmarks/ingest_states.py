"""Benchmark: a folder of 2,000 small Hugging Face trainer states, read in this process and by worker processes,
idle and with both cores busy; and where reading in workers starts to pay (``PARALLEL_FROM``).

    python benchmarks/ingest_states.py [--states 2000] [--entries 100] [--repeats 3] [--load 2] [--sizes ...]

Data (seeded, in a temporary folder): ``--states`` run folders, each with a ``trainer_state.json`` of
``--entries`` training entries (loss, grad_norm, learning_rate, epoch, num_input_tokens_seen), an evaluation
entry every 10 steps and the final summary (~23 KB a file, as the Trainer writes it, indented).

Part 1, in this process, alternating, after a warm-up call each (worker processes are started by the warm-up
and reused, as joblib does within one process):

* ``json.load + DataFrame`` — the floor a user's own loop has: ``json.load`` each file, one
  ``pandas.DataFrame(log_history)`` per file, one ``concat``;
* ``ingest, 1 process`` — ``scalinglaws.ingest(folder, n_jobs=1)``;
* ``ingest, 2 workers`` — ``scalinglaws.ingest(folder, n_jobs=2)``.

Part 2, ``PARALLEL_FROM``: for folders of ``--sizes`` states, a whole ``python -c "scalinglaws.ingest(...)"``
process with ``n_jobs=1`` against ``n_jobs=-1`` (workers started afresh, as for a command-line call), the median
of ``--repeats`` alternating pairs.

Phases: **idle** (whatever else runs on the machine: the load average is printed), then **busy**, with
``--load`` processes spinning, started by this script and killed in a ``finally``. Target (issue 18):
<= 1.5 ms a file with both cores in use.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from cpu_load import cpu_load  # noqa: E402
from ingest_speed import load_average  # noqa: E402


def write_states(root: Path, states: int, entries: int) -> None:
    rng = np.random.default_rng(0)
    for r in range(states):
        history = []
        for i in range(1, entries + 1):
            step = 10 * i
            history.append({"epoch": round(3 * i / entries, 4), "grad_norm": float(rng.uniform(0.5, 3)),
                            "learning_rate": 1e-4 * (1 - i / entries),
                            "loss": float(4 * step ** -0.1 + 0.01 * rng.standard_normal()),
                            "num_input_tokens_seen": step * 65536, "step": step})
            if i % 10 == 0:
                history.append({"epoch": round(3 * i / entries, 4), "eval_loss": float(4.1 * step ** -0.1),
                                "eval_runtime": 1.23, "eval_samples_per_second": 100.1, "eval_steps_per_second": 12.5,
                                "num_input_tokens_seen": step * 65536, "step": step})
        history.append({"epoch": 3.0, "step": 10 * entries, "total_flos": 1.2e15, "train_loss": 3.1,
                        "train_runtime": 1000.0, "train_samples_per_second": 50.0, "train_steps_per_second": 1.0})
        folder = root / f"run-{r:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        state = {"best_metric": None, "epoch": 3.0, "global_step": 10 * entries, "log_history": history,
                 "logging_steps": 10, "max_steps": 10 * entries, "train_batch_size": 8, "trial_name": None}
        (folder / "trainer_state.json").write_text(json.dumps(state, indent=2))


def plain_loop(root: Path):
    import pandas as pd

    frames = []
    for path in sorted(root.glob("*/trainer_state.json")):
        with path.open() as handle:
            frame = pd.DataFrame(json.load(handle)["log_history"])
        frame["run"] = path.parent.name
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def call(method: str, root: Path) -> float:
    import scalinglaws as sl

    t0 = time.perf_counter()
    if method == "plain":
        plain_loop(root)
    else:
        sl.ingest(root, n_jobs=1 if method == "ingest1" else 2, progress=False)
    return time.perf_counter() - t0


METHODS = {"plain": "json.load + DataFrame", "ingest1": "ingest, 1 process", "ingest2": "ingest, 2 workers"}


def measure(root: Path, repeats: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {m: [] for m in METHODS}
    for method in METHODS:
        call(method, root)
    for _ in range(repeats):
        for method in METHODS:
            gc.collect()
            out[method].append(call(method, root))
    return out


def whole_process(root: Path, n_jobs: int) -> float:
    code = (f"import time, scalinglaws as sl; t = time.perf_counter(); sl.ingest({str(root)!r}, n_jobs={n_jobs}, "
            "progress=False); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    return float(out.stdout.strip().splitlines()[-1])


def crossover(root: Path, sizes: list[int], repeats: int) -> list[dict]:
    rows = []
    for size in sizes:
        sub = root.parent / f"sub-{size}"
        if not sub.exists():
            sub.mkdir()
            for folder in sorted(root.iterdir())[:size]:
                (sub / folder.name).mkdir()
                os.link(folder / "trainer_state.json", sub / folder.name / "trainer_state.json")
        pairs = [(whole_process(sub, 1), whole_process(sub, -1)) for _ in range(repeats)]
        one, many = (float(np.median(x)) for x in zip(*pairs))
        rows.append({"states": size, "n_jobs=1 (s)": one, "n_jobs=-1 (s)": many, "workers / one": f"{many / one:.2f}x"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="*", default=[32, 64, 128, 256, 512, 2000])
    args = parser.parse_args()
    import pandas as pd

    from scalinglaws.io import huggingface
    from scalinglaws.io.ingestion import PARALLEL_FROM
    from scalinglaws.io.tables import markdown_table

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "states"
        root.mkdir()
        write_states(root, args.states, args.entries)
        size = sum(p.stat().st_size for p in root.glob("*/trainer_state.json")) / len(list(root.iterdir()))
        phases, loads, cross = {}, {"idle": load_average()}, {}
        phases["idle"] = measure(root, args.repeats)
        cross["idle"] = crossover(root, [s for s in args.sizes if s <= args.states], args.repeats)
        with cpu_load(args.load):
            loads["busy"] = load_average()
            phases["busy"] = measure(root, args.repeats)
            cross["busy"] = crossover(root, [s for s in args.sizes if s <= args.states], args.repeats)
    print(f"{args.states} trainer states of {args.entries} training entries ({size / 1024:.0f} KB each); "
          f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, pandas {pd.__version__}, "
          f"orjson {'installed' if huggingface._orjson is not None else 'absent'}; PARALLEL_FROM = {PARALLEL_FROM}")
    print(f"load average at the start of the idle phase: {loads['idle']}; in the busy phase ({args.load} spinning "
          f"processes): {loads['busy']}")
    print()
    table = []
    for phase, results in phases.items():
        base = float(np.median(results["plain"]))
        for method, seconds in results.items():
            median = float(np.median(seconds))
            table.append({"phase": phase, "method": METHODS[method], "median (s)": median,
                          "min (s)": float(min(seconds)), "max (s)": float(max(seconds)),
                          "ms a file": f"{median / args.states * 1e3:.2f}", "/ plain loop": f"{median / base:.2f}x"})
    print(markdown_table(pd.DataFrame(table), ".2f"))
    for phase, rows in cross.items():
        print()
        print(f"Whole processes ({phase}), median of {args.repeats} alternating pairs:")
        print(markdown_table(pd.DataFrame(rows), ".2f"))
    print()
    for phase, results in phases.items():
        best = min(float(np.median(results["ingest1"])), float(np.median(results["ingest2"])))
        print(f"{phase}: {best / args.states * 1e3:.2f} ms a file at best (target <= 1.5 ms with both cores in use)")


if __name__ == "__main__":
    main()
