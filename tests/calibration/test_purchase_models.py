"""The purchase models near the edges of parameter space: the vectorised, overflow-free
evaluation of the Pareto/NBD likelihood and of the BG/NBD expectation agrees with per-row
adaptive quadrature; fits that run to a boundary stop there and say so; a forced model is the
only one fitted."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate, special

from retention_sim.calibration import calibrate as C
from retention_sim.calibration import fitting as F
from retention_sim.calibration import hypergeometric as H
from retention_sim.calibration import purchase_models as PM

from .test_transactions import CDNOW


# ----------------------------------------------------------------------------- references
def _quad_log_a0(r, alpha, s, beta, x, t_x, T, *, stable=False):
    """``ln A0`` row by row as the fallback before the vectorised path did it (adaptive
    quadrature scaled to 1 at ``y = t_x``); NaN where quad's error estimate exceeds 1e-9 of
    the value (round-off warnings, which its estimate already reflects, are ignored).
    ``stable``: instead ``ln J``, the integral of the integrand written relative to its value
    at ``y = t_x`` (``log1p``), which keeps its digits when ``s`` or ``r + x`` is huge."""
    out = np.full(x.size, np.nan)
    for i in range(x.size):
        ri = r + x[i]
        a0, b0 = alpha + t_x[i], beta + t_x[i]
        top = -ri * np.log(a0) - (s + 1.0) * np.log(b0)

        def f(y, ri=ri, top=top, a0=a0, b0=b0, y0=t_x[i]):
            if stable:
                return np.exp(-ri * np.log1p((y - y0) / a0) - (s + 1.0) * np.log1p((y - y0) / b0))
            return np.exp(-ri * np.log(alpha + y) - (s + 1.0) * np.log(beta + y) - top)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            val, err = integrate.quad(f, t_x[i], T[i], limit=400, epsabs=0.0, epsrel=1e-12)
        if val > 0 and err < 1e-9 * val:
            out[i] = np.log(val) + (0.0 if stable else top + np.log(r + s + x[i]))
    return out


def _quad_loglik(params, x, t_x, T, *, stable=False):
    """The Pareto/NBD log-likelihood with ``A0`` from :func:`_quad_log_a0`: as the module had
    it, or (``stable``) with every term relative to ``y = t_x``."""
    r, alpha, s, beta = params
    if stable:
        log_j = _quad_log_a0(r, alpha, s, beta, x, t_x, T, stable=True)
        rising = (
            special.gammaln(r + x) - special.gammaln(r)
            if r < 1e4
            else np.array([np.sum(np.log(r + np.arange(k))) for k in x.astype(int)])
        )
        head = rising - r * np.log1p(t_x / alpha) - x * np.log(alpha + t_x)
        head = head - s * np.log1p(t_x / beta)
        alive = -(r + x) * np.log1p((T - t_x) / (alpha + t_x))
        alive = alive - s * np.log1p((T - t_x) / (beta + t_x))
        return head + np.logaddexp(alive, np.log(s) + log_j - np.log(beta + t_x))
    head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    a0 = _quad_log_a0(r, alpha, s, beta, x, t_x, T)
    dead = np.log(s) - np.log(r + s + x) + a0
    with np.errstate(invalid="ignore"):  # NaN where quad did not reach its tolerance
        return head + np.logaddexp(alive, dead)


def _closed_log_a0(r, alpha, s, beta, x, t_x, T):
    """``ln A0`` by the Gauss hypergeometric function alone (no fallback)."""
    K = r + s + x
    bb, c, d = (s + 1.0, alpha, alpha - beta) if alpha >= beta else (r + x, beta, beta - alpha)
    with np.errstate(all="ignore"):
        l1 = np.log(special.hyp2f1(K, bb, K + 1.0, d / (c + t_x))) - K * np.log(c + t_x)
        l2 = np.log(special.hyp2f1(K, bb, K + 1.0, d / (c + T))) - K * np.log(c + T)
        return l1 + np.log(-np.expm1(l2 - l1))


def _quad_bg_alive(R, A, a, b, t):
    """``E_p[(1 − (A/(A+pt))^R)/p]``, ``p ~ Beta(a, b)``: adaptive quadrature in ``logit p`` of
    the density times the integrand and of the density, breaking at the mode."""
    c = t / A
    mode = np.log(a / b)

    def log_density(th):
        return -a * np.logaddexp(0, -th) - b * np.logaddexp(0, th)

    def log_h(th):
        log_p = -np.logaddexp(0, -th)
        y = R * np.log1p(c * np.exp(log_p))
        if y < 1e-12:  # (1 − e^−y)/p → R c
            return np.log(R * c) + np.log1p(-0.5 * (R + 1.0) * c * np.exp(log_p))
        return np.log(-np.expm1(-y)) - log_p

    width = 60.0 / np.sqrt(a * b / (a + b)) + 60.0 / min(a, b)
    lo, hi = mode - width, mode + width
    top = log_density(mode)
    kw = {"points": [mode], "limit": 2000, "epsabs": 0.0, "epsrel": 1e-13}
    with warnings.catch_warnings():  # round-off: its answer is still good to ~1e-12
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        num = integrate.quad(lambda th: np.exp(log_density(th) - top + log_h(th)), lo, hi, **kw)
        den = integrate.quad(lambda th: np.exp(log_density(th) - top), lo, hi, **kw)
    return num[0] / den[0]


def _rows(rng, n, x_max):
    x = rng.integers(0, x_max, n).astype(float)
    T = rng.uniform(0.5, 300.0, n)
    t_x = np.where(x > 0, T * rng.uniform(0.0, 1.0, n), 0.0)
    return x, t_x, T


NEAR_BOUNDARY = [
    # s, beta -> infinity together: every customer has the same dropout rate
    (0.8, 7.0, 1e4, 1e6),
    (0.5, 3.0, 1e6, 1e8),
    (2.0, 30.0, 1e7, 1e8),
    (0.7, 10.0, 3e5, 3e6),
    # r, alpha -> infinity together: the same purchase rate for everyone
    (1e5, 1e6, 0.8, 100.0),
    # alpha << beta and many purchases (the case the old fallback was written for)
    (0.49, 0.0566, 0.0755, 10.4),
]


# ----------------------------------------------------------------------------- Pareto/NBD
@pytest.mark.parametrize("params", NEAR_BOUNDARY)
@pytest.mark.parametrize("stable", [False, True], ids=["old-integrand", "stable-integrand"])
def test_pareto_nbd_loglik_agrees_with_per_row_quadrature_near_the_boundary(params, stable):
    """Against the old fallback's quadrature where it reaches its tolerance, and against the
    same quadrature of the integrand written stably (every row). (At s = 1e8 the likelihood
    itself, a sum of terms near s ln beta ~ 2e9, has only ~1e-7 left in any evaluation;
    ``A0`` there is checked in the next test.)"""
    rng = np.random.default_rng(NEAR_BOUNDARY.index(params))
    x, t_x, T = _rows(rng, 80, 400)
    ours = PM.pareto_nbd_loglik(params, x, t_x, T)
    theirs = _quad_loglik(params, x, t_x, T, stable=stable)
    both = np.isfinite(theirs)
    assert np.isfinite(ours).all()
    assert both.sum() >= (75 if stable else 10)
    rel = np.abs(ours[both] - theirs[both]) / np.maximum(np.abs(theirs[both]), 1.0)
    assert rel.max(initial=0.0) < 1e-8, rel.max()


def test_the_quadrature_agrees_with_per_row_quadrature_on_random_rows():
    """All rows through the vectorised quadrature (also where ₂F₁ would have been used), at
    random parameters from moderate to near-boundary, against adaptive quadrature."""
    rng = np.random.default_rng(17)
    worst = 0.0
    for _ in range(30):
        r, alpha = np.exp(rng.uniform(-3, 3, 2))
        s = np.exp(rng.uniform(-3, np.log(1e8)))
        beta = s / np.exp(rng.uniform(-8, 0))  # hazard s/beta between e^-8 and 1
        x, t_x, T = _rows(rng, 10, rng.choice([20, 2000]))
        keep = T > t_x
        x, t_x, T = x[keep], t_x[keep], T[keep]
        ours = H.log_power_integral(r + x, alpha + t_x, s + 1.0, beta + t_x, T - t_x, scaled=True)
        theirs = _quad_log_a0(r, alpha, s, beta, x, t_x, T, stable=True)
        both = np.isfinite(theirs)
        rel = np.abs(ours[both] - theirs[both]) / np.maximum(np.abs(theirs[both]), 1.0)
        worst = max(worst, float(rel.max(initial=0.0)))
    assert worst < 1e-9, worst


def test_overflowing_rows_go_through_one_vectorised_quadrature(monkeypatch):
    """Where ₂F₁ overflows (it would leave inf or NaN), every such row is integrated in one
    call, and the likelihood is finite and right."""
    params = (0.5, 3.0, 1e6, 1e8)
    rng = np.random.default_rng(5)
    x, t_x, T = _rows(rng, 200, 60)
    closed = _closed_log_a0(*params, x, t_x, T)
    assert (~np.isfinite(closed[T > t_x])).sum() > 100  # the closed form alone fails here
    calls: list[int] = []
    real = PM.log_power_integral

    def counted(*args, **kwargs):
        calls.append(np.size(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(PM, "log_power_integral", counted)
    ll = PM.pareto_nbd_loglik(params, x, t_x, T)
    assert np.isfinite(ll).all()
    assert len(calls) == 1 and calls[0] >= (~np.isfinite(closed[T > t_x])).sum()
    some = np.flatnonzero(~np.isfinite(closed) & (T > t_x))[:20]
    theirs = _quad_loglik(params, x[some], t_x[some], T[some], stable=True)
    assert np.isfinite(theirs).all()
    np.testing.assert_allclose(ll[some], theirs, rtol=1e-8, atol=1e-8)


def test_the_closed_form_is_kept_where_it_is_well_conditioned():
    """On the published CDNOW fit the likelihood is the ₂F₁ closed form, unchanged."""
    x, t_x, T = _rows(np.random.default_rng(2), 500, 30)
    params = (0.553, 10.578, 0.606, 11.669)
    ours = PM._pnbd_log_a0(*params, x, t_x, T)
    closed = _closed_log_a0(*params, x, t_x, T)
    span = T > t_x
    np.testing.assert_array_equal(ours[span], closed[span])


# ----------------------------------------------------------------------------- BG/NBD
def _old_jacobi(R, A, a, b, t):
    """The 64-point Gauss–Jacobi rule the BG/NBD expectation fell back on, one row."""
    nodes, weights = special.roots_jacobi(64, b - 1.0, a - 1.0)
    p = (1.0 + nodes) / 2.0
    g = -np.expm1(R * np.log(A / (A + p * t))) / p
    log_norm = (a + b - 1.0) * np.log(2.0) + special.betaln(a, b)
    return float(np.sum(weights * g) * np.exp(-log_norm))


def test_bg_expected_alive_quadrature_agrees_with_the_old_jacobi_rule():
    rng = np.random.default_rng(8)
    R, A = 0.3 + rng.integers(0, 40, 60), rng.uniform(5, 400, 60)
    a, b = rng.uniform(0.2, 5, 60), rng.uniform(0.5, 10, 60) + rng.integers(0, 40, 60)
    t = rng.uniform(1, 104, 60)
    ours = H.bg_expected_alive_quadrature(R, A, a, b, t)
    theirs = np.array([_old_jacobi(*v) for v in zip(R, A, a, b, t, strict=True)])
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


@pytest.mark.parametrize(
    "R, A, a, b, t",
    [
        (1500.2, 800.0, 0.8, 1502.4, 52.0),  # a daily buyer: ₂F₁ and Jacobi overflow
        (4000.3, 1500.0, 0.3, 4002.0, 104.0),
        (30.0, 90.0, 2e4, 3e5, 52.0),  # no heterogeneity in p (a, b large together)
        (5.0, 40.0, 1e7, 4e8, 26.0),
        (2.0, 30.0, 1.0, 3.0, 39.0),  # a = 1 (the closed form divides by a − 1)
        (0.5, 10.0, 0.01, 50.0, 52.0),  # nobody drops out: a -> 0
    ],
)
def test_bg_expected_alive_is_finite_and_right_where_the_closed_form_fails(R, A, a, b, t):
    got = float(PM.bgnbd_expected_alive(R, A, a, b, t))
    assert np.isfinite(got)
    assert got == pytest.approx(_quad_bg_alive(R, A, a, b, t), rel=1e-8)


def test_bg_expected_alive_keeps_the_closed_form_where_it_is_well_conditioned(monkeypatch):
    """Ordinary parameters never reach the quadrature: a < 1 (the product in the bracket is
    then above 1) and, for x = 0 with small a and b, a + b < 1 (it may be negative); there the
    closed form agrees with adaptive quadrature to 1e-12."""
    rows: list[int] = []
    real = PM._bg_expected_alive_quadrature

    def counted(*args):
        rows.append(np.size(args[0]))
        return real(*args)

    monkeypatch.setattr(PM, "_bg_expected_alive_quadrature", counted)
    rng = np.random.default_rng(11)
    x = rng.integers(0, 20, 400).astype(float)
    for r, alpha, a, b in [(0.2426, 4.414, 0.793, 2.426), (0.3, 6.0, 0.25, 0.6)]:
        R, A, bx = r + x, alpha + rng.uniform(1, 39, x.size), b + x
        got = PM.bgnbd_expected_alive(R, A, a, bx, 52.0)
        for i in range(0, x.size, 50):
            assert got[i] == pytest.approx(_quad_bg_alive(R[i], A[i], a, bx[i], 52.0), rel=1e-12)
    assert rows == []


def test_bg_expected_alive_series_for_short_windows():
    rng = np.random.default_rng(3)
    R, A = 0.3 + rng.integers(0, 30, 50), rng.uniform(50, 400, 50)
    a, b = np.exp(rng.uniform(-3, 10, 50)), np.exp(rng.uniform(-3, 10, 50))
    t = 0.5 * A / (R + 1.0) * rng.uniform(0.01, 1.0, 50)
    ours = H.bg_expected_alive_series(R, A, a, b, t)
    np.testing.assert_allclose(ours, H.bg_expected_alive_quadrature(R, A, a, b, t), rtol=1e-10)
    np.testing.assert_allclose(PM.bgnbd_expected_alive(R, A, a, b, t), ours, rtol=0, atol=0)


def test_bg_expected_alive_for_many_customers_at_once_is_finite():
    """Customers with up to 2,000 purchases, as in a log of daily buyers."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2000, 5000)
    out = PM.bgnbd_expected_alive(0.24 + x, 4.4 + rng.uniform(1, 700, 5000), 0.79, 2.4 + x, 52.0)
    assert np.isfinite(out).all() and (out >= 0).all()


