"""Zhang et al.'s critical batch size, reproduced from their sweeps (../shared/data), next to McCandlish's noise
scale: both from one fit of S(B) = S_min + E_min/B (fit_batch_sweep / analyze_batch_sweeps)."""

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.forecasting import fit_batch_sweep, fit_power_law

from .helpers import run_cli, shared

#: Printed by the authors' notebook (hlzhang109/critical-batch-size, commit c5b509d, plots/chinchilla.ipynb,
#: cell 5): fitted a, b of log S = log(a + b/B) (B in sequences) and the critical batch size in sequences.
ZHANG = {"85M": (1293.8268694659337, 2834258.0888740215, 745.3201466381583),
         "151M": (1752.4211962796799, 5677478.783007255, 955.1582414387951),
         "302M": (2095.3497601960876, 11383269.891870424, 1393.726947253441),
         "604M": (2459.9274969089824, 19449688.58779496, 1888.5221009346358),
         "1.2B": (3897.306597333535, 43381130.22429582, 2533.4108017868743)}
SIZES = [85e6, 151e6, 302e6, 604e6, 1200e6]


@pytest.fixture(scope="module")
def table():
    return pd.read_csv(shared("critical_batch_size_steps.csv"))


@pytest.fixture(scope="module")
def sweeps(table):
    return {m: g.sort_values("batch_size_seqs") for m, g in table.groupby("model", sort=False)}


def test_reproduces_zhang_critical_batch_sizes(sweeps):
    """Their fit (unweighted least squares on log S over all 9 batch sizes) and their CBS = 0.2·b/a + 1.2·256
    sequences, to 1e-6 relative; McCandlish's b/a stays a separate quantity."""
    for model, (a, b, cbs) in ZHANG.items():
        g = sweeps[model]
        fit = fit_batch_sweep(g["batch_size_seqs"], g["steps_to_target"], reference_batch=256)
        assert fit.n == 9
        assert fit.S_min == pytest.approx(a, rel=1e-6) and fit.E_min == pytest.approx(b, rel=1e-6), model
        assert fit.cbs == pytest.approx(cbs, rel=1e-6), model
        assert fit.B_noise == pytest.approx(b / a, rel=1e-6)
    rounded = [round(fit_batch_sweep(g["batch_size_seqs"], g["steps_to_target"], reference_batch=256).cbs)
               for g in sweeps.values()]
    assert rounded == [745, 955, 1394, 1889, 2533]


def test_the_same_in_tokens_and_the_bare_fifth_of_b_noise_is_not_theirs(sweeps):
    """In tokens (reference 256 x 512): the same CBS times 512. 0.2·B_noise alone (what this package once called
    Zhang's) gives 438 ... 2226 sequences, not theirs."""
    bare = []
    for model, (_, _, cbs) in ZHANG.items():
        g = sweeps[model]
        tokens = fit_batch_sweep(g["batch_size_tokens"], g["steps_to_target"], reference_batch=256 * 512)
        assert tokens.cbs == pytest.approx(cbs * 512, rel=1e-6)
        bare.append(0.2 * tokens.B_noise / 512)
    np.testing.assert_allclose(bare, [438.1, 647.96, 1086.5, 1581.3, 2226.2], rtol=1e-4)


def test_analysis_of_the_sweeps_reproduces_zhang_by_default(table):
    """analyze_batch_sweeps finds the columns, takes 256 sequences x seq_len as the reference batch for a batch
    in tokens, and fits CBS = 93.1968·(N/1e6)^0.468278 as Zhang et al. do (N in millions); B_noise scales as
    N^0.619."""
    result = sl.analyze_batch_sweeps(table)
    assert result.unit == "tokens" and (result.table["reference_batch"] == 256 * 512).all()
    np.testing.assert_allclose(result.table["cbs"] / 512, [c for _, _, c in ZHANG.values()], rtol=1e-6)
    fit = result.scaling["cbs", "N_nominal"]
    assert fit.exponents["N_nominal"] == pytest.approx(0.4682782328130422, rel=1e-6)
    assert fit.coefficient / 512 == pytest.approx(93.196814043949, rel=1e-6)
    bare = fit_power_law(0.2 * result.table["B_noise"], N=np.array(SIZES) / 1e6)
    assert bare.exponent == pytest.approx(0.619, abs=5e-4)
    assert "CBS (Zhang et al. 2024)" in result.summary() and "B_noise (McCandlish et al. 2018)" in result.summary()


def test_batch_command_names_both_quantities(capsys, tmp_path):
    path = shared("critical_batch_size_steps.csv")
    code, out, err = run_cli(capsys, "batch", path, "--out", tmp_path / "b.csv")
    assert code == 0, err
    assert "CBS" in out and "B_noise" in out and "CBS against model size" in out
    written = pd.read_csv(tmp_path / "b.csv")
    assert {"cbs", "B_noise", "reference_batch"} <= set(written.columns)


def test_bad_sweeps():
    with pytest.raises(sl.ScalingLawsError, match="at least 3"):
        fit_batch_sweep([64, 128], [10, 5])
    with pytest.raises(sl.ScalingLawsError, match="positive"):
        fit_batch_sweep([64, 128, 256], [10, 0, 3])
    with pytest.raises(sl.ScalingLawsError, match="two distinct"):
        fit_batch_sweep([64, 64, 64], [10, 9, 8])
    with pytest.raises(sl.ScalingLawsError, match="reference_batch"):
        fit_batch_sweep([64, 128, 256], [10, 9, 8], reference_batch=-1)
