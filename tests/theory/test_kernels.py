import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kernelcap.theory.kernels import (
    centered_alignment,
    decoupled_decay_term,
    kernel_machine_prediction,
    kernel_regression,
    linearized_prediction,
    nngp_kernel,
    ntk_kernel,
)
from tests.theory._contract import assert_checks_arguments, assert_checks_choice

ACT = st.sampled_from(["relu", "erf", "identity"])


def _x(seed, n=6, d=3):
    return np.random.default_rng(seed).normal(size=(n, d))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    depth=st.integers(0, 4),
    act=ACT,
    w=st.floats(0.5, 2.0),
    b=st.floats(0.0, 1.0),
)
def test_kernels_symmetric_psd(seed, depth, act, w, b):
    x = _x(seed)
    for fn in (nngp_kernel, ntk_kernel):
        k = fn(x, depth=depth, activation=act, w_std=w, b_std=b)
        assert np.allclose(k, k.T, atol=1e-12)
        assert np.linalg.eigvalsh(k).min() > -1e-9 * np.abs(k).max()
        assert np.allclose(fn(x, x, depth=depth, activation=act, w_std=w, b_std=b), k)


def test_identity_ntk_is_depth_plus_one_times_linear_kernel():
    x = _x(0)
    lin = x @ x.T / 3
    assert np.allclose(ntk_kernel(x, depth=2, activation="identity"), 3 * lin)
    assert np.allclose(nngp_kernel(x, depth=2, activation="identity"), lin)


def test_relu_reference_values():
    # orthogonal inputs with σ_w²·x·x/d = 1: Σ² keeps the diagonal at 1 and maps 0 to 1/π
    x = np.eye(2)
    k = nngp_kernel(x, depth=1, activation="relu", w_std=np.sqrt(2))
    assert np.allclose(k, [[1, 1 / np.pi], [1 / np.pi, 1]])
    th = ntk_kernel(x, depth=1, activation="relu", w_std=np.sqrt(2))
    assert np.allclose(th, [[2, 1 / np.pi], [1 / np.pi, 2]])  # Θ² = 2·E[step²]·Σ¹ + Σ²


def test_linearized_prediction_matches_explicit_recursion():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 3))
    xt = rng.normal(size=(4, 3))
    k = ntk_kernel(x, depth=2)
    kt = ntk_kernel(xt, x, depth=2)
    y, f0, f0t = rng.normal(size=8), 0.1 * rng.normal(size=8), 0.1 * rng.normal(size=4)
    f, ft = f0.copy(), f0t.copy()
    lr = 0.7
    for _ in range(25):
        r = f - y
        f, ft = f - lr / 8 * k @ r, ft - lr / 8 * kt @ r
    out = linearized_prediction(k, kt, y, f0, f0t, lr, 25)
    assert np.allclose(out["train"], f) and np.allclose(out["test"], ft)
    many = linearized_prediction(k, kt, y, f0, f0t, lr, np.array([0, 25]))
    assert np.allclose(many["test"][0], f0t) and np.allclose(many["test"][1], ft)


def test_kernel_regression_interpolates_and_is_long_time_limit():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 3))
    k = ntk_kernel(x, depth=1, b_std=0.1)
    y = rng.normal(size=6)
    assert np.allclose(kernel_regression(k, k, y), y, atol=1e-8)
    out = linearized_prediction(k, k, y, np.zeros(6), np.zeros(6), 0.5, 200_000)
    assert np.allclose(out["test"], kernel_regression(k, k, y), atol=1e-6)


def test_centered_alignment_bounds():
    k = ntk_kernel(_x(3), depth=1)
    assert centered_alignment(k, 3 * k) == pytest.approx(1.0)
    y = np.arange(6.0)
    assert -1 <= centered_alignment(k, np.outer(y, y)) <= 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(activation="tanh"), "activation"),
        (dict(depth=-1), "depth"),
        (dict(w_std=0.0), "w_std"),
        (dict(b_std=-1.0), "b_std"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ntk_kernel(_x(0), **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="feature dimension"):
        ntk_kernel(_x(0, d=3), _x(1, d=4))
    x = _x(0)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="x1"):
        nngp_kernel(x)
    with pytest.raises(TypeError):
        nngp_kernel("abc")


