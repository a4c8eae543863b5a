"""Benchmark: coverage of forecast bands on held-out runs at larger scale, the old bands against the default one.

    python benchmarks/calibration.py [--replicates R] [--seeds S] [--part points|curves|all] [--curve-laws L,...]

For each split the law is fitted below a scale and its 90% bands are judged on the runs above it (coverage: the
share of held-out runs whose measured loss lies inside the band; half/err: the median half-width of the band on the
log scale over the median |log error|, how wide the band is against the errors it has to cover).

Bands compared:

* ``old: bootstrap mean``: the previous default, the bootstrap's band of the law's mean (R replicates);
* ``old: bootstrap observation``: the same with a new run's scatter (``--kind observation`` before);
* ``default``: ``sl.forecast(fit, ...)`` now: a new run's loss, noise from the fit's covariance, plus the model
  error calibrated by backtests inside the training runs (scalinglaws.fitting.calibration);
* ``default, bootstrap noise``: the same model error on the bootstrap's noise part.

Data (../shared/data, see its NOTES.md): Porian et al.'s IsoFLOP runs (10 dataset x config groups; budgets from
the ``budget_flops`` column), Epoch AI's Chinchilla runs (data/), the Step Law dense sweep (best run per (N, D)
cell), and seeded synthetic IsoFLOP sets from the Chinchilla form (exact) or from a law whose N exponent grows with
N (slightly wrong, as Farseer reports). Each split is fitted once, cached in memory only.

Curves (``--part curves``): predict the final loss of a longer run from the curves of shorter ones (cosine runs
of three lengths, WSD runs of four lengths, WSD runs from a constant-LR run, the Multi-Power law paper's 24k-step
runs to 72k steps; :func:`curve_cases`); the default band of ``predict_curve`` against the same band without
its model error.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import scalinglaws as sl
from scalinglaws.fitting.curves import fit_curves
from scalinglaws.forecasting.curves import predict_curve
from scalinglaws.io.tables import markdown_table
from scalinglaws.schedules import from_array

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lr_curves import cosine_schedule, hagele_schedule  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
EPOCH = dict(E=1.81686, A=482.006, B=2085.43, alpha=0.347813, beta=0.365854)


def points(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"run": [f"r{i}" for i in range(len(table))], "N": table["N"].to_numpy(float),
                         "D": table["D"].to_numpy(float), "loss": table["loss"].to_numpy(float),
                         "C": table["C"].to_numpy(float) if "C" in table else 6 * table["N"] * table["D"]})


def split(table: pd.DataFrame, by: str, *, cutoff: float | None = None, holdout: int = 1):
    values = table[by].to_numpy(float)
    if cutoff is None:
        cutoff = float(np.exp(np.unique(np.round(np.log(values), 9))[-holdout]))
    test = values >= cutoff * (1 - 1e-9)
    return table.loc[~test].reset_index(drop=True), table.loc[test].reset_index(drop=True)


def porian() -> dict[str, pd.DataFrame]:
    data = pd.read_csv(SHARED / "isoflop_porian.csv")
    return {f"{d}/{c}": pd.DataFrame({"N": g["N"].values, "D": g["D"].values, "C": g["budget_flops"].values,
                                       "loss": g["loss"].values}) for (d, c), g in data.groupby(["dataset", "config"])}


def epoch() -> pd.DataFrame:
    table = sl.read_points(ROOT / "data" / "chinchilla_epoch.csv")
    return table.loc[~table["exclude"], ["N", "D", "C", "loss"]].reset_index(drop=True)


def steplaw() -> pd.DataFrame:
    runs = pd.read_csv(SHARED / "steplaw_dense_runs.csv")
    runs = runs[np.isfinite(runs["loss"]) & (runs["loss"] < 5.0)]  # diverged runs (loss up to 11) left out
    best = runs.loc[runs.groupby(["N", "D"])["loss"].idxmin(), ["N", "D", "loss"]].reset_index(drop=True)
    best["C"] = 6.0 * best["N"] * best["D"]
    return best


def isoflop(budgets, per_budget=13, spread=16.0) -> pd.DataFrame:
    n_opt = sl.compute_optimal("chinchilla", budgets, params=EPOCH, level=None)["N_opt"].to_numpy()
    rows = [(n, c / (6 * n), c) for c, center in zip(budgets, n_opt)
            for n in np.geomspace(center / spread, center * spread, per_budget)]
    return pd.DataFrame(rows, columns=["N", "D", "C"])


def synthetic(kind: str, seed: int, noise: float, train, test, kappa: float = 0.03):
    """(train, test) IsoFLOP sets from the Chinchilla form (``right``) or with alpha(N) = alpha + kappa·ln(N/1e8)."""
    rng = np.random.default_rng(seed)
    out = []
    for budgets in (train, test):
        t = isoflop(budgets)
        N, D = t["N"].to_numpy(), t["D"].to_numpy()
        if kind == "right":
            mean = sl.get_law("chinchilla")(N=N, D=D, **EPOCH)
        else:
            alpha = EPOCH["alpha"] + kappa * np.log(N / 1e8)
            mean = EPOCH["E"] + EPOCH["A"] * 1e8 ** -EPOCH["alpha"] * (N / 1e8) ** -alpha + EPOCH["B"] * D ** -EPOCH["beta"]
        t["loss"] = mean * np.exp(noise * rng.standard_normal(len(t)))
        out.append(t)
    return tuple(out)


def judge(train: pd.DataFrame, test: pd.DataFrame, replicates: int, law: str = "chinchilla") -> dict:
    """The held-out runs with each band's ends: {method: DataFrame(loss, predicted, lower, upper)}."""
    fit = sl.fit(law, points(train))
    boot = sl.bootstrap(fit, replicates, seed=0, progress=False) if replicates else None
    X = {"N": test["N"].to_numpy(float), "D": test["D"].to_numpy(float)}
    bands = {"default": fit.band(**X)}
    if boot is not None:
        bands["old: bootstrap mean"] = boot.band(kind="mean", model_error=False, **X)
        bands["old: bootstrap observation"] = boot.band(kind="observation", model_error=False, **X)
        bands["default, bootstrap noise"] = boot.band(**X)
    return {name: pd.DataFrame({"loss": test["loss"].to_numpy(float), "predicted": b["loss"].to_numpy(),
                                "lower": b["lower"].to_numpy(), "upper": b["upper"].to_numpy()})
            for name, b in bands.items()}, fit.model_error


