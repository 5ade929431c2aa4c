"""The purchase-and-dropout models fitted to transaction logs, with their closed forms and
simulators.

- **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a
  customer buys as a Poisson process with rate ``lambda ~ Gamma(r, rate alpha)``; after each
  repeat purchase they drop out with probability ``p ~ Beta(a, b)``.
- **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987): the same purchases; the lifetime is
  exponential with rate ``mu ~ Gamma(s, rate beta)``.

Inputs per customer are ``x`` (repeat purchases), ``t_x`` (time of the last purchase from the
first) and ``T`` (time from the first purchase to the end of the calibration period), in one
time unit; fits maximise the likelihood with
:func:`~retention_sim.calibration.fitting.fit_by_likelihood`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import integrate, special

from .fitting import FitResult, as_arrays, check_rft, compress, fit_by_likelihood

__all__ = [
    "bgnbd_expected_alive",
    "pareto_nbd_expected_alive",
    "bgnbd_loglik",
    "bgnbd_p_alive",
    "bgnbd_expected_purchases",
    "fit_bgnbd",
    "pareto_nbd_loglik",
    "pareto_nbd_p_alive",
    "pareto_nbd_expected_purchases",
    "fit_pareto_nbd",
    "simulate_bgnbd",
    "simulate_pareto_nbd",
]


def bgnbd_loglik(
    params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6).

    ``LL = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
    + ln[(α+T)^−(r+x) + 1{x>0} · a/(b+x−1) · (α+t_x)^−(r+x)]``.
    """
    r, alpha, a, b = params
    x, t_x, T = as_arrays(x, t_x, T)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a1 + a2 + np.logaddexp(a3, a4)


