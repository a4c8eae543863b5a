"""Benchmark: held-out comparison of Farseer, Chinchilla and Kaplan on real grids.

    python benchmarks/zoo_backtest.py [--shared PATH]

* Step Law dense sweep (../shared/data/steplaw_dense_runs.csv): the best run (lowest final loss over the
  learning-rate × batch-size grid) of each (N, D) cell; fit on every model size but the largest, predict
  the largest (N = non-embedding parameters).
* Porian et al. IsoFLOP sweeps (../shared/data/isoflop_porian.csv): per dataset and configuration, fit on
  every compute budget but the largest (C = the sweep's budget), predict the runs of the largest.

Every fit uses the default start grid (no hand-tuned starts). Errors are mean |L_pred/L_obs − 1| over the
training points (in range) and the held-out points. Prints a markdown table and checks the two claims the
issue asks for: every fit converges, and Farseer's in-range error is at most Chinchilla's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from scalinglaws.fitting.compare import compare_laws

from scalinglaws.io.tables import markdown_table

LAWS = ("farseer", "chinchilla", "kaplan")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def grids(shared: Path):
    """(name, table, split column, columns mapping) for every grid."""
    steplaw = pd.read_csv(shared / "steplaw_dense_runs.csv")
    best = steplaw.loc[steplaw.groupby(["N", "D"])["loss"].idxmin(), ["N", "D", "loss"]]
    yield "steplaw (best run per N, D)", best.reset_index(drop=True), "N", None
    porian = pd.read_csv(shared / "isoflop_porian.csv")
    for (dataset, config), table in porian.groupby(["dataset", "config"], sort=True):
        yield f"porian {dataset} {config}", table.reset_index(drop=True), "C", {"C": "budget_flops"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="folder of the shared reference data")
    args = parser.parse_args()
    rows = []
    t0 = time.perf_counter()
    for name, table, by, columns in grids(args.shared):
        result = compare_laws(LAWS, table, by=by, columns=columns)
        for row in result.itertuples():
            rows.append({"grid": name, "law": row.law, "train/test": f"{row.n_train}/{row.n_test}",
                         "converged": row.converged, "in-range error %": 100 * row.in_range_error,
                         "held-out error %": 100 * row.heldout_error, "held-out max %": 100 * row.heldout_max_error})
    table = pd.DataFrame(rows)
    print(markdown_table(table))
    print()
    in_range = table.pivot(index="grid", columns="law", values="in-range error %")
    held_out = table.pivot(index="grid", columns="law", values="held-out error %")
    print("Mean over grids:  in range " + ", ".join(f"{k} {v:.3f}%" for k, v in in_range.mean().items()) +
          ";  held out " + ", ".join(f"{k} {v:.3f}%" for k, v in held_out.mean().items()))
    print(f"All fits converged: {bool(table['converged'].all())}")
    ok = (in_range["farseer"] <= in_range["chinchilla"] * (1 + 1e-9)).all()
    print(f"Farseer in-range error <= Chinchilla's on every grid: {bool(ok)}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
