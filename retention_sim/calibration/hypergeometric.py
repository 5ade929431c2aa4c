"""Overflow-free evaluation of the two integrals behind the purchase models' hypergeometric
functions, for all rows at once.

Both models have closed forms in the Gauss hypergeometric function ``₂F₁``
(:mod:`.purchase_models`), and :func:`scipy.special.hyp2f1` overflows, or loses all its digits,
near the edges of parameter space (a gamma or beta heterogeneity that goes to a boundary, a
customer with thousands of purchases). Where it cannot be trusted, the integrals are computed
here by fixed-order Gauss–Legendre rules on panels of a transformed variable, in log space
(``logsumexp``), so that nothing overflows and every row of an array is done in one pass:

- :func:`log_power_integral` — ``ln ∫_0^L (A+v)^−a (B+v)^−b dv``, the Pareto/NBD ``A0``
  (Fader & Hardie 2005 note, eq. 22). In ``w = ln v`` the integrand ``v f(v)`` is log-concave,
  with its peak at the root of a quadratic; the variable is ``u = ln(1 + v/v0)``
  (``v0 = min(1/|f'/f|(0), A, B)``), the range is cut where the integrand has fallen by
  ``e^−46`` from the peak (Newton from outside), and panels break at ``v = A, B`` and the peak.
- :func:`bg_expected_alive_quadrature` — ``E_p[(1 − (A/(A+p t))^R)/p]`` for
  ``p ~ Beta(a, b)``, the BG/NBD expected purchases of a customer alive now. The variable is
  ``θ = logit p``, in which the beta density is log-concave; the range is cut where the density
  has fallen by ``e^−50`` (or, for a long tail, where a closed form of the tail is exact to
  1e-14), with panels breaking around its mode, around ``p = 1/(R t/A)`` and around ``p = 1/2``.
  For short windows (``(R+1) t/A ≤ 1/2``), where the closed form cancels, its power series
  (:func:`bg_expected_alive_series`) is exact and cheaper.

Measured against adaptive quadrature over random parameters across ``e^±20`` (and customers with
up to 20,000 purchases), the relative error of the result is below 1e-10 for the first and
below 1e-8 for the second (``tests/calibration/test_purchase_models.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy import special

__all__ = ["log_power_integral", "bg_expected_alive_quadrature", "bg_expected_alive_series"]

_CHUNK = 8192  # rows per pass (the node arrays are rows × nodes)
_PNBD_NODES, _PNBD_DROP = 24, 46.0
_BG_NODES, _BG_DROP, _BG_TAIL = 20, 50.0, 1e-14
_NEWTON_STEPS = 30


@lru_cache(maxsize=4)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes mapped to [0, 1] and their weights (summing to 1)."""
    x, w = special.roots_legendre(n)
    return (x + 1.0) / 2.0, w / 2.0


def _chunked(fn: Callable[..., np.ndarray], *arrays: np.ndarray) -> np.ndarray:
    out = np.empty(arrays[0].shape)
    for lo in range(0, out.size, _CHUNK):
        out[lo : lo + _CHUNK] = fn(*(a[lo : lo + _CHUNK] for a in arrays))
    return out


def _log_panels(
    log_fs: Callable[[np.ndarray, np.ndarray], list[np.ndarray]], cuts: np.ndarray, n: int
) -> list[np.ndarray]:
    """``ln Σ_panels ∫ exp(log_f(y)) dy`` for each of the integrands ``log_fs`` gives, by
    ``n``-point Gauss–Legendre on each panel ``[cuts[i], cuts[i+1]]`` of positive width (cuts
    sorted along axis 0, one column per row), all in one array. ``log_fs(y, rows)`` gives the
    logs of the integrands at ``y`` (panels × nodes) for the rows ``rows`` of the panels."""
    nodes, weights = _legendre(n)
    width = np.diff(cuts, axis=0).T  # rows × panels
    rows, panel = np.nonzero(width > 0)  # row-major: grouped by row
    lo, wd = cuts[panel, rows][:, None], width[rows, panel][:, None]
    start = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    results = []
    for log_f in log_fs(lo + wd * nodes, rows):
        terms = log_f + np.log(wd * weights)
        top = np.max(terms, axis=1)
        part = top + np.log(np.sum(np.exp(terms - top[:, None]), axis=1))
        best = np.maximum.reduceat(part, start)
        spread = np.exp(part - np.repeat(best, np.diff(np.r_[start, rows.size])))
        out = np.full(width.shape[0], -np.inf)
        out[rows[start]] = best + np.log(np.add.reduceat(spread, start))
        results.append(out)
    return results


