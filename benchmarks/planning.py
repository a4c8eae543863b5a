"""Benchmark: planning tools on real sweeps, against the authors' published numbers.

    python benchmarks/planning.py [--shared PATH]

1. IsoFLOP approach 2 on Porian et al.'s sweeps (../shared/data/isoflop_porian.csv): N_opt ∝ C^a per
   configuration, with a local parabola (5 runs around each minimum) and with interpolation, against the
   authors' exponents (isoflop_porian_published_fits.csv). Target: within 0.05 for every configuration.
2. Zhang et al.'s batch sweeps (critical_batch_size_steps.csv): their critical batch size (CBS, 20 % over linear
   scaling from the batch-256 run) and McCandlish's noise scale B_noise per model size, and how both scale.
3. Optimal learning rate and batch size from the Step Law sweep (steplaw_dense_runs.csv, smooth loss) with
   three ways of locating each cell's optimum, against η ∝ N^-0.713·D^0.307 and B ∝ D^0.571.
   Target: within 0.1 (default method).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from scalinglaws.forecasting import fit_batch_sweep, fit_hyperparameter_law, fit_power_law, isoflop_analysis

from scalinglaws.io.tables import markdown_table

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def isoflop(shared: Path) -> pd.DataFrame:
    data = pd.read_csv(shared / "isoflop_porian.csv")
    published = pd.read_csv(shared / "isoflop_porian_published_fits.csv").set_index(["dataset", "config"])
    rows = []
    for key, group in data.groupby(["dataset", "config"]):
        local = isoflop_analysis(group, columns={"C": "budget_flops"})
        interp = isoflop_analysis(group, columns={"C": "budget_flops"}, method="interpolate")
        ref = published.loc[key, "n_exponent"]
        rows.append({"dataset": key[0], "config": key[1], "published a": ref,
                     "parabola a": local.n_fit.exponent, "± se": local.n_fit.stderr["C"],
                     "diff": local.n_fit.exponent - ref, "interpolation a": interp.n_fit.exponent,
                     "diff (interp.)": interp.n_fit.exponent - ref,
                     "budgets used": f"{int(local.budgets['used'].sum())}/{len(local.budgets)}"})
    return pd.DataFrame(rows)


def batch(shared: Path) -> tuple[pd.DataFrame, str]:
    sweeps = pd.read_csv(shared / "critical_batch_size_steps.csv")
    rows = []
    for model, sweep in sweeps.groupby("model", sort=False):
        fit = fit_batch_sweep(sweep["batch_size_seqs"], sweep["steps_to_target"], level=0.9, reference_batch=256)
        lo, hi = fit.intervals["B_noise"]
        rows.append({"model": model, "N": sweep["N_nominal"].iloc[0], "target loss": sweep["target_loss"].iloc[0],
                     "S_min": fit.S_min, "E_min (sequences)": fit.E_min, "CBS (Zhang, sequences)": fit.cbs,
                     "B_noise (McCandlish, sequences)": fit.B_noise, "90% interval of B_noise": f"[{lo:.4g}, {hi:.4g}]",
                     "rms log residual": fit.rmse})
    table = pd.DataFrame(rows)
    cbs = fit_power_law(table["CBS (Zhang, sequences)"], N=table["N"].astype(float) / 1e6)
    noise = fit_power_law(table["B_noise (McCandlish, sequences)"], N=table["N"].astype(float) / 1e6)
    return table, f"{cbs.describe('CBS')}; {noise.describe('B_noise')} (N in millions)"


def hyperparameters(shared: Path) -> pd.DataFrame:
    runs = pd.read_csv(shared / "steplaw_dense_runs.csv")
    rows = [{"method": "published (Step Law)", "lr: N": -0.713, "lr: D": 0.307, "batch: D": 0.571}]
    for optimum in ("surface", "argmin", "near"):
        _, optima, fits = fit_hyperparameter_law(runs, loss="smooth_loss", optimum=optimum)
        rows.append({"method": optimum + (" (default)" if optimum == "surface" else ""),
                     "lr: N": fits["lr"].exponents["N"], "lr: D": fits["lr"].exponents["D"],
                     "batch: D": fits["batch"].exponents["D"],
                     "se (lr N, lr D, batch D)": f"{fits['lr'].stderr['N']:.3f}, {fits['lr'].stderr['D']:.3f}, "
                                                 f"{fits['batch'].stderr['D']:.3f}"})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args()
    iso = isoflop(args.shared)
    print("IsoFLOP approach 2 (N_opt ∝ C^a) against Porian et al.:")
    print(markdown_table(iso))
    print(f"max |diff|: parabola {iso['diff'].abs().max():.3f}, interpolation {iso['diff (interp.)'].abs().max():.3f}"
          f"; all within 0.05: {bool((iso['diff'].abs() <= 0.05).all())}")
    print()
    table, scaling = batch(args.shared)
    print("Critical batch size (Zhang et al.'s sweeps, batch in sequences):")
    print(markdown_table(table))
    print(scaling)
    print()
    hp = hyperparameters(args.shared)
    print("Optimal learning rate and batch size (Step Law dense sweep, smooth loss, 17 (N, D) cells):")
    print(markdown_table(hp.fillna("")))
    default = hp.iloc[1]
    ok = all(abs(default[k] - hp.iloc[0][k]) <= 0.1 for k in ("lr: N", "lr: D", "batch: D"))
    print(f"default method within 0.1 of every published exponent: {ok}")


if __name__ == "__main__":
    main()
