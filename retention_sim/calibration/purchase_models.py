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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from .fitting import (
    LOG_BOUND,
    FitResult,
    as_arrays,
    check_rft,
    compress,
    distinct,
    fit_by_likelihood,
    subsample_weights,
)
from .hypergeometric import bg_expected_alive_quadrature as _bg_expected_alive_quadrature
from .hypergeometric import bg_expected_alive_series, log_power_integral

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

# where the closed forms in 2F1 are trusted (measured against quadrature over e^±20 parameters:
# within these limits they agree to 1e-11 for the Pareto/NBD and, for the BG/NBD, to 6e-9 at
# a + b ≥ 1.5 and 4e-8 below, the order of the quadrature's own error; on moderate parameters the
# BG/NBD closed form is within 1e-13 of adaptive quadrature, the Gauss–Legendre rule 3e-10)
_MAX_Z = 0.99  # largest argument of 2F1
_PNBD_MIN_GAP = 1e-4  # ln of the ratio of the two terms of A0 (their difference cancels)
# |1 − (A/(A+t))^R 2F1| at least this (nearer 0 it cancels; the product exceeds 1 when a < 1,
# and may be negative when a + b < 1)
_BG_MIN_BRACKET = 0.01
_BG_MIN_GAP_A = 0.01  # |a − 1| (the closed form divides by a − 1)
_BG_MAX_AB = 1e4  # largest a + b (the third parameter of 2F1 is a + b − 1)
_STABLE_ABOVE = 1e4  # a shape above this: BG/NBD terms computed without cancelling lnΓ
_BG_SERIES_MAX = 0.5  # (R+1) t/A up to which the power series is used (terms fall 2x each)
# a fit to more distinct rows than this starts from a fit to a subsample of this many customers
_WARM_ROWS, _WARM_CUSTOMERS = 30_000, 15_000
# the purchase-rate shape r is at most 1e6 (the largest a scenario takes: CV 0.1%, no
# heterogeneity to speak of); the other parameters within the default e^±20
_BOUNDS = {"r": (np.exp(-LOG_BOUND), 1e6)}


@dataclass(frozen=True)
class _Rows:
    """Customer rows ``(x, t_x, T)`` with the distinct values of each column and the distinct
    ``(x, t_x)`` and ``(x, T)`` pairs, so that the likelihoods compute each costly function once
    per distinct value (a large log has far fewer distinct values than rows)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    xs: tuple[np.ndarray, np.ndarray]  # distinct x, index of each row
    ts: tuple[np.ndarray, np.ndarray]
    Ts: tuple[np.ndarray, np.ndarray]
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]  # distinct (x, y) pairs, index of each

    @classmethod
    def of(cls, x: Any, t_x: Any, T: Any) -> _Rows:
        x, t_x, T = as_arrays(x, t_x, T)
        xy = np.column_stack([np.concatenate([x, x]), np.concatenate([t_x, T])])
        uniq, inverse = np.unique(xy, axis=0, return_inverse=True)
        pairs = (uniq[:, 0], uniq[:, 1], inverse.ravel())
        return cls(x, t_x, T, distinct(x), distinct(t_x), distinct(T), pairs)

    def take(self, keep: np.ndarray) -> _Rows:
        """The rows selected by ``keep``."""
        return _Rows.of(self.x[keep], self.t_x[keep], self.T[keep])


def bgnbd_loglik(
    params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6).

    ``LL = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
    + ln[(α+T)^−(r+x) + 1{x>0} · a/(b+x−1) · (α+t_x)^−(r+x)]``.
    """
    return _bgnbd_loglik(params, _Rows.of(x, t_x, T))