# --- stability over the whole float range (issue 12, part 6) -------------------------------------


def _diag_reference(x, depth, act, w, b):
    """Θ(x, x) from the one-dimensional recursion on the diagonal (θ = 0 exactly)."""
    w2, b2 = w * w, b * b
    q = w2 * np.sum(x * x, axis=1) / x.shape[1] + b2
    th = q.copy()
    for _ in range(depth):
        if act == "relu":
            e_phi, e_dphi = q / 2, 0.5
        elif act == "erf":
            e_phi = 2 / np.pi * np.arcsin(2 * q / (1 + 2 * q))
            e_dphi = 4 / np.pi / np.sqrt(1 + 4 * q)
        else:
            e_phi, e_dphi = q, 1.0
        q = w2 * e_phi + b2
        th = w2 * e_dphi * th + q
    return th


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), depth=st.integers(1, 5), act=ACT, b=st.floats(0.0, 1.0))
def test_a_point_paired_with_itself_matches_the_diagonal_recursion(seed, depth, act, b):
    # arccos(q12/√(q1q2)) near 1 gave θ ~ 1e-8 for x paired with itself: ReLU NTK off by ~1e-8.
    x = _x(seed, n=5, d=4)
    ref = _diag_reference(x, depth, act, 1.3, b)
    assert np.allclose(
        np.diag(ntk_kernel(x, depth=depth, activation=act, w_std=1.3, b_std=b)),
        ref,
        rtol=1e-14,
        atol=0,
    )
    twin = ntk_kernel(x, x.copy(), depth=depth, activation=act, w_std=1.3, b_std=b)
    assert np.allclose(np.diag(twin), ref, rtol=1e-14, atol=0)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(-400, 500),
    depth=st.integers(0, 4),
    act=st.sampled_from(["relu", "identity"]),
)
@example(seed=0, k=499, depth=1, act="relu")  # |x| ~ 1e150: x·x' overflowed to inf
def test_homogeneous_kernels_scale_exactly_over_the_float_range(seed, k, depth, act):
    # ReLU and identity kernels with σ_b = 0 are homogeneous of degree 2 in x.
    x = _x(seed, n=4, d=3)
    base = ntk_kernel(x, depth=depth, activation=act)
    scaled = ntk_kernel(np.ldexp(x, k), depth=depth, activation=act)
    assert np.all(np.isfinite(scaled))
    assert np.allclose(scaled, np.ldexp(base, 2 * k), rtol=1e-13, atol=0)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(-440, -170),  # outputs ~4^k stay above the subnormal range
    depth=st.integers(1, 4),
    b=st.sampled_from([0.0, 0.5]),
)
@example(seed=1, k=-400, depth=2, b=0.0)  # √(q1q2) underflowed to 0: the kernel came out 0
def test_erf_kernels_become_linear_for_tiny_inputs(seed, k, depth, b):
    # erf(u) = (2/√π)(u + O(u³)): at |x| ~ 2^k the kernel is its linearisation to ~4^k relative.
    x = _x(seed, n=4, d=3)
    small = ntk_kernel(np.ldexp(x, k), depth=depth, activation="erf", b_std=b)
    smaller = ntk_kernel(np.ldexp(x, k - 40), depth=depth, activation="erf", b_std=b)
    if b == 0:  # homogeneous of degree 2 in the linear regime
        assert np.allclose(np.ldexp(small, -2 * k), np.ldexp(smaller, -2 * (k - 40)), rtol=1e-13)
    else:  # the input no longer matters beside σ_b
        assert np.allclose(small, smaller, rtol=1e-13)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    log_scale=st.floats(-300, 300),
    depth=st.integers(0, 4),
    act=ACT,
    b=st.floats(0.0, 1.0),
)
def test_kernels_are_finite_or_refused_with_overflow_error(seed, log_scale, depth, act, b):
    x = _x(seed, n=4, d=3) * 10.0**log_scale
    x[1] = x[0] * (1 + 1e-12)  # a near-duplicate
    try:
        theta = ntk_kernel(x, depth=depth, activation=act, b_std=b)
        sigma = nngp_kernel(x, depth=depth, activation=act, b_std=b)
    except OverflowError:
        # only when the kernel itself is beyond float64: |x|² ≳ 1e308 (erf's Θ grows like |x|)
        assert act != "erf" or depth == 0
        assert log_scale > 150
        return
    assert np.all(np.isfinite(theta)) and np.all(np.isfinite(sigma))
    root = np.sqrt(np.diag(theta))
    scale = np.outer(root, root)
    assert np.all(np.abs(theta - theta.T) <= 1e-12 * scale)
    assert np.all(np.diag(theta) >= 0)