# ----------------------------------------------------------------------------- fits
def _same_dropout(rng, n, r, alpha, hazard, T_max):
    """Pareto/NBD purchases with one dropout rate for everyone (no gamma heterogeneity)."""
    T = rng.uniform(2.0, T_max, n)
    lam = rng.gamma(r, 1.0 / alpha, n)
    life = np.minimum(rng.exponential(1.0 / hazard, n), T)
    x = rng.poisson(lam * life)
    t_x = np.where(x > 0, life * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
    return x.astype(float), t_x, T


def test_likelihood_on_an_identical_dropout_log_is_finite_at_the_boundary():
    x, t_x, T = _same_dropout(np.random.default_rng(1), 3000, 0.8, 7.0, 0.007, 104.0)
    for s in (1e3, 1e5, 1e7, np.exp(F.LOG_BOUND)):
        ll = PM.pareto_nbd_loglik((0.8, 7.0, s, s / 0.007), x, t_x, T)
        assert np.isfinite(ll).all(), s


@pytest.mark.slow
def test_pareto_nbd_fit_on_an_identical_dropout_log_finishes_and_recovers_the_rest():
    rng = np.random.default_rng(2)
    x, t_x, T = _same_dropout(rng, 3000, 0.8, 7.0, 0.007, 104.0)
    fit = PM.fit_pareto_nbd(x, t_x, T)
    p = fit.params
    assert np.isfinite(fit.loglik)
    assert p["s"] > 5.0  # little or no heterogeneity of dropout
    assert p["s"] / p["beta"] == pytest.approx(0.007, rel=0.25)
    assert p["r"] == pytest.approx(0.8, rel=0.2) and p["alpha"] == pytest.approx(7.0, rel=0.3)


def test_a_fit_rising_along_a_ridge_stops_at_the_bound():
    """A likelihood that keeps rising along a ridge (ln a − ln b = 1, as a shape and a rate
    growing together): the fit stops where a reaches the bound, says so, and estimates b
    with a held there."""
    calls = []

    def negll(v):
        calls.append(1)
        return 50.0 * (v[0] - v[1] - 1.0) ** 2 + 1.0 / (1.0 + np.logaddexp(0.0, v[1]) ** 2)

    fit = F.fit_by_likelihood("toy", ("a", "b"), negll, [(1.0, 1.0)], 100)
    assert fit.at_bound == ("a",) and not fit.converged
    assert fit.params["a"] == pytest.approx(np.exp(F.LOG_BOUND))
    assert fit.params["b"] == pytest.approx(np.exp(F.LOG_BOUND - 1.0), rel=1e-3)
    assert np.isnan(fit.se["a"]) and np.isfinite(fit.se["b"])
    assert "bound" in fit.bound_note() and fit.to_dict()["at_bound"] == ["a"]
    assert len(calls) < 5000  # no Nelder–Mead wandering along the edge


def test_a_narrower_bound_is_respected():
    fit = F.fit_by_likelihood(
        "toy",
        ("r", "b"),
        lambda v: -v[0] + (v[1] - 2.0) ** 2,
        [(1.0, 1.0)],
        10,
        bounds={"r": (1e-3, 1e6)},
    )
    assert fit.params["r"] == pytest.approx(1e6) and fit.at_bound == ("r",)
    assert fit.params["b"] == pytest.approx(np.exp(2.0), rel=1e-6)


@pytest.mark.slow
def test_a_log_without_heterogeneity_runs_to_the_bound_and_says_so():
    rng = np.random.default_rng(4)
    T = rng.uniform(2.0, 104.0, 3000)
    life = np.minimum(rng.exponential(1.0 / 0.007, 3000), T)
    x = rng.poisson(0.1 * life).astype(float)
    t_x = np.where(x > 0, life * rng.random(3000) ** (1.0 / np.maximum(x, 1)), 0.0)
    fit = PM.fit_pareto_nbd(x, t_x, T)
    assert np.isfinite(fit.loglik)
    assert fit.params["r"] / fit.params["alpha"] == pytest.approx(0.1, rel=0.05)
    assert fit.params["r"] > 100  # no heterogeneity in the purchase rate
    if fit.at_bound:
        assert not fit.converged and all(np.isnan(fit.se[k]) for k in fit.at_bound)


def test_a_fit_to_many_rows_from_a_subsample_reaches_the_same_optimum(monkeypatch):
    rng = np.random.default_rng(20240611)
    truth = (0.5, 8.0, 0.8, 3.0)
    T = rng.uniform(20, 104, size=6000)
    x, t_x = PM.simulate_bgnbd(truth, T, rng)
    full = PM.fit_bgnbd(x, t_x, T)
    monkeypatch.setattr(PM, "_WARM_ROWS", 1000)
    monkeypatch.setattr(PM, "_WARM_CUSTOMERS", 1500)
    warm = PM.fit_bgnbd(x, t_x, T)
    assert warm.converged and warm.loglik == pytest.approx(full.loglik, abs=1e-6)
    for k in full.params:
        assert abs(warm.params[k] - full.params[k]) < 1e-3 * full.se[k], k
        assert warm.se[k] == pytest.approx(full.se[k], rel=1e-3)


def test_a_forced_model_is_the_only_purchase_model_fitted(monkeypatch):
    def not_this_one(*args, **kwargs):
        raise AssertionError("the Pareto/NBD was fitted although --model bgnbd")

    monkeypatch.setitem(C._FITTERS, "pareto_nbd", not_this_one)
    cal = C.calibrate(CDNOW, until="1997-09-30", model="bgnbd", split="lifestyle")
    assert set(cal.fits) == {"bgnbd", "gamma_gamma"} and cal.selected == "bgnbd"
    assert "Pareto/NBD" in cal.describe() and "not fitted" in cal.describe()
    assert set(cal.report()["models"]) == {"bgnbd", "gamma_gamma"}
    assert any("only the BG/NBD" in n for n in cal.notes)
    assert "Also fitted" not in cal.scenario_yaml()