def _bgnbd_loglik(params: Sequence[float], rows: _Rows) -> np.ndarray:
    r, alpha, a, b = params
    (xv, xi), (tv, ti), (Tv, Ti) = rows.xs, rows.ts, rows.Ts
    x = rows.x
    a1 = (special.gammaln(r + xv) - special.gammaln(r) + r * np.log(alpha))[xi]
    a2 = (special.betaln(a, b + xv) - special.betaln(a, b))[xi]
    a3 = -(r + x) * np.log(alpha + Tv)[Ti]
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            (np.log(a) - np.log(np.maximum(b + xv - 1.0, 1e-300)))[xi]
            - (r + x) * np.log(alpha + tv)[ti],
            -np.inf,
        )
    out = a1 + a2 + np.logaddexp(a3, a4)
    if max(r, a, b) > _STABLE_ABOVE:  # the same with no ln of huge powers or Γs to cancel
        T, t_x = rows.T, rows.t_x
        steps = np.arange(int(xv[-1]) if xv.size else 0)
        beta_part = np.concatenate([[0.0], np.cumsum(-np.log1p(a / (b + steps)))])
        rate = _log_rising(r, xv)[xi] - r * np.log1p(T / alpha) - x * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300))
            rel = np.where(x > 0, rel + (r + x) * np.log1p((T - t_x) / (alpha + t_x)), -np.inf)
        out = rate + beta_part[xv.astype(np.int64)][xi] + np.logaddexp(0.0, rel)
    return out


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

    ``(a+b−1)/(a−1) · [1 − (A/(A+t))^R · 2F1(R, b; a+b−1; t/(A+t))]`` where that is well
    conditioned; for short windows (``(R+1) t/A ≤ 1/2``) its power series in ``t/A``
    (:func:`~retention_sim.calibration.hypergeometric.bg_expected_alive_series`); elsewhere
    (``a`` near 1, ``a + b`` above 1e4, ``t/(A+t) > 0.99``, the bracket
    cancelling, or ``₂F₁`` failing) all such rows at once by quadrature over ``p``
    (:func:`~retention_sim.calibration.hypergeometric.bg_expected_alive_quadrature`).
    """
    R, A, a, b, t = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (rate_shape, rate_rate, a, b, t))
    )
    out = np.zeros(R.shape)
    pos = t > 0
    short = pos & ((R + 1.0) * t <= _BG_SERIES_MAX * A)
    out[short] = bg_expected_alive_series(R[short], A[short], a[short], b[short], t[short])
    with np.errstate(all="ignore"):
        z = t / (A + t)
        prod = np.exp(R * np.log(A / (A + t))) * special.hyp2f1(R, b, a + b - 1.0, z)
        val = (a + b - 1.0) / (a - 1.0) * (1.0 - prod)
    trusted = (
        np.isfinite(val)
        & (val >= 0)
        & (np.abs(1.0 - prod) >= _BG_MIN_BRACKET)
        & (z <= _MAX_Z)
        & (np.abs(a - 1.0) > _BG_MIN_GAP_A)
        & (a + b <= _BG_MAX_AB)
    )
    closed = pos & ~short & trusted
    out[closed] = val[closed]
    bad = pos & ~short & ~trusted
    if bad.any():
        out[bad] = _bg_expected_alive_quadrature(R[bad], A[bad], a[bad], b[bad], t[bad])
    return out


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
    starts = starts or [(1.0, scale, 1.0, 1.0), (0.3, scale / 3, 0.8, 3.0)]
    return _fit("bgnbd", ("r", "alpha", "a", "b"), _bgnbd_loglik, _Rows.of(ux, ut, uT), w, starts)


def _fit(
    model: str,
    names: tuple[str, ...],
    loglik: Callable[[Sequence[float], _Rows], np.ndarray],
    rows: _Rows,
    w: np.ndarray,
    starts: Sequence[Sequence[float]],
) -> FitResult:
    """Maximum likelihood over the rows; for more than ``_WARM_ROWS`` distinct rows, first on a
    random subsample of ``_WARM_CUSTOMERS`` customers, then Newton steps on all from there."""

    def negll_of(rows: _Rows, w: np.ndarray) -> Callable[[np.ndarray], float]:
        return lambda v: -float(np.sum(w * loglik(np.exp(v), rows)))

    polish = False
    if rows.x.size > _WARM_ROWS:
        sw = subsample_weights(w, _WARM_CUSTOMERS)
        keep = sw > 0
        sub = negll_of(rows.take(keep), sw[keep])
        warm = fit_by_likelihood(model, names, sub, starts, 1, bounds=_BOUNDS)
        starts, polish = [tuple(warm.params.values())], True
    n = int(w.sum())
    return fit_by_likelihood(
        model, names, negll_of(rows, w), starts, n, polish_first=polish, bounds=_BOUNDS
    )


# ----------------------------------------------------------------------------- Pareto/NBD
def _pnbd_log_a0(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """``ln A0`` of the Pareto/NBD likelihood (Fader & Hardie 2005 note, eq. 22).

    ``A0 = (r+s+x) ∫_{t_x}^{T} (α+y)^−(r+x) (β+y)^−(s+1) dy``, with the Gauss hypergeometric
    function where it is well conditioned (argument at most 0.99, the ratio of the two terms of
    the difference above 1 + 1e-4); all other rows at once by quadrature in log space
    (:func:`~retention_sim.calibration.hypergeometric.log_power_integral`), which cannot overflow.
    """
    return _log_a0_parts((r, alpha, s, beta), _Rows.of(x, t_x, T))[0]


def _log_a0_parts(
    params: Sequence[float], rows: _Rows
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ln A0`` per row, the rows done by quadrature, and for those ``ln J``: the integral of
    ``A0`` with its integrand scaled to 1 at ``y = t_x`` (``A0 = K (α+t_x)^−(r+x)
    (β+t_x)^−(s+1) J``)."""
    r, alpha, s, beta = params
    x, t_x, T = rows.x, rows.t_x, rows.T
    px, py, pi = rows.pairs
    if alpha >= beta:
        bb, c, d = s + 1.0 + 0.0 * px, alpha, alpha - beta
    else:
        bb, c, d = r + px, beta, beta - alpha
    K = r + s + px
    z = d / (c + py)
    easy = z <= _MAX_Z
    lv = np.full(px.shape, np.nan)
    with np.errstate(all="ignore"):
        Ke = K[easy]
        lv[easy] = np.log(special.hyp2f1(Ke, bb[easy], Ke + 1.0, z[easy])) - Ke * np.log(
            c + py[easy]
        )
        l1, l2 = lv[pi[: x.size]], lv[pi[x.size :]]
        out = l1 + np.log(-np.expm1(l2 - l1))
        out[~(np.isfinite(out) & (l1 - l2 >= _PNBD_MIN_GAP))] = -np.inf
    span = T - t_x
    hard = (span > 0) & ~np.isfinite(out)
    log_j = np.empty(0)
    if hard.any():
        xh, th = x[hard], t_x[hard]
        a, A, B = r + xh, alpha + th, beta + th
        log_j = log_power_integral(a, A, s + 1.0, B, span[hard], scaled=True)
        out[hard] = np.log(r + s + xh) + log_j - a * np.log(A) - (s + 1.0) * np.log(B)
    return out, hard, log_j