def score(frames: list[pd.DataFrame]) -> dict:
    f = pd.concat(frames, ignore_index=True)
    inside = (f["lower"] <= f["loss"]) & (f["loss"] <= f["upper"])
    half = 0.5 * np.log(f["upper"] / f["lower"])
    err = np.abs(np.log(f["loss"] / f["predicted"]))
    units = [float(((u["lower"] <= u["loss"]) & (u["loss"] <= u["upper"])).mean()) for u in frames]
    return {"n": len(f), "coverage": float(inside.mean()), "min unit": min(units), "mean unit": float(np.mean(units)),
            "median half %": 100 * float(half.median()), "median |err| %": 100 * float(err.median()),
            "half/err": float(half.median() / err.median())}


def table_of(name: str, units: list, unit_kind: str) -> list[dict]:
    rows = []
    for method in units[0][0]:
        row = {"split": name, "band": method, **score([u[0][method] for u in units])}
        if len(units) > 1:
            row["units"] = f"{len(units)} {unit_kind}"
        if method == "default":
            row["fallback"] = sum(not u[1].calibrated for u in units)
        rows.append(row)
    return rows


def curve_cases():
    """(case, name, fitted curves, schedules of every run, held-out final losses (run, step, loss)) from Hägele et
    al.'s runs (validation loss every 200 steps, exact per-step schedules from NOTES.md §1b) and the Multi-Power
    law paper's runs (exact per-step learning rates): predict the final loss of a longer run from shorter ones.

    * ``cosine``: per model size, the cosine runs of one peak LR at three lengths: fit the two shorter curves.
    * ``wsd lengths``: the 124M WSD runs at four lengths per (peak LR, cooldown share, cooldown shape): fit the
      two shorter curves, predict the two longer.
    * ``wsd from constant``: per (size, peak LR), a constant-LR run and the shortest 20 % linear WSD run, predict
      the longer WSD runs (benchmarks/lr_curves.py's ``wsd`` part).
    * ``Multi-Power runs 24k to 72k``: per size, the paper's four 24k-step runs, predict constant_72000 and
      cosine_72000.
    """
    curves = pd.read_csv(SHARED / "lr_schedule_curves.csv")
    runs = pd.read_csv(SHARED / "lr_schedule_runs.csv")
    runs = runs[runs["source"].str.contains("lr-scheduling") & ~runs["source_file"].str.contains("grad_norm|cos-zero")
                & ~runs["diverged"].astype(bool)]

    def schedule(r):
        total, peak = int(r["total_steps"]) + 1, float(r["peak_lr"])
        lr = cosine_schedule(total, peak) if r["scheduler_cfg"] == "cos" else hagele_schedule(
            total, peak, float(r["cooldown_fraction"]), r["decay_type"] if isinstance(r["decay_type"], str) else "linear")
        return from_array(lr, warmup=300, name=r["run"])

    def fitted(names):
        table = curves[curves["run"].isin(names)][["run", "step", "lr", "loss"]].dropna(subset=["loss"])
        return table[table["step"] >= 1000]

    def finals(names):
        rows = [curves[curves["run"] == n].dropna(subset=["loss"]) for n in names]
        return pd.DataFrame([{"run": n, "step": int(c["step"].max()), "loss": float(c.loc[c["step"].idxmax(), "loss"])}
                             for n, c in zip(names, rows)])

    cosine = runs[(runs["scheduler_cfg"] == "cos") & runs["decay_type"].isna()]
    for N, group in cosine.groupby("N"):
        group = group[group["peak_lr"] == group["peak_lr"].mode().iloc[0]].sort_values("total_steps")
        if len(group) >= 3:
            yield ("cosine", f"{N / 1e6:.0f}M", fitted(group["run"].iloc[:-1]),
                   {r["run"]: schedule(r) for _, r in group.iterrows()}, finals(group["run"].iloc[-1:]))
    wsd = runs[(runs["scheduler_cfg"] == "wsd") & (runs["N"] == 123587328) & (runs["dataset"] == "slimpajama")
               & (runs["cooldown_fraction"] > 0)]
    for key, group in wsd.groupby(["peak_lr", "cooldown_fraction", "decay_type"]):
        group = group.sort_values(["total_steps", "run"]).drop_duplicates("total_steps")
        if len(group) >= 4:
            yield ("wsd lengths", "lr {:g}, cooldown {:g} {}".format(*key), fitted(group["run"].iloc[:2]),
                   {r["run"]: schedule(r) for _, r in group.iterrows()}, finals(group["run"].iloc[2:]))
    for (N, peak), group in runs[runs["scheduler_cfg"] == "wsd"].groupby(["N", "peak_lr"]):
        constant = group[group["cooldown_fraction"] == 0].sort_values("total_steps")
        if constant.empty:
            continue
        base = constant.iloc[-1]
        short = group[(group["cooldown_fraction"] == 0.2) & (group["decay_type"] == "linear")
                      & (group["dataset"] == base["dataset"])].sort_values(["total_steps", "run"])
        longer = short[short["total_steps"] > short["total_steps"].min()] if len(short) else short
        if len(longer):
            yield ("wsd from constant", f"{N / 1e6:.0f}M lr {peak:g}", fitted([base["run"], short["run"].iloc[0]]),
                   {r["run"]: schedule(r) for _, r in group.iterrows()}, finals(longer["run"]))
    per_step = pd.read_csv(SHARED / "lr_schedule_lr_per_step.csv")
    schedules = {sid: from_array(g["lr"].to_numpy(), warmup=2160, name=sid) for sid, g in per_step.groupby("schedule_id")}
    train, test = ("cosine_24000", "constant_24000", "wsd_20000_24000", "wsdld_20000_24000"), ("constant_72000", "cosine_72000")
    for size in ("25M", "100M", "400M"):
        table = pd.concat([curves[curves["run"] == f"mpl_{size}_{n}"].assign(run=n) for n in train + test])
        table = table[table["step"] < table["run"].map(lambda n: schedules[n].steps)][["run", "step", "lr", "loss"]]
        ends = table[table["run"].isin(test)].sort_values("step").groupby("run").tail(1)[["run", "step", "loss"]]
        yield ("Multi-Power runs 24k to 72k", size, table[table["run"].isin(train)], {n: schedules[n] for n in train + test},
               ends.reset_index(drop=True))


