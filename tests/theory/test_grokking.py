import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kernelcap.theory import grokking as th
from tests.theory._contract import assert_checks_arguments, log_uniform


@given(st.floats(0.1, 100), st.floats(1e-4, 1e-2), st.floats(0, 10), st.integers(0, 10_000))
@settings(max_examples=50, deadline=None)
def test_norm_decay_matches_exponential_and_is_monotone(w0, lr, wd, t):
    w = th.weight_norm_decay(w0, lr, wd, t)
    assert w <= w0 + 1e-12
    assert w == pytest.approx(w0 * np.exp(-lr * wd * t), rel=t * (lr * wd) ** 2 + 1e-9)


def test_grokking_time_inverts_decay_and_scales_as_inverse_lambda():
    t = th.grokking_time(30.0, 10.0, 1e-3, np.array([0.5, 1.0, 2.0]))
    assert t.shape == (3,)
    assert t * np.array([0.5, 1.0, 2.0]) == pytest.approx(np.full(3, np.log(3) / 1e-3))
    assert th.weight_norm_decay(30.0, 1e-3, 1.0, t[1]) == pytest.approx(10.0, rel=1e-3)
    assert th.grokking_time_exponent() == pytest.approx(-1.0)
    assert isinstance(th.grokking_time(2.0, 1.0, 1e-3, 1.0), float)


@pytest.mark.parametrize("p", [7, 23, 31, 113])
def test_fourier_solution_is_correct_and_sparse(p):
    freqs = np.array([1, 3, (p - 1) // 2])
    logits = th.fourier_solution_logits(p, freqs)
    r = np.arange(p)
    assert np.array_equal(logits.argmax(-1), (r[:, None] + r[None, :]) % p)
    e = th.fourier_energy(th.fourier_solution_embedding(p, freqs))
    assert set(np.flatnonzero(e > 1e-9) + 1) == set(freqs.tolist())
    assert th.top_k_energy_fraction(e, len(set(freqs.tolist()))) == pytest.approx(1.0)


def test_random_embedding_is_near_flat():
    rng = np.random.default_rng(0)
    e = th.fourier_energy(rng.standard_normal((31, 4000)))
    assert th.top_k_energy_fraction(e, 3) == pytest.approx(
        th.uniform_top_k_fraction(31, 3), abs=0.02
    )
    assert e.shape == (15,)


def test_fourier_energy_parseval():
    w = np.random.default_rng(1).standard_normal((2, 11, 5))
    w -= w.mean(-2, keepdims=True)
    assert th.fourier_energy(w).sum(-1) == pytest.approx(11 * (w**2).sum((-2, -1)))


@pytest.mark.parametrize(
    "call",
    [
        lambda: th.weight_norm_decay(-1, 1e-3, 1, 10),
        lambda: th.weight_norm_decay(1, 0, 1, 10),
        lambda: th.weight_norm_decay(1, 1, 1, 10),
        lambda: th.grokking_time(np.nan, 1, 1e-3, 1),
        lambda: th.grokking_time(1, 1, 1e-3, 0),
        lambda: th.fourier_solution_embedding(31, [16]),
        lambda: th.fourier_solution_embedding(2, [1]),
        lambda: th.top_k_energy_fraction([1.0, 2.0], 3),
        lambda: th.uniform_top_k_fraction(31, 0),
        lambda: th.fourier_energy(np.ones(5)),
    ],
)
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()


@given(st.integers(3, 40).filter(lambda p: p % 2 == 1), st.data())
def test_effective_frequency_count_counts_the_key_frequencies_of_the_trig_solution(p, data):
    m = (p - 1) // 2
    freqs = data.draw(st.lists(st.integers(1, m), min_size=1, max_size=m, unique=True))
    e = th.fourier_energy(th.fourier_solution_embedding(p, freqs))
    assert np.isclose(th.effective_frequency_count(e), len(freqs))
    assert np.isclose(th.effective_frequency_count(7.5 * e), len(freqs))


@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(1, 30)),
        elements=st.floats(0, 1e6, allow_subnormal=False),
    )
)
def test_effective_frequency_count_is_between_one_and_m(e):
    k = th.effective_frequency_count(e)
    nonzero = np.any(e > 0, axis=-1)
    assert np.all(np.isnan(k[~nonzero]))
    assert np.all((k[nonzero] >= 1 - 1e-9) & (k[nonzero] <= e.shape[-1] + 1e-9))


def test_effective_frequency_count_flat_and_bad_input():
    assert th.effective_frequency_count(np.ones(12)) == pytest.approx(12)
    with pytest.raises(ValueError):
        th.effective_frequency_count([1.0, -1.0])


# --- stability over the whole float range (issue 12, part 6) -------------------------------------

wide = log_uniform(-300, 300)


@given(wm=wide, wg=wide, lr=wide, wd=wide)
@example(wm=1e-300, wg=1e300, lr=1e-3, wd=1.0)  # w_mem/w_gen underflowed: ln 0 = −inf
@example(wm=1e-300, wg=1e-300, lr=1e-300, wd=1e-300)  # ηλ underflowed: 0/0 = NaN
@example(wm=0.01, wg=10.0 ** (-2.00001), lr=1.0, wd=1e-05)  # ln of a rounded ratio near 1
def test_grokking_time_is_finite_or_refused_and_antisymmetric(wm, wg, lr, wd):
    try:
        t = th.grokking_time(wm, wg, lr, wd)
    except OverflowError:
        log_t = math.log(abs(math.log(wm) - math.log(wg))) - math.log(lr) - math.log(wd)
        assert log_t > math.log(np.finfo(float).max) - 1e-9
        return
    assert np.isfinite(t)
    assert th.grokking_time(wg, wm, lr, wd) == pytest.approx(-t, rel=1e-12)
    assert (t > 0) == (wm > wg) or t == 0


