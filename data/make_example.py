"""Generate data/example_points.csv: synthetic runs from a known Chinchilla law with 1% noise.

    python data/make_example.py

True parameters (Epoch AI's refit of Chinchilla, Besiroglu et al. 2024, rounded):
E = 1.82, A = 482, B = 2085, alpha = 0.348, beta = 0.366. Grid: 8 model sizes from 20M to 2.5B parameters,
each trained for 5, 10, 20, 40 and 80 tokens per parameter. Loss = L(N, D) · exp(0.01·z), z ~ N(0, 1),
numpy seed 20240417. The script is deterministic: running it again reproduces the file byte for byte.
"""

from pathlib import Path

import numpy as np
import pandas as pd

TRUE = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
SEED = 20240417
NOISE = 0.01


def make(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = np.geomspace(20e6, 2.5e9, 8).round(-5)
    ratios = np.array([5, 10, 20, 40, 80])
    N, R = (a.ravel() for a in np.meshgrid(sizes, ratios, indexing="ij"))
    D = (N * R).round(-6)
    t = TRUE
    loss = t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]
    loss = loss * np.exp(NOISE * rng.standard_normal(loss.size))
    return pd.DataFrame({
        "run": [f"n{n / 1e6:.0f}m-r{r}" for n, r in zip(N, R)],
        "params": N.astype(np.int64),
        "tokens": D.astype(np.int64),
        "val_loss": loss.round(5),
    })


if __name__ == "__main__":
    out = Path(__file__).with_name("example_points.csv")
    make().to_csv(out, index=False)
    print(f"wrote {out}")