def test_kernels_against_high_precision_references():
    """Cases where the float recursion lost digits or gave NaN/inf, against mpmath (60-700 digits).

    Near-duplicate and antiparallel inputs, a zero row, and |x| up to 1e150 for relu and erf.
    """
    mp = pytest.importorskip("mpmath")

    def reference(x, depth, act, w, b, dps):
        mp.mp.dps = dps
        w2, b2 = mp.mpf(w) ** 2, mp.mpf(b) ** 2
        rows = [[mp.mpf(float(v)) for v in r] for r in x]
        d = len(rows[0])
        out = []
        for u in rows:
            line = []
            for v in rows:
                dot = lambda p, q: mp.fsum(s * t for s, t in zip(p, q))  # noqa: E731
                q1, q2, q12 = (w2 * dot(p, q) / d + b2 for p, q in ((u, u), (v, v), (u, v)))
                th = q12
                for _ in range(depth):
                    if act == "relu":
                        n = mp.sqrt(q1 * q2)
                        c = max(min(q12 / n, 1), -1) if n > 0 else mp.mpf(0)
                        t = mp.acos(c)
                        ephi = n / (2 * mp.pi) * (mp.sin(t) + (mp.pi - t) * c)
                        edphi, d1, d2 = (mp.pi - t) / (2 * mp.pi), q1 / 2, q2 / 2
                    else:
                        a = (1 + 2 * q1) * (1 + 2 * q2)
                        ephi = 2 / mp.pi * mp.asin(2 * q12 / mp.sqrt(a))
                        edphi = 4 / mp.pi / mp.sqrt(a - 4 * q12**2)
                        d1 = 2 / mp.pi * mp.asin(2 * q1 / (1 + 2 * q1))
                        d2 = 2 / mp.pi * mp.asin(2 * q2 / (1 + 2 * q2))
                    q12 = w2 * ephi + b2
                    th = w2 * edphi * th + q12
                    q1, q2 = w2 * d1 + b2, w2 * d2 + b2
                line.append(float(th))
            out.append(line)
        return np.array(out)

    rng = np.random.default_rng(11)
    for scale, dps in ((1.0, 60), (1e8, 80), (1e150, 700), (3e-121, 600)):
        x = rng.normal(size=(4, 3)) * scale
        x[1] = x[0] * (1 + 1e-13 * rng.normal(size=3))  # near-duplicate
        x[2] = -x[0] * (1 + 1e-9)  # antiparallel
        x[3] = 0.0
        for act in ("relu", "erf"):
            for b in (0.0, 0.4):
                ref = reference(x, 3, act, 1.2, b, dps)
                got = ntk_kernel(x, depth=3, activation=act, w_std=1.2, b_std=b)
                root = np.sqrt(np.diag(ref))
                norm = np.outer(root, root) + 1e-300
                assert np.max(np.abs(got - ref) / norm) < 1e-13, (scale, act, b)


def test_overflow_is_refused_and_alignment_is_scale_free():
    x = np.array([[1e200, 0.0], [0.0, 1e200]])
    with pytest.raises(OverflowError, match="float64"):
        ntk_kernel(x, depth=1)
    assert np.all(np.isfinite(ntk_kernel(x, depth=2, activation="erf")))
    k = ntk_kernel(_x(3), depth=1)
    for s in (1e-300, 1e300):  # sums of squares underflowed ("a zero kernel") / overflowed (NaN)
        assert centered_alignment(s * k, k) == pytest.approx(1.0)


