"""One test battery over every registered law, driven by one table of example laws.

Adding a law to the registry adds one row to EXAMPLES (a test fails until it does). Each row gives true
parameters, a design (the inputs at which data are drawn) and a far point to check extrapolation.
For every law the battery checks: exact recovery from noise-free data, recovery of the loss (in range and
extrapolated) from seeded noisy data, gradients against finite differences, evaluation on scalars and
arrays, the law's and the fit's JSON round trip, pickling, and a plot.
"""

from __future__ import annotations

import json
import pickle
import warnings
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import scalinglaws as sl  # noqa: E402
from scalinglaws.laws.registry import law_from_dict  # noqa: E402
from scalinglaws.plot import plot_fit  # noqa: E402
from scalinglaws.schedules import constant, cosine, wsd  # noqa: E402

from .helpers import EPOCH, isoflop_grid  # noqa: E402


def _grid(**axes) -> pd.DataFrame:
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    return pd.DataFrame({k: m.ravel() for k, m in zip(axes, mesh)})


def _isoflop(scale_n: float = 1.0, name: str = "N") -> pd.DataFrame:
    g = isoflop_grid(EPOCH)
    return pd.DataFrame({name: g[:, 0] * scale_n, "D": g[:, 1]})


def _repeated_data() -> pd.DataFrame:
    """Runs over three unique-data budgets, from half an epoch to 40 epochs, some beyond N_opt(U)."""
    rows = [(n, u * epochs, u) for u in (1e9, 1e10, 1e11) for n in np.geomspace(1e8, 1e10, 6)
            for epochs in (0.5, 1, 2, 4, 8, 16, 40)]
    return pd.DataFrame(rows, columns=["N", "D", "U"])


@dataclass(frozen=True)
class Example:
    params: dict
    design: pd.DataFrame
    far: dict  # inputs well beyond the design (for curve laws: the end of a run), for the extrapolation check
    schedules: dict | None = None  # curve laws are bound to these schedules


CURVE_SCHEDULES = {"constant": constant(6000, 1e-3, warmup=300), "wsd": wsd(6000, 1e-3, cooldown=0.3, warmup=300),
                   "cosine": cosine(6000, 1e-3, final=1e-4, warmup=300)}
_STEPS = np.arange(400, 5900, 100)
CURVE_DESIGN = pd.DataFrame({"run": np.repeat(list(CURVE_SCHEDULES), _STEPS.size),
                             "run_index": np.repeat(np.arange(3), _STEPS.size), "step": np.tile(_STEPS, 3)})
SIZED_DESIGN = pd.concat([CURVE_DESIGN.assign(N=n, run=CURVE_DESIGN["run"] + f"-{n:.0e}") for n in (5e7, 2e8, 8e8)],
                         ignore_index=True)


DATA_CONSTRAINED = dict(E=np.exp(0.6254804), A=np.exp(6.255414), B=np.exp(7.3049974), alpha=0.3526596,
                        beta=0.3526596, R_D_star=15.387756, R_N_star=5.309743)  # LAWS.md §10, notebook vector
FARSEER_PUBLISHED_FORM = dict(a1=-3.0, gamma1=-0.1, b1=np.log(0.6), a2=-2.0, gamma2=0.05, b2=13.0, a3=222.0,
                              gamma3=-0.34, b3=np.log(1.8))
FARSEER = sl.get_law("farseer").from_published(**FARSEER_PUBLISHED_FORM)
FARSEER_GRID = _grid(N=np.geomspace(3e7, 3e9, 25), D=np.geomspace(1e9, 5.12e11, 19))

EXAMPLES: dict[str, Example] = {
    "chinchilla": Example(EPOCH, _isoflop(), {"N": 7e10, "D": 1.4e12}),
    "chinchilla-tied": Example({**EPOCH, "beta": EPOCH["alpha"]}, _isoflop(), {"N": 7e10, "D": 1.4e12}),
    "kaplan": Example(dict(Nc=6.4e13, Dc=1.8e13, alpha_N=0.076, alpha_D=0.103),
                      _grid(N=np.geomspace(1e7, 1e10, 8), D=np.geomspace(1e8, 1e11, 8)), {"N": 1e11, "D": 1e12}),
    "kaplan-steps": Example(dict(Nc=6.5e13, alpha_N=0.077, Sc=2.1e3, alpha_S=0.76),
                            _grid(N=np.geomspace(1e7, 1e10, 8), S_min=np.geomspace(1e3, 1e6, 8)),
                            {"N": 1e11, "S_min": 1e7}),
    "power-N": Example(dict(L_inf=1.7, x0=3e6, alpha=0.35), pd.DataFrame({"N": np.geomspace(1e6, 1e10, 30)}),
                       {"N": 1e11}),
    "power-D": Example(dict(L_inf=2.0, x0=1e5, alpha=0.3), pd.DataFrame({"D": np.geomspace(1e4, 1e9, 30)}),
                       {"D": 1e10}),
    "power-C": Example(dict(L_inf=1.9, x0=1e15, alpha=0.25), pd.DataFrame({"C": np.geomspace(1e15, 1e21, 30)}),
                       {"C": 1e22}),
    "farseer": Example(FARSEER, FARSEER_GRID, {"N": 1e10, "D": 1e12}),
    "data-constrained": Example(DATA_CONSTRAINED, _repeated_data(), {"N": 3e10, "D": 1e12, "U": 3e11}),
    "sparse-average": Example(EPOCH, _isoflop(0.6, "N_avg"), {"N_avg": 4e10, "D": 1.4e12}),
    "bnsl": Example(dict(a=0.1, b=2.0, c0=0.2, c1=0.5, d1=100.0, f1=0.5), pd.DataFrame({"C": np.geomspace(1, 1e5, 40)}),
                    {"C": 1e6}),
    "lr-annealing": Example(dict(L0=2.6, A=0.5, alpha=0.5, C=2.0, lam=0.99), CURVE_DESIGN,
                            {"run_index": 1, "step": 5999}, CURVE_SCHEDULES),
    "lr-annealing-N": Example(dict(L0=1.8, A=0.5, alpha=0.5, B=300.0, beta=0.35, C=2.0, gamma=0.1, lam=0.99),
                              SIZED_DESIGN, {"run_index": 1, "step": 5999, "N": 3e9}, CURVE_SCHEDULES),
    "multi-power": Example(dict(L0=2.5, A=0.5, alpha=0.45, B=400.0, C=2.0, beta=0.6, gamma=0.6), CURVE_DESIGN,
                           {"run_index": 1, "step": 5999}, CURVE_SCHEDULES),
    "bnsl-2": Example(dict(a=0.1, b=2.0, c0=0.2, c1=0.5, d1=100.0, f1=0.5, c2=-0.3, d2=3000.0, f2=1.0),
                      pd.DataFrame({"C": np.geomspace(1, 1e6, 60)}), {"C": 1e7}),
}
NAMES = sorted(EXAMPLES)