# ----------------------------------------------------------------------------- Pareto/NBD
def log_power_integral(
    a: np.ndarray | float,
    A: np.ndarray | float,
    b: np.ndarray | float,
    B: np.ndarray | float,
    L: np.ndarray | float,
    *,
    scaled: bool = False,
) -> np.ndarray:
    """``ln ∫_0^L (A+v)^−a (B+v)^−b dv`` for each row, by quadrature in log space.

    Parameters
    ----------
    a, A, b, B, L
        Arrays of one shape (or broadcastable): exponents ``a > 0``, ``b > 0`` with
        ``a + b > 1``, offsets ``A, B > 0`` and lengths ``L > 0``.
    scaled
        Return ``ln ∫_0^L (1+v/A)^−a (1+v/B)^−b dv`` instead (the integrand scaled to 1 at
        ``v = 0``; it keeps all its digits when ``a ln A`` or ``b ln B`` is huge).

    Returns
    -------
    numpy.ndarray
        The logarithm of the integral (finite wherever the inputs are).
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, A, b, B, L)))
    shape = arrays[0].shape
    out = _chunked(_log_power_integral, *(v.ravel() for v in arrays)).reshape(shape)
    if scaled:
        return out
    return out - arrays[0] * np.log(arrays[1]) - arrays[2] * np.log(arrays[3])


def _log_power_integral(
    a: np.ndarray, A: np.ndarray, b: np.ndarray, B: np.ndarray, L: np.ndarray
) -> np.ndarray:
    # peak of v f(v) (in w = ln v): (1−a−b) v² + (A + B − aB − bA) v + AB = 0, one positive root
    k, p, q = a + b - 1.0, A + B - a * B - b * A, A * B
    disc = np.sqrt(p * p + 4.0 * k * q)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_peak = np.where(p > 0, (p + disc) / (2.0 * k), 2.0 * q / (disc - p))
    v_peak = np.minimum(np.where(np.isfinite(v_peak), v_peak, L), L)

    def log_vf(w: np.ndarray) -> np.ndarray:  # ln(v f(v)) + a ln A + b ln B, at v = e^w
        v = np.exp(w)
        return w - a * np.log1p(v / A) - b * np.log1p(v / B)

    # where the integrand has fallen by _PNBD_DROP past the peak: Newton on a concave function
    # from the right of its root stays right of it (so the cut never loses mass)
    floor = log_vf(np.log(v_peak)) - _PNBD_DROP
    w = np.log(L)
    for _ in range(_NEWTON_STEPS):
        v = np.exp(w)
        g = log_vf(w) - floor
        slope = np.minimum(1.0 - a * v / (A + v) - b * v / (B + v), -1e-300)
        w = np.where(g < 0, w - g / slope, w)
    v_end = np.minimum(np.exp(w), L)
    v0 = np.minimum(1.0 / (a / A + b / B), np.minimum(A, B))
    u_end = np.log1p(v_end / v0)
    marks = [np.zeros_like(u_end), np.log1p(A / v0), np.log1p(B / v0), np.log1p(v_peak / v0)]
    cuts = np.sort(np.minimum(np.stack([*marks, u_end]), u_end), axis=0)

    def log_f(u: np.ndarray, i: np.ndarray) -> list[np.ndarray]:  # f(v) dv/du = f(v) (v + v0)
        v = v0[i, None] * np.expm1(u)
        return [
            (np.log(v0[i])[:, None] + u)
            - a[i, None] * np.log1p(v / A[i, None])
            - b[i, None] * np.log1p(v / B[i, None])
        ]

    return _log_panels(log_f, cuts, _PNBD_NODES)[0]


# ----------------------------------------------------------------------------- BG/NBD
def bg_expected_alive_series(
    R: np.ndarray, A: np.ndarray, a: np.ndarray, b: np.ndarray, t: np.ndarray, terms: int = 60
) -> np.ndarray:
    """``E_p[(1 − (A/(A+p t))^R) / p]`` for ``p ~ Beta(a, b)`` by its power series in ``t/A``.

    ``Σ_{k≥1} (−1)^(k+1) (R)_k / k! · (t/A)^k · (a)_(k−1) / (a+b)_(k−1)``: alternating, each
    term at most ``(R+1) t/A`` times the one before, so exact to rounding where that is at
    most 1/2 (short windows, where the closed form cancels).

    Parameters
    ----------
    R, A, a, b, t
        As for :func:`bg_expected_alive_quadrature`, with ``(R+1) t/A ≤ 1/2``.
    terms
        Number of terms summed.

    Returns
    -------
    numpy.ndarray
        The expected purchases in the window of a customer alive at its start.
    """
    u = np.asarray(t, dtype=float) / np.asarray(A, dtype=float)
    term = R * u
    total = np.array(term, dtype=float)
    for k in range(1, terms):
        term = term * (-(R + k) / (k + 1.0)) * u * ((a + k - 1.0) / (a + b + k - 1.0))
        total = total + term
    return total


def bg_expected_alive_quadrature(
    R: np.ndarray | float,
    A: np.ndarray | float,
    a: np.ndarray | float,
    b: np.ndarray | float,
    t: np.ndarray | float,
) -> np.ndarray:
    """``E_p[(1 − (A/(A+p t))^R) / p]`` for ``p ~ Beta(a, b)``, for each row.

    Parameters
    ----------
    R, A
        Shape and rate of the purchase rate (``r + x`` and ``alpha + T`` for an observed
        customer).
    a, b
        The beta distribution of the dropout probability (``a`` and ``b + x``).
    t
        Length of the window, ``t > 0``.

    Returns
    -------
    numpy.ndarray
        The expected purchases in the window of a customer alive at its start.
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (R, A, a, b, t)))
    shape = arrays[0].shape
    flat = [v.ravel() for v in arrays]
    return _chunked(_bg_expected_alive, *flat).reshape(shape)