def pareto_nbd_loglik(
    params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood (Fader & Hardie 2005 note, eq. 22).

    ``L = Γ(r+x) α^r β^s / Γ(r) · [(α+T)^−(r+x) (β+T)^−s + s/(r+s+x) · A0]``.
    """
    return _pareto_nbd_loglik(params, _Rows.of(x, t_x, T))


def _pareto_nbd_loglik(params: Sequence[float], rows: _Rows) -> np.ndarray:
    r, alpha, s, beta = params
    (xv, xi), (Tv, Ti) = rows.xs, rows.Ts
    head = (special.gammaln(r + xv) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta))[xi]
    alive = -(r + rows.x) * np.log(alpha + Tv)[Ti] - s * np.log(beta + Tv)[Ti]
    log_a0, hard, log_j = _log_a0_parts(params, rows)
    dead = (np.log(s) - np.log(r + s + xv))[xi] + log_a0
    out = head + np.logaddexp(alive, dead)
    if hard.any():  # the same, every term relative to y = t_x: no ln of huge powers cancels
        x, t_x, T = rows.x[hard], rows.t_x[hard], rows.T[hard]
        a, span = r + x, T - t_x
        head = _log_rising(r, xv)[xi[hard]] - r * np.log1p(t_x / alpha) - x * np.log(alpha + t_x)
        head = head - s * np.log1p(t_x / beta)
        alive = -a * np.log1p(span / (alpha + t_x)) - s * np.log1p(span / (beta + t_x))
        dead = np.log(s) + log_j - np.log(beta + t_x)
        out[hard] = head + np.logaddexp(alive, dead)
    return out


def _log_rising(c: float, xv: np.ndarray) -> np.ndarray:
    """``ln Γ(c + x) − ln Γ(c)`` for the distinct whole numbers ``xv`` (sorted): a cumulative
    sum of ``ln(c + j)``, which keeps its digits for large ``c``."""
    steps = np.log(c + np.arange(int(xv[-1]) if xv.size else 0))
    return np.concatenate([[0.0], np.cumsum(steps)])[xv.astype(np.int64)]


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
    starts = starts or [(1.0, scale, 1.0, span), (0.5, scale / 2, 0.5, span / 3)]
    names = ("r", "alpha", "s", "beta")
    return _fit("pareto_nbd", names, _pareto_nbd_loglik, _Rows.of(ux, ut, uT), w, starts)


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