def judge_curves(law: str) -> list[dict]:
    """One row per held-out final loss: the default band and the band without model error (the old one)."""
    rows = []
    for case, name, table, schedules, finals in curve_cases():
        fit = fit_curves(table, law, schedules={n: schedules[n] for n in table["run"].unique()})
        for _, target in finals.iterrows():
            step = [int(target["step"])]
            for band, extra in (("default", {}), ("old: noise only", {"model_error": False})):
                b = predict_curve(fit, schedules[target["run"]], steps=step, **extra).iloc[0]
                rows.append({"case": case, "unit": name, "band": band, "loss": float(target["loss"]),
                             "predicted": float(b["loss"]), "lower": float(b["lower"]), "upper": float(b["upper"]),
                             "calibrated": fit.model_error.calibrated})
    return rows


def curve_table(law: str) -> pd.DataFrame:
    judged = pd.DataFrame(judge_curves(law))
    out = []
    for (case, band), g in [*judged.groupby(["case", "band"], sort=False), *(
            (("all", b), g) for b, g in judged.groupby("band", sort=False))]:
        units = [u for _, u in g.groupby("unit")]
        out.append({"law": law, "case": case, "band": band, **score(units),
                    "fallback": sum(not u["calibrated"].iloc[0] for u in units) if band == "default" else None})
    return pd.DataFrame(out)


