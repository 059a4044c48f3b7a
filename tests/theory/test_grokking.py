import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kernelcap.theory import grokking as th


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
    nonzero = e.sum(-1) > 0
    assert np.all(np.isnan(k[~nonzero]))
    assert np.all((k[nonzero] >= 1 - 1e-9) & (k[nonzero] <= e.shape[-1] + 1e-9))


def test_effective_frequency_count_flat_and_bad_input():
    assert th.effective_frequency_count(np.ones(12)) == pytest.approx(12)
    with pytest.raises(ValueError):
        th.effective_frequency_count([1.0, -1.0])


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