def test_linearized_prediction_with_tiny_steps_and_divergence():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(6, 3))
    k = ntk_kernel(x, depth=1)
    y, z = rng.normal(size=6), np.zeros(6)
    # η = 1e-12 for 1e12 steps is gradient flow for time 1: 1 − (1 − ηλ/n) dropped ηλ/n (sum 0)
    tiny = linearized_prediction(k, k, y, z, z, 1e-12, 10**12)["test"]
    flow = linearized_prediction(k, k, y, z, z, 1e-3, 10**3)["test"]
    assert np.allclose(tiny, flow, rtol=1e-3) and np.abs(tiny).max() > 1e-3
    with pytest.raises(OverflowError, match="diverges"):
        linearized_prediction(k, k, y, z, z, 1e3, 10**6)


@pytest.mark.parametrize(
    "fn, kwargs, none_ok",
    [
        (ntk_kernel, dict(x1=_x(0), x2=_x(1), depth=2, w_std=1.0, b_std=0.1), ("x2",)),
        (nngp_kernel, dict(x1=_x(0), x2=_x(1), depth=2, w_std=1.0, b_std=0.1), ("x2",)),
        (
            linearized_prediction,
            dict(
                ntk_train=np.eye(3),
                ntk_test_train=np.ones((2, 3)),
                y_train=np.ones(3),
                f0_train=np.zeros(3),
                f0_test=np.zeros(2),
                lr=0.1,
                steps=5,
            ),
            (),
        ),
        (
            kernel_regression,
            dict(k_train=np.eye(3), k_test_train=np.ones((2, 3)), y_train=np.ones(3), ridge=0.1),
            (),
        ),
        (centered_alignment, dict(k1=np.diag([1.0, 2.0, 3.0]), k2=np.diag([3.0, 1.0, 2.0])), ()),
        (
            kernel_machine_prediction,
            dict(f0=np.zeros((2, 3)), contributions=np.ones((2, 4, 3)), decay=0.5, rounding=0.0),
            (),
        ),
        (
            decoupled_decay_term,
            dict(outputs=np.ones((4, 2)), lr=0.1, weight_decay=1.0, degree=3),
            (),
        ),
    ],
)
def test_every_numeric_argument_refuses_bools_text_none_nan_and_inf(fn, kwargs, none_ok):
    assert_checks_arguments(fn, kwargs, list(kwargs), none_ok=none_ok)


def test_activation_is_a_checked_choice():
    assert_checks_choice(ntk_kernel, dict(x1=_x(0)), "activation")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 4), n=st.integers(0, 5), o=st.integers(1, 3))
def test_kernel_machine_prediction_sums_the_terms(seed, m, n, o):
    rng = np.random.default_rng(seed)
    f0, c = rng.normal(size=(m, o)), rng.normal(size=(m, n, o))
    w, r = rng.normal(size=(m, o)), rng.normal(size=(m, 1))
    want = f0 + c.sum(1) + w + r
    assert np.allclose(kernel_machine_prediction(f0, c, w, r), want, rtol=1e-13, atol=1e-13)
    # linear in the contributions; f0 alone when nothing moved it
    assert np.allclose(
        kernel_machine_prediction(f0, 2 * c) - f0, 2 * (kernel_machine_prediction(f0, c) - f0)
    )
    assert np.array_equal(kernel_machine_prediction(f0, np.zeros((m, n, o))), f0)
    # a scalar output per test point: f0 (M,), contributions (M, n)
    assert np.allclose(
        kernel_machine_prediction(f0[:, 0], c[:, :, 0]), want[:, 0] - w[:, 0] - r[:, 0]
    )


def test_kernel_machine_prediction_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="contributions"):
        kernel_machine_prediction(np.zeros((2, 3)), np.zeros((3, 4, 3)))
    with pytest.raises(ValueError, match="contributions"):
        kernel_machine_prediction(np.zeros((2, 3)), np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match="decay"):
        kernel_machine_prediction(np.zeros((2, 3)), np.zeros((2, 4, 3)), decay=np.zeros(2))
    with pytest.raises(ValueError, match="f0"):
        kernel_machine_prediction(1.0, np.zeros(1))


def _cubic(a, b, c):
    """f(θ) = (a·θ)(b·θ)(c·θ), homogeneous of degree 3, and its gradient."""
    f = lambda t: (a @ t) * (b @ t) * (c @ t)  # noqa: E731
    g = lambda t: a * (b @ t) * (c @ t) + b * (a @ t) * (c @ t) + c * (a @ t) * (b @ t)  # noqa: E731
    return f, g