def bgnbd_p_alive(
    params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive at T | x, t_x, T) under the BG/NBD: ``1 / (1 + 1{x>0} a/(b+x−1) ((α+T)/(α+t_x))^(r+x))``."""
    r, alpha, a, b = params
    x, t_x, T = as_arrays(x, t_x, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            np.log(a)
            - np.log(np.maximum(b + x - 1.0, 1e-300))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.where(x > 0, special.expit(-log_odds), 1.0)


def bgnbd_expected_alive(
    rate_shape: float | np.ndarray,
    rate_rate: float | np.ndarray,
    a: float | np.ndarray,
    b: float | np.ndarray,
    t: float | np.ndarray,
) -> np.ndarray:
    """E[purchases in (0, t] | alive now], λ ~ Gamma(R, A), p ~ Beta(a, b) (BG/NBD).

    ``(a+b−1)/(a−1) · [1 − (A/(A+t))^R · 2F1(R, b; a+b−1; t/(A+t))]``; where the
    hypergeometric function fails, a Gauss–Jacobi quadrature over ``p`` is used instead.
    """
    R, A, a, b, t = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (rate_shape, rate_rate, a, b, t))
    )
    out = np.zeros(R.shape)
    pos = t > 0
    with np.errstate(all="ignore"):
        z = t / (A + t)
        hyp = special.hyp2f1(R, b, a + b - 1.0, z)
        val = (a + b - 1.0) / (a - 1.0) * (1.0 - np.exp(R * np.log(A / (A + t))) * hyp)
    bad = pos & ~(np.isfinite(val) & (val >= 0) & (np.abs(a - 1.0) > 1e-6))
    out[pos] = val[pos]
    for idx in np.flatnonzero(bad):
        out.flat[idx] = _bg_expected_alive_quadrature(
            R.flat[idx], A.flat[idx], a.flat[idx], b.flat[idx], t.flat[idx]
        )
    return out


def _bg_expected_alive_quadrature(R: float, A: float, a: float, b: float, t: float) -> float:
    """``E_p[(1 − (A/(A+p t))^R) / p]`` for ``p ~ Beta(a, b)`` by 64-point Gauss–Jacobi."""
    nodes, weights = special.roots_jacobi(64, b - 1.0, a - 1.0)
    p = (1.0 + nodes) / 2.0
    g = -np.expm1(R * np.log(A / (A + p * t))) / p
    log_norm = (a + b - 1.0) * np.log(2.0) + special.betaln(a, b)
    return float(np.sum(weights * g) * np.exp(-log_norm))


def bgnbd_expected_purchases(
    params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float | np.ndarray
) -> np.ndarray:
    """Expected repeat purchases in ``(T, T+t]`` given the history (BG/NBD, FHL 2005 eq. 10)."""
    r, alpha, a, b = params
    x, t_x, T = as_arrays(x, t_x, T)
    alive = bgnbd_p_alive(params, x, t_x, T)
    return alive * bgnbd_expected_alive(r + x, alpha + T, a, b + x, np.asarray(t, dtype=float))


def fit_bgnbd(
    frequency: Any, recency: Any, T: Any, *, weights: Any = None, starts: Any = None
) -> FitResult:
    """Fit the BG/NBD model by maximum likelihood.

    Parameters
    ----------
    frequency, recency, T
        Per customer: repeat purchases ``x``, time of the last purchase since the first ``t_x``,
        and time since the first purchase ``T`` (one unit for all three).
    weights
        Optional count of customers behind each row.
    starts
        Optional list of ``(r, alpha, a, b)`` starting points.

    Returns
    -------
    FitResult
        Parameters ``r, alpha, a, b`` with standard errors and the log-likelihood.
    """
    x, t_x, t_cap = as_arrays(frequency, recency, T)
    check_rft(x, t_x, t_cap)
    (ux, ut, uT), w = compress(x, t_x, t_cap, weights=weights)
    scale = max(float(np.mean(t_cap)) / max(float(np.mean(x)), 0.1), 1e-3)

    def negll(v: np.ndarray) -> float:
        return -float(np.sum(w * bgnbd_loglik(np.exp(v), ux, ut, uT)))

    starts = starts or [(1.0, scale, 1.0, 1.0), (0.3, scale / 3, 0.8, 3.0)]
    return fit_by_likelihood("bgnbd", ("r", "alpha", "a", "b"), negll, starts, int(w.sum()))


# ----------------------------------------------------------------------------- Pareto/NBD
def _pnbd_log_a0(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """``ln A0`` of the Pareto/NBD likelihood (Fader & Hardie 2005 note, eq. 22).

    ``A0 = (r+s+x) ∫_{t_x}^{T} (α+y)^−(r+x) (β+y)^−(s+1) dy``, computed with the Gauss
    hypergeometric function; rows where it overflows are integrated numerically.
    """
    K = r + s + x
    bb: float | np.ndarray
    if alpha >= beta:
        bb, c, d = s + 1.0, alpha, alpha - beta
    else:
        bb, c, d = r + x, beta, beta - alpha
    with np.errstate(all="ignore"):
        l1 = np.log(special.hyp2f1(K, bb, K + 1.0, d / (c + t_x))) - K * np.log(c + t_x)
        l2 = np.log(special.hyp2f1(K, bb, K + 1.0, d / (c + T))) - K * np.log(c + T)
        out = l1 + np.log(-np.expm1(l2 - l1))
    out = np.where(T - t_x <= 0, -np.inf, out)
    bad = ~np.isfinite(out) & (T - t_x > 0)
    for i in np.flatnonzero(bad):
        ri = r + x[i]
        log_top = -ri * np.log(alpha + t_x[i]) - (s + 1.0) * np.log(beta + t_x[i])

        def integrand(y: float, ri: float = ri, log_top: float = log_top) -> float:
            return float(np.exp(-ri * np.log(alpha + y) - (s + 1.0) * np.log(beta + y) - log_top))

        val, _ = integrate.quad(integrand, t_x[i], T[i], limit=400, epsabs=0.0, epsrel=1e-12)
        out[i] = np.log(val) + log_top + np.log(K[i]) if val > 0 else -np.inf
    return out


def pareto_nbd_loglik(
    params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood (Fader & Hardie 2005 note, eq. 22).

    ``L = Γ(r+x) α^r β^s / Γ(r) · [(α+T)^−(r+x) (β+T)^−s + s/(r+s+x) · A0]``.
    """
    r, alpha, s, beta = params
    x, t_x, T = as_arrays(x, t_x, T)
    head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) - np.log(r + s + x) + _pnbd_log_a0(r, alpha, s, beta, x, t_x, T)
    return head + np.logaddexp(alive, dead)