def _law(name: str):
    """The registered law, bound to its example's schedules when it is a curve law."""
    law, example = sl.get_law(name), EXAMPLES[name]
    return law.bind(example.schedules) if example.schedules else law


def _data(name: str, noise: float, seed: int = 0) -> pd.DataFrame:
    example, law = EXAMPLES[name], _law(name)
    X = {k: example.design[k].to_numpy() for k in law.inputs}
    loss = law.evaluate(X, *law.values_of(example.params))
    rng = np.random.default_rng(seed)
    return example.design.assign(loss=loss * np.exp(noise * rng.standard_normal(loss.size)))


_FITS: dict[tuple[str, float], sl.FitResult] = {}


def _fit(name: str, noise: float) -> sl.FitResult:
    if (name, noise) not in _FITS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sl.IdentifiabilityWarning)  # noisy fits of rich laws: expected
            _FITS[name, noise] = sl.fit(_law(name), _data(name, noise))
    return _FITS[name, noise]


def test_every_registered_law_has_an_example_row():
    assert set(sl.available_laws()) == set(EXAMPLES)


@pytest.mark.parametrize("name", NAMES)
def test_exact_recovery_from_noise_free_data(name):
    """From the default start grid, without hand-tuned starts, the fit finds the true parameters."""
    result = _fit(name, 0.0)
    assert result.converged, result.message
    np.testing.assert_allclose(result.values, _law(name).values_of(EXAMPLES[name].params), rtol=1e-6,
                               atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_recovery_from_noisy_data(name):
    """0.1 % log-normal noise (seed 0): residuals at the noise level, and the loss at the far point within 1 %."""
    result = _fit(name, 0.001)
    assert result.converged, result.message
    assert result.rmse < 0.0013
    law, example = _law(name), EXAMPLES[name]
    truth = law(**example.far, **example.params)
    assert result.predict(**example.far) == pytest.approx(truth, rel=0.01)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_finite_differences(name):
    law, example = _law(name), EXAMPLES[name]
    X = {k: example.design[k].to_numpy() for k in law.inputs}
    values = list(law.values_of(example.params))
    for fn, grad in ((law.evaluate, law.gradient), (law.log_evaluate, law.log_gradient)):
        analytic = grad(X, *values)
        for j, value in enumerate(values):
            h = 1e-6 * max(1.0, abs(value))
            up, down = list(values), list(values)
            up[j] += h
            down[j] -= h
            numeric = (fn(X, *up) - fn(X, *down)) / (2 * h)
            scale = np.abs(numeric).max() + 1e-12
            np.testing.assert_allclose(analytic[j], numeric, rtol=1e-5, atol=1e-6 * scale,
                                       err_msg=f"{name}: d/d{law.param_names[j]}")


@pytest.mark.parametrize("name", NAMES)
def test_evaluate_on_scalars_and_arrays(name):
    law, example = _law(name), EXAMPLES[name]
    scalar = law(**example.far, **example.params)
    assert isinstance(scalar, float) and np.isfinite(scalar) and scalar > 0
    arrays = law(**{k: np.full(3, v) for k, v in example.far.items()}, **example.params)
    np.testing.assert_allclose(arrays, scalar, rtol=1e-14)
    X = {k: example.design[k].to_numpy() for k in law.inputs}
    batch = [np.array([[v], [v]]) for v in law.values_of(example.params)]
    assert law.evaluate(X, *batch).shape == (2, len(example.design))


@pytest.mark.parametrize("name", NAMES)
def test_law_and_fit_round_trip_through_json_and_pickle(name):
    law = _law(name)
    assert law_from_dict(json.loads(json.dumps(law.to_dict()))) == law
    assert pickle.loads(pickle.dumps(law)) == law
    result = _fit(name, 0.001)
    again = sl.FitResult.from_json(result.to_json())
    assert again == result and pickle.loads(pickle.dumps(result)) == result
    far = EXAMPLES[name].far
    assert again.predict(**far) == result.predict(**far)


@pytest.mark.parametrize("name", NAMES)
def test_plot_smoke(name, tmp_path):
    fig = plot_fit(_fit(name, 0.001))
    assert len(fig.axes) >= 2 and fig.axes[0].get_ylabel().endswith("(nats/token)")
    fig.savefig(tmp_path / "fit.png")
    assert (tmp_path / "fit.png").stat().st_size > 5000
    plt.close(fig)