@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 12)),
        elements=st.one_of(st.just(0.0), st.floats(1e-300, 1.7e308)),
    ),
    st.integers(1, 12),
)
def test_top_k_fraction_is_in_the_unit_interval_for_any_magnitude(e, k):
    k = min(k, e.shape[-1])
    frac = th.top_k_energy_fraction(e, k)
    nonzero = np.any(e > 0, axis=-1)
    assert np.all(np.isnan(np.asarray(frac)[~nonzero]))
    f = np.asarray(frac)[nonzero]
    assert np.all((f >= k / e.shape[-1] - 1e-12) & (f <= 1 + 1e-12))


def test_fourier_energy_overflow_is_refused():
    assert np.all(np.isfinite(th.fourier_energy(np.full((5, 2), 1e150) * np.arange(5)[:, None])))
    with pytest.raises(OverflowError, match="fourier_energy"):
        th.fourier_energy(np.full((5, 2), 1e300) * np.arange(5)[:, None])


@pytest.mark.parametrize(
    "fn, kwargs",
    [
        (th.weight_norm_decay, dict(w0=1.0, lr=1e-3, weight_decay=1.0, t=10)),
        (
            th.grokking_time,
            dict(norm_memorizing=3.0, norm_generalizing=1.0, lr=1e-3, weight_decay=1.0),
        ),
        (th.fourier_energy, dict(embedding=np.ones((5, 2)))),
        (th.top_k_energy_fraction, dict(energy=[1.0, 2.0, 3.0], k=2)),
        (th.effective_frequency_count, dict(energy=[1.0, 2.0, 3.0])),
        (th.uniform_top_k_fraction, dict(p=31, k=3)),
        (th.fourier_solution_embedding, dict(p=31, frequencies=[1, 3])),
        (th.fourier_solution_logits, dict(p=7, frequencies=[1, 3])),
    ],
)
def test_every_numeric_argument_refuses_bools_text_none_nan_and_inf(fn, kwargs):
    assert_checks_arguments(fn, kwargs, list(kwargs))


@pytest.mark.parametrize("p,d,k", [(23, 4, 3), (31, 64, 4), (31, 1, 1)])
def test_random_top_k_fraction_follows_the_dirichlet_law(p, d, k):
    draws = th.random_top_k_energy_fraction(p, d, k, n_draws=2000, seed=1)
    m = (p - 1) // 2
    assert draws.shape == (2000,) and np.all((draws >= k / m - 1e-12) & (draws <= 1 + 1e-12))
    # independent computation: the normalised spectrum is Dirichlet(d, …, d) over the m frequencies
    g = np.random.default_rng(7).gamma(d, size=(20000, m))
    ref = -np.sort(-g, -1)[:, :k].sum(-1) / g.sum(-1)
    se = np.hypot(draws.std() / np.sqrt(draws.size), ref.std() / np.sqrt(ref.size))
    assert abs(draws.mean() - ref.mean()) < 4 * se
    assert draws.std() == pytest.approx(ref.std(), rel=0.1)
    assert np.array_equal(draws, th.random_top_k_energy_fraction(p, d, k, n_draws=2000, seed=1))


def test_random_top_k_fraction_approaches_the_flat_spectrum_as_d_grows():
    flat = th.uniform_top_k_fraction(31, 4)
    narrow, wide = (
        th.random_top_k_energy_fraction(31, d, 4, n_draws=200).mean() for d in (8, 2000)
    )
    assert narrow > wide > flat and wide - flat < 0.1 * (narrow - flat)


def test_random_layer_fraction_matches_monte_carlo():
    n, k, h = 30, 3, 64
    law = th.random_layer_fraction(n, k, h)
    assert law.mean == pytest.approx(k / n)
    w = np.random.default_rng(0).standard_normal((4000, n, h))
    m = np.square(w).sum(-1)
    f = m[:, :k].sum(-1) / m.sum(-1)
    assert f.mean() == pytest.approx(k / n, abs=4 * law.sd / np.sqrt(f.size))
    assert f.std() == pytest.approx(law.sd, rel=0.05)
    assert (m.sum(-1) ** 2 / np.square(m).sum(-1)).mean() == pytest.approx(
        law.active_bits, rel=0.01
    )
    assert th.random_layer_fraction(5, 5, 8).mean == 1.0


@given(st.integers(1, 40), st.data())
def test_sparse_parity_solution_puts_all_mass_on_the_relevant_bits(n, data):
    rel = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    mass = th.sparse_parity_solution_mass(n, rel)
    assert mass.shape == (n,) and mass.sum() == pytest.approx(1.0)
    assert mass[rel].sum() == pytest.approx(1.0)
    assert th.effective_frequency_count(mass) == pytest.approx(len(rel))  # k active bits


@pytest.mark.parametrize(
    "call",
    [
        lambda: th.random_layer_fraction(30, 0, 64),
        lambda: th.random_layer_fraction(30, 31, 64),
        lambda: th.random_layer_fraction(30, 3, 0),
        lambda: th.random_layer_fraction(1.5, 1, 64),
        lambda: th.random_top_k_energy_fraction(31, 8, 16),
        lambda: th.random_top_k_energy_fraction(30, 8, 2),
        lambda: th.random_top_k_energy_fraction(31, 0, 2),
        lambda: th.sparse_parity_solution_mass(5, [5]),
        lambda: th.sparse_parity_solution_mass(5, [1, 1]),
        lambda: th.sparse_parity_solution_mass(5, []),
    ],
)
def test_null_laws_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()