def points_table(replicates: int, seeds: int) -> pd.DataFrame:
    """Coverage of every band on every split of the scale-law data (one row per split and band)."""
    rows = []
    groups = porian()
    for cutoff in (3e18, 6.4e18):
        units = [judge(*split(g, "C", cutoff=cutoff), replicates) for g in groups.values()]
        rows += table_of(f"Porian, fit C < {cutoff:.2g}, predict the budgets above", units, "groups")
    for cutoff in (1e21, 2e21, 5e20):
        rows += table_of(f"Epoch Chinchilla, fit C < {cutoff:.2g}", [judge(*split(epoch(), "C", cutoff=cutoff),
                                                                          replicates)], "")
    for law in ("kaplan", "farseer"):
        rows += table_of(f"Epoch Chinchilla, fit C < 1e21, law {law}",
                         [judge(*split(epoch(), "C", cutoff=1e21), replicates, law=law)], "")
    for holdout in (1, 2):
        rows += table_of(f"Step Law best per (N, D), hold out the {holdout} largest N",
                         [judge(*split(steplaw(), "N", holdout=holdout), replicates)], "")
    designs = {
        "exact law, 1% noise, 1e19-1e21 -> 10-100x": ("right", 0.01, np.geomspace(1e19, 1e21, 9), np.geomspace(1e22, 1e23, 3)),
        "exact law, 0.5% noise, 1e17-1e19 -> 10-100x": ("right", 0.005, np.geomspace(1e17, 1e19, 9), np.geomspace(1e20, 1e21, 3)),
        "exact law, 1% noise, 1e19-1e21 -> 100-1000x": ("right", 0.01, np.geomspace(1e19, 1e21, 9), np.geomspace(1e23, 1e24, 3)),
        "slightly wrong law (k 0.03), 0.5% noise, 1e17-1e19 -> 10-100x": ("wrong", 0.005, np.geomspace(1e17, 1e19, 9), np.geomspace(1e20, 1e21, 3)),
        "slightly wrong law (k 0.03), 1% noise, 1e19-1e21 -> 10-100x": ("wrong", 0.01, np.geomspace(1e19, 1e21, 9), np.geomspace(1e22, 1e23, 3)),
        "slightly wrong law (k 0.03), 0.5% noise, 1e17-1e19 -> 100-1000x": ("wrong", 0.005, np.geomspace(1e17, 1e19, 9), np.geomspace(1e21, 1e22, 3)),
    }
    for name, (kind, noise, train, test) in designs.items():
        units = [judge(*synthetic(kind, 100 + s, noise, train, test), replicates) for s in range(seeds)]
        rows += table_of(name, units, "seeds")
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=100, help="bootstrap replicates of the old bands")
    parser.add_argument("--seeds", type=int, default=10, help="seeds of each synthetic design")
    parser.add_argument("--part", choices=("points", "curves", "all"), default="all")
    parser.add_argument("--curve-laws", default="lr-annealing", help="comma-separated curve laws of the curves part")
    args = parser.parse_args()
    warnings.simplefilter("ignore", sl.ScalingLawsWarning)
    started = time.perf_counter()
    print(f"# {platform.platform()}, Python {platform.python_version()}, scalinglaws {sl.__version__}",
          file=sys.stderr)
    if args.part in ("points", "all"):
        print(markdown_table(points_table(args.replicates, args.seeds), ".3g", na=""))
    if args.part in ("curves", "all"):
        for law in args.curve_laws.split(","):
            print()
            print(markdown_table(curve_table(law.strip()), ".3g", na=""))
    print(f"\n{time.perf_counter() - started:.0f} s in all", file=sys.stderr)


if __name__ == "__main__":
    main()