def _log_p(th: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -th)


def _log_q(th: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, th)


def _newton_cut(
    th: np.ndarray, a: np.ndarray, b: np.ndarray, floor: np.ndarray, side: float
) -> np.ndarray:
    """Where ``a ln p + b ln(1−p)`` (concave in θ) falls to ``floor``, by Newton from outside
    (``side`` −1: from the left of the mode, +1: from the right)."""
    for _ in range(_NEWTON_STEPS):
        g = a * _log_p(th) + b * _log_q(th) - floor
        slope = a - (a + b) * np.exp(_log_p(th))
        slope = np.maximum(slope, 1e-300) if side < 0 else np.minimum(slope, -1e-300)
        th = np.where(g < 0, th - g / slope, th)
    return th


def _bg_expected_alive(
    R: np.ndarray, A: np.ndarray, a: np.ndarray, b: np.ndarray, t: np.ndarray
) -> np.ndarray:
    c = t / A
    log_h0 = np.log(R) + np.log(c)  # the integrand's limit R c as p -> 0
    log_h1 = np.log(-np.expm1(-R * np.log1p(c)))  # and its value at p = 1

    def log_h(th: np.ndarray, R: np.ndarray = R, c: np.ndarray = c) -> np.ndarray:
        lp = _log_p(th)
        return np.log(-np.expm1(-R * np.log1p(c * np.exp(lp)))) - lp

    mode = np.log(a) - np.log(b)
    p_h = 1.0 / (R * c)  # where (1 + c p)^−R turns from 1 to 0
    knee = np.where(p_h < 1.0, np.log(p_h) - np.log1p(-np.where(p_h < 1.0, p_h, 0.0)), mode)
    # tails where p^(a−1) (1−p)^(b−1) h(p) is p^(a−1) h(0) (or (1−p)^(b−1) h(1)) to 1e-14
    p_lo = _BG_TAIL / (1.0 + np.abs(b - 1.0) + (R + 1.0) * c)
    q_hi = _BG_TAIL / (3.0 + np.abs(a - 1.0))
    th_lo, th_hi = np.log(p_lo) - np.log1p(-p_lo), np.log1p(-q_hi) - np.log(q_hi)
    top = a * _log_p(mode) + b * _log_q(mode)
    left_drop = _BG_DROP + np.maximum(log_h0 - log_h(mode), 0.0)
    cut_lo = np.maximum(_newton_cut(th_lo.copy(), a, b, top - left_drop, -1.0), th_lo)
    cut_hi = np.minimum(_newton_cut(th_hi.copy(), a, b, top - _BG_DROP, 1.0), th_hi)
    marks = [mode, mode - 4.0, mode + 4.0, knee, knee - 4.0, knee + 4.0]
    marks += [np.full_like(mode, v) for v in (-4.0, 0.0, 4.0)]
    cuts = np.sort(np.stack([cut_lo, cut_hi, *(np.clip(m, cut_lo, cut_hi) for m in marks)]), axis=0)

    def log_f(th: np.ndarray, i: np.ndarray) -> list[np.ndarray]:  # dp = p (1−p) dθ
        density = a[i, None] * _log_p(th) + b[i, None] * _log_q(th)  # p^a (1−p)^b
        return [density + log_h(th, R[i, None], c[i, None]), density]

    # E[h] = ∫ density h / ∫ density, both by the same rule (no ln B(a, b), which loses digits
    # for large a or b), each with its tails where they are not cut
    body, norm = _log_panels(log_f, cuts, _BG_NODES)
    left, right = cut_lo <= th_lo, cut_hi >= th_hi
    tail_lo = np.where(left, a * np.log(p_lo) - np.log(a), -np.inf)
    tail_hi = np.where(right, b * np.log(q_hi) - np.log(b), -np.inf)
    top = special.logsumexp(np.stack([body, log_h0 + tail_lo, log_h1 + tail_hi]), axis=0)
    return np.exp(top - special.logsumexp(np.stack([norm, tail_lo, tail_hi]), axis=0))
