"""Zhang et al.'s critical batch size, reproduced from their sweeps (../shared/data), next to McCandlish's."""

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.forecast.critical_batch import cbs_power_law, critical_batch_zhang

from .helpers import shared

#: Printed by the authors' notebook (hlzhang109/critical-batch-size, commit c5b509d, plots/chinchilla.ipynb,
#: cell 5): fitted a, b of log S = log(a + b/B) (B in sequences) and the critical batch size in sequences.
ZHANG = {"85M": (1293.8268694659337, 2834258.0888740215, 745.3201466381583),
         "151M": (1752.4211962796799, 5677478.783007255, 955.1582414387951),
         "302M": (2095.3497601960876, 11383269.891870424, 1393.726947253441),
         "604M": (2459.9274969089824, 19449688.58779496, 1888.5221009346358),
         "1.2B": (3897.306597333535, 43381130.22429582, 2533.4108017868743)}


@pytest.fixture(scope="module")
def sweeps():
    table = pd.read_csv(shared("critical_batch_size_steps.csv"))
    return {m: g.sort_values("batch_size_seqs") for m, g in table.groupby("model", sort=False)}


def test_reproduces_zhang_critical_batch_sizes(sweeps):
    """Their fit (unweighted least squares on log S over all 9 batch sizes) and their CBS = 0.2·b/a + 1.2·256
    sequences, to 1e-6 relative; McCandlish's b/a stays a separate, larger-by-construction quantity."""
    for model, (a, b, cbs) in ZHANG.items():
        g = sweeps[model]
        fit = critical_batch_zhang(g["batch_size_seqs"], g["steps_to_target"])
        assert fit.n == 9
        assert fit.S_min == pytest.approx(a, rel=1e-6) and fit.E_min == pytest.approx(b, rel=1e-6), model
        assert fit.cbs == pytest.approx(cbs, rel=1e-6), model
        assert fit.B_noise == pytest.approx(b / a, rel=1e-6)
        assert fit.cbs == pytest.approx(0.2 * fit.B_noise + 1.2 * 256, rel=1e-12)
    rounded = [round(critical_batch_zhang(g["batch_size_seqs"], g["steps_to_target"]).cbs) for g in sweeps.values()]
    assert rounded == [745, 955, 1394, 1889, 2533]


def test_the_same_in_tokens_and_the_bare_fifth_of_b_noise_is_not_theirs(sweeps):
    """In tokens (reference 256 x 512): the same CBS times 512. 0.2·B_noise alone (0.2·E_min/S_min, what
    BatchFit.B_zhang reported) gives 438 ... 2226 sequences, not theirs."""
    bare = []
    for model, (_, _, cbs) in ZHANG.items():
        g = sweeps[model]
        tokens = critical_batch_zhang(g["batch_size_tokens"], g["steps_to_target"], reference_batch=256 * 512)
        assert tokens.cbs == pytest.approx(cbs * 512, rel=1e-6)
        bare.append(0.2 * tokens.B_noise / 512)
        # the existing McCandlish fit agrees on S_min and E_min
        mc = sl.fit_batch_sweep(g["batch_size_tokens"], g["steps_to_target"])
        assert mc.S_min == pytest.approx(tokens.S_min, rel=1e-6) and mc.B_crit == pytest.approx(tokens.B_noise, rel=1e-6)
    np.testing.assert_allclose(bare, [438.1, 647.96, 1086.5, 1581.3, 2226.2], rtol=1e-4)


def test_reproduces_zhang_scaling_in_model_size(sweeps):
    """CBS = 93.1968·(N / 1e6)^0.468278 (their log-space two-parameter fit); the bare 0.2·B_noise scales as
    N^0.619."""
    sizes = [85e6, 151e6, 302e6, 604e6, 1200e6]
    fits = [critical_batch_zhang(g["batch_size_seqs"], g["steps_to_target"]) for g in sweeps.values()]
    coefficient, exponent = cbs_power_law(sizes, [f.cbs for f in fits])
    assert coefficient == pytest.approx(93.196814043949, rel=1e-6)
    assert exponent == pytest.approx(0.4682782328130422, rel=1e-6)
    _, bare_exponent = cbs_power_law(sizes, [0.2 * f.B_noise for f in fits])
    assert bare_exponent == pytest.approx(0.619, abs=5e-4)
    per_param, same = cbs_power_law(sizes, [f.cbs for f in fits], unit=1.0)
    assert same == pytest.approx(exponent) and per_param == pytest.approx(coefficient * 1e6**-exponent)


def test_bad_sweeps():
    with pytest.raises(sl.ScalingLawsError, match="at least 3"):
        critical_batch_zhang([64, 128], [10, 5])
    with pytest.raises(sl.ScalingLawsError, match="positive"):
        critical_batch_zhang([64, 128, 256], [10, 0, 3])
    with pytest.raises(sl.ScalingLawsError, match="two distinct"):
        critical_batch_zhang([64, 64, 64], [10, 9, 8])