def pareto_nbd_p_alive(
    params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive at T | x, t_x, T) under the Pareto/NBD.

    ``1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A0)``.
    """
    r, alpha, s, beta = params
    x, t_x, T = as_arrays(x, t_x, T)
    log_odds = (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + T)
        + s * np.log(beta + T)
        + _pnbd_log_a0(r, alpha, s, beta, x, t_x, T)
    )
    return special.expit(-log_odds)


def pareto_nbd_expected_alive(
    rate_shape: float | np.ndarray,
    rate_rate: float | np.ndarray,
    hazard_shape: float | np.ndarray,
    hazard_rate: float | np.ndarray,
    t: float | np.ndarray,
) -> np.ndarray:
    """E[purchases in (0, t] | alive now], λ ~ Gamma(R, A), μ ~ Gamma(S, B) (Pareto/NBD).

    ``R/A · B/(S−1) · [1 − (B/(B+t))^(S−1)]`` (``R/A · B ln(1 + t/B)`` when ``S = 1``).
    """
    R, A, S, B, t = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (rate_shape, rate_rate, hazard_shape, hazard_rate, t))
    )
    L = np.log1p(t / B)
    k = S - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        life = np.where(np.abs(k) < 1e-9, L, -np.expm1(-k * L) / k)
    return R / A * B * life


def pareto_nbd_expected_purchases(
    params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float | np.ndarray
) -> np.ndarray:
    """Expected repeat purchases in ``(T, T+t]`` given the history (Pareto/NBD)."""
    r, alpha, s, beta = params
    x, t_x, T = as_arrays(x, t_x, T)
    alive = pareto_nbd_p_alive(params, x, t_x, T)
    return alive * pareto_nbd_expected_alive(r + x, alpha + T, s, beta + T, np.asarray(t, float))


def fit_pareto_nbd(
    frequency: Any, recency: Any, T: Any, *, weights: Any = None, starts: Any = None
) -> FitResult:
    """Fit the Pareto/NBD model by maximum likelihood.

    Parameters
    ----------
    frequency, recency, T
        Per customer: ``x``, ``t_x``, ``T`` (one time unit for all three).
    weights
        Optional count of customers behind each row.
    starts
        Optional list of ``(r, alpha, s, beta)`` starting points.

    Returns
    -------
    FitResult
        Parameters ``r, alpha, s, beta`` with standard errors and the log-likelihood.
    """
    x, t_x, t_cap = as_arrays(frequency, recency, T)
    check_rft(x, t_x, t_cap)
    (ux, ut, uT), w = compress(x, t_x, t_cap, weights=weights)
    scale = max(float(np.mean(t_cap)) / max(float(np.mean(x)), 0.1), 1e-3)
    span = max(float(np.mean(t_cap)), 1e-3)

    def negll(v: np.ndarray) -> float:
        return -float(np.sum(w * pareto_nbd_loglik(np.exp(v), ux, ut, uT)))

    starts = starts or [(1.0, scale, 1.0, span), (0.5, scale / 2, 0.5, span / 3)]
    return fit_by_likelihood("pareto_nbd", ("r", "alpha", "s", "beta"), negll, starts, int(w.sum()))


# ----------------------------------------------------------------------------- generators
def simulate_bgnbd(
    params: Sequence[float], T: Any, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(x, t_x)`` for customers observed for ``T`` under the BG/NBD.

    Parameters
    ----------
    params
        ``(r, alpha, a, b)``.
    T
        Observation length per customer (array).
    rng
        The generator to draw from.
    """
    r, alpha, a, b = params
    T = np.asarray(T, dtype=float)
    n = T.size
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    p = rng.beta(a, b, size=n)
    x = np.zeros(n, dtype=np.int64)
    t_x = np.zeros(n)
    t = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1.0, size=idx.size) / lam[idx]
        bought = t[idx] <= T[idx]
        done = idx[~bought]
        alive[done] = False
        b_idx = idx[bought]
        x[b_idx] += 1
        t_x[b_idx] = t[b_idx]
        drop = rng.random(b_idx.size) < p[b_idx]
        alive[b_idx[drop]] = False
    return x, t_x


def simulate_pareto_nbd(
    params: Sequence[float], T: Any, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(x, t_x)`` for customers observed for ``T`` under the Pareto/NBD.

    Parameters
    ----------
    params
        ``(r, alpha, s, beta)``.
    T
        Observation length per customer (array).
    rng
        The generator to draw from.
    """
    r, alpha, s, beta = params
    T = np.asarray(T, dtype=float)
    n = T.size
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    mu = rng.gamma(s, 1.0 / beta, size=n)
    life = np.minimum(rng.exponential(1.0, size=n) / mu, T)
    x = rng.poisson(lam * life)
    # given x purchases in (0, life], their times are uniform: the last is life * U^(1/x)
    u = rng.random(n) ** (1.0 / np.maximum(x, 1))
    t_x = np.where(x > 0, life * u, 0.0)
    return x.astype(np.int64), t_x
