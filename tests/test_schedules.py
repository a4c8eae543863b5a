"""Learning-rate schedules and their features: LAWS.md fixtures, exactness of the filter, linear cost."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalinglaws as sl
from scalinglaws.schedules import (Schedule, annealing_area, annealing_area_derivative, constant, cosine, forward_area,
                                   from_array, from_log, linear, parse_schedule, wsd)

LR10 = np.linspace(1.0, 0.1, 10)


def test_s1_s2_fixture():
    """LAWS.md §6: η from 1.0 to 0.1 over 10 steps, λ = 0.9."""
    np.testing.assert_allclose(forward_area(LR10), [1, 1.9, 2.7, 3.4, 4, 4.5, 4.9, 5.2, 5.4, 5.5], rtol=1e-12)
    momentum = np.diff(np.concatenate([[0.0], annealing_area(LR10, 0.9)]))
    np.testing.assert_allclose(momentum, [0, 0.1, 0.19, 0.271, 0.3439, 0.40951, 0.468559, 0.521703, 0.569533,
                                          0.61258], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(annealing_area(LR10, 0.9), [0, 0.1, 0.29, 0.561, 0.9049, 1.31441, 1.78297, 2.30467,
                                                           2.87420, 3.48678], rtol=1e-5, atol=1e-12)
    assert annealing_area(LR10, 0.999)[-1] == pytest.approx(4.48802, rel=1e-5)


def test_lr_annealing_fixture():
    """L(10) with L0 = 2, A = 0.5, alpha = 0.5, C = 0.3 on the same schedule is 1.16717 (LAWS.md §6)."""
    law = sl.get_law("lr-annealing").bind({"toy": from_array(LR10, warmup=0)})
    value = law(run_index=0, step=9, L0=2.0, A=0.5, alpha=0.5, C=0.3, lam=0.9)
    assert value == pytest.approx(1.16717, rel=1e-5)


def _naive_s2(lr, lam, warmup):
    m, total, out = 0.0, 0.0, []
    for i in range(len(lr)):
        drop = lr[i - 1] - lr[i] if i > warmup else 0.0
        m = lam * m + drop
        total += m
        out.append(total)
    return np.array(out)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16), lam=st.floats(0.0, 0.9999), warmup=st.integers(0, 50), n=st.integers(60, 400))
def test_filter_equals_the_loop(seed, lam, warmup, n):
    lr = np.abs(np.random.default_rng(seed).normal(1e-3, 5e-4, n))
    np.testing.assert_allclose(annealing_area(lr, lam, warmup), _naive_s2(lr, lam, warmup), rtol=1e-12, atol=1e-15)
    h = 1e-7
    numeric = (_naive_s2(lr, min(lam + h, 0.99999), warmup) - _naive_s2(lr, max(lam - h, 0.0), warmup)) / (
        min(lam + h, 0.99999) - max(lam - h, 0.0))
    np.testing.assert_allclose(annealing_area_derivative(lr, lam, warmup), numeric, rtol=1e-4, atol=1e-10)


def test_feature_cost_is_linear_in_steps():
    """Peak memory of computing S1 and S2 grows like the number of steps (an O(n²) method would grow 100x)."""
    def peak(n):
        lr = cosine(n, 1e-3, final=1e-4, warmup=100).lr
        tracemalloc.start()
        forward_area(lr)
        annealing_area(lr, 0.99, 100)
        annealing_area_derivative(lr, 0.99, 100)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    ratio = peak(1_000_000) / peak(100_000)
    assert 5 < ratio < 20, ratio


def test_generators():
    c = constant(1000, 3e-4, warmup=100)
    assert c.warmup == 100 and c.lr[0] == 0 and c.lr[99] == pytest.approx(3e-4) and np.all(c.lr[100:] == 3e-4)
    cos = cosine(1000, 1e-3, final=1e-4, warmup=100)
    assert cos.lr[100] == pytest.approx(1e-3) and cos.lr[-1] == pytest.approx(1e-4, rel=1e-4)
    lin = linear(1000, 1e-3, final=0.0)
    assert lin.lr[0] == 1e-3 and lin.lr[-1] == pytest.approx(1e-6)
    for shape in ("linear", "cosine", "sqrt"):
        s = wsd(1000, 1e-3, cooldown=0.2, shape=shape)
        assert np.all(s.lr[:800] == 1e-3) and s.lr[-1] < 1e-4 and np.all(np.diff(s.lr[800:]) <= 0)
    geometric = wsd(1000, 1e-3, cooldown=200, shape="exp", final=1e-5)
    assert geometric.lr[-1] == pytest.approx(1e-3 ** (1 / 200) * 1e-5 ** (199 / 200))
    assert wsd(1000, 1e-3, cooldown=0.0).lr.min() == 1e-3


def test_generators_match_the_published_schedules():
    """Hägele et al.'s WSD (warmup from peak/100, linear or 1-sqrt cooldown to 0 at step T) and the Multi-Power-
    law cosine and WSD-exp schedules, from the formulas in ../shared/data/NOTES.md and LAWS.md §7."""
    T, W, peak = 10000, 300, 1e-3
    t = np.arange(T)
    start = T - int(np.floor(0.2 * T))
    x = np.clip((t - start) / int(np.floor(0.2 * T)), 0, 1)
    notes = np.where(t < W, peak * (t / W + (1 - t / W) / 100), np.where(t < start, peak, peak * (1 - np.sqrt(x))))
    ours = wsd(T, peak, cooldown=0.2, shape="sqrt", warmup=W, warmup_start=peak / 100)
    # the warmup is linear from peak/100 at step 0 to peak at step W (numpy.linspace ends at W - 1)
    np.testing.assert_allclose(ours.lr[W:], notes[W:], rtol=1e-12)
    mpl = np.concatenate([np.linspace(0, 3e-4, 2160), 3e-5 + 0.5 * (3e-4 - 3e-5) * (
        1 + np.cos(np.pi * (np.arange(2160, 24000) - 2160) / (24000 - 2160)))])
    np.testing.assert_allclose(cosine(24000, 3e-4, final=3e-5, warmup=2160).lr, mpl, rtol=1e-12)


def test_specs_and_round_trips():
    s = parse_schedule("wsd:steps=20k,peak=3e-4,cooldown=0.25,shape=sqrt,warmup=500,final=0")
    assert (s.steps, s.warmup, s.source, s.spec.startswith("wsd:")) == (20000, 500, "spec", True)
    assert Schedule.from_dict(s.to_dict()) == s
    arr = from_array(np.linspace(1e-3, 1e-4, 50))
    assert Schedule.from_dict(arr.to_dict()) == arr and arr.warmup == 0
    assert from_array(np.concatenate([np.linspace(0, 1e-3, 10), np.full(20, 1e-3)])).warmup == 9


@pytest.mark.parametrize("spec, message", [
    ("triangle:steps=10,peak=1", "unknown kind"),
    ("wsd:steps=10", "give peak"),
    ("wsd:steps=10,peak=lots", "is not a number"),
    ("wsd:steps=10,peak=1e-3,wiggle=2", "unexpected keyword"),
    ("wsd:steps=10,peak=1e-3,shape=zigzag", "cooldown shape"),
    ("cosine:steps=10,peak=1e-3,warmup=20", "warmup must be"),
    ("wsd:steps=100,peak=1e-3,cooldown=0.5,shape=exp", "positive final"),
])
def test_bad_specs(spec, message):
    with pytest.raises(sl.ScalingLawsError, match=message):
        parse_schedule(spec)


def test_schedules_refuse_bad_values():
    with pytest.raises(sl.ScalingLawsError, match="finite and >= 0"):
        from_array([1e-3, np.nan])
    with pytest.raises(sl.ScalingLawsError, match="no positive learning rate"):
        from_array([0.0, 0.0])
    with pytest.raises(sl.ScalingLawsError, match="momentum"):
        annealing_area(LR10, 1.0)


def test_rebuilding_from_a_sparse_log():
    exact = wsd(2000, 1e-3, cooldown=0.2, warmup=100)
    logged = np.arange(0, 2000, 50)
    rebuilt = from_log(logged, exact.lr[logged], total_steps=2000, name="run")
    assert rebuilt.source == "interpolated" and rebuilt.steps == 2000
    # piecewise linear, logged at its corners except the warmup end: exact away from the corners
    np.testing.assert_allclose(rebuilt.lr[200:1600], exact.lr[200:1600], rtol=1e-12)
    assert np.all(rebuilt.lr[1950:] == exact.lr[1950])  # after the last log: held at its value (documented)
    assert np.max(np.abs(rebuilt.lr[:1950] - exact.lr[:1950])) <= 50 * 1e-3 / 400 + 1e-15  # one log interval
    with pytest.raises(sl.ScalingLawsError, match="logged twice"):
        from_log([0, 10, 10], [1e-3, 1e-3, 1e-3])