def _decay_run(seed, lam, scale, time=0.25):
    """Normalised GD with decoupled decay on ½(f − 1)², f(θ) = (a·θ)(b·θ)(c·θ), for a fixed time
    Σ_s η_s: the outputs along the path and c_w = Σ_s −η_s λ φ_s·θ_s with φ_s by 2-node
    Gauss–Legendre (exact: ∇f is quadratic along a segment)."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, 8))
    f, grad = _cubic(a, b, c)
    theta = rng.normal(size=8)
    steps = int(round(time / scale))
    eta = scale * (1 + np.cos(np.linspace(0, np.pi, steps))) / 2  # a cosine schedule
    eta *= time / eta.sum()
    nodes, weights = np.polynomial.legendre.leggauss(2)
    nodes, weights = (nodes + 1) / 2, weights / 2
    outputs, exact = [f(theta)], [0.0]
    for s in range(steps):
        g = (f(theta) - 1) * grad(theta)
        delta = -eta[s] * g / (1 + np.linalg.norm(g)) - eta[s] * lam * theta  # bounded, smooth
        phi = sum(w * grad(theta + t * delta) for t, w in zip(nodes, weights))
        exact.append(exact[-1] - eta[s] * lam * phi @ theta)
        theta = theta + delta
        outputs.append(f(theta))
    return np.array(outputs), eta, np.array(exact)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.1, 2.0))
def test_decoupled_decay_term_matches_the_segment_integral_on_a_homogeneous_model(seed, lam):
    """The formula from the outputs alone against the segment integral; its only error is the
    trapezoid rule's O(‖Δθ‖²) per step, so halving every step size quarters it at a fixed time."""
    errors = []
    for scale in (2e-3, 1e-3):
        outputs, eta, exact = _decay_run(seed, lam, scale)
        got = decoupled_decay_term(outputs, eta, lam, 3)
        assert got[0] == 0 and got.shape == outputs.shape
        errors.append(np.abs(got - exact).max() / np.abs(exact).max())
    assert errors[0] < 1e-3
    assert errors[1] < errors[0] / 3  # second order (a first-order error would only halve)


@settings(max_examples=25, deadline=None)
@given(x=st.floats(1e-4, 1e-2), degree=st.integers(1, 4), t=st.integers(1, 50))
def test_decoupled_decay_term_under_pure_decay_is_the_whole_change(x, degree, t):
    """u = 0: θ_s = (1 − ηλ)^s θ_0 and f_s = (1 − ηλ)^{Ls} f_0; the decay term is f_t − f_0 up to
    the trapezoid's O((ηλ)³) per step; it is exact for a linear model (L = 1)."""
    f = (1 - x) ** (degree * np.arange(t + 1))
    got = decoupled_decay_term(f, x, 1.0, degree)
    scale = degree**3 * x**3 * t + 1e-15
    assert np.all(np.abs(got - (f - 1)) <= scale)
    if degree == 1:
        assert np.allclose(got, f - 1, rtol=1e-12, atol=1e-15)


def test_decoupled_decay_term_signs_shapes_and_arguments():
    out = np.array(
        [[-1.0, 2.0], [-1.0, 2.0], [-1.0, 2.0]]
    )  # (T+1, 2): a negative, a positive output
    c = decoupled_decay_term(out, 0.1, 1.0, 3)
    assert c.shape == out.shape and np.all(c[0] == 0)
    assert np.all(c[1:, 0] > 0) and np.all(c[1:, 1] < 0)  # towards zero
    assert np.allclose(c[2], -0.1 * 3 * 2 * out[0])  # −ηλL f per step for a constant output
    assert np.array_equal(decoupled_decay_term(out, 0.1, 0.0, 3), np.zeros_like(out))
    with pytest.raises(ValueError, match="lr"):
        decoupled_decay_term(out, [0.1, 0.1, 0.1], 1.0, 3)
    with pytest.raises(ValueError, match="degree"):
        decoupled_decay_term(out, 0.1, 1.0, 0)
