"""Maximum-likelihood fits of the classic customer-base models, with standard errors.

Four models, each a plain function of arrays:

- **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a
  customer buys as a Poisson process with rate ``lambda ~ Gamma(r, rate alpha)``; after each
  repeat purchase they drop out with probability ``p ~ Beta(a, b)``.
- **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987): the same purchases; the lifetime is
  exponential with rate ``mu ~ Gamma(s, rate beta)``.
- **Gamma–gamma** spend (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999): a
  transaction is ``Gamma(p, rate nu)``, ``nu ~ Gamma(q, rate gamma)``.
- **Shifted-beta-geometric** retention (Fader & Hardie 2007, "How to project customer
  retention"): each customer's yearly churn probability is ``theta ~ Beta(alpha, beta)``.

The inputs of the purchase models are, per customer, ``x`` (number of repeat purchases),
``t_x`` (time of the last purchase, measured from the first) and ``T`` (time from the first
purchase to the end of the calibration period), in one time unit (days or weeks). Parameters
``alpha`` and ``beta`` carry that unit (they are rates' inverse scales), ``r``, ``s``, ``a``,
``b`` are unit-free.

Fits maximise the log-likelihood over log-parameters (Nelder–Mead, then BFGS from the best
point). Standard errors come from the inverse of a central-difference Hessian of the negative
log-likelihood in log-parameters, carried to the natural scale by the delta method
(``se(theta) = theta * se(log theta)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special

__all__ = [
    "FitResult",
    "fit_bgnbd",
    "fit_pareto_nbd",
    "fit_gamma_gamma",
    "fit_sbg",
    "bgnbd_loglik",
    "pareto_nbd_loglik",
    "gamma_gamma_loglik",
    "sbg_loglik",
    "sbg_survival",
    "bgnbd_p_alive",
    "pareto_nbd_p_alive",
    "bgnbd_expected_purchases",
    "pareto_nbd_expected_purchases",
    "gamma_gamma_mean_spend",
    "simulate_bgnbd",
    "simulate_pareto_nbd",
]


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class FitResult:
    """A maximum-likelihood fit.

    Attributes
    ----------
    model
        ``"bgnbd"``, ``"pareto_nbd"``, ``"gamma_gamma"`` or ``"sbg"``.
    params
        Estimates by name, in the natural scale.
    se
        Standard errors by name (NaN when the Hessian is not positive definite).
    loglik
        Maximised log-likelihood.
    n
        Number of observations (customers) behind the fit.
    cov
        Covariance matrix of the estimates (natural scale), in the order of ``params``.
    converged
        Whether the optimiser reported success and the Hessian is positive definite.
    message
        The optimiser's message.
    """

    model: str
    params: dict[str, float]
    se: dict[str, float]
    loglik: float
    n: int
    cov: np.ndarray = field(repr=False)
    converged: bool = True
    message: str = ""

    @property
    def k(self) -> int:
        """Number of free parameters."""
        return len(self.params)

    @property
    def aic(self) -> float:
        """Akaike information criterion, ``2k − 2 LL``."""
        return 2.0 * self.k - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        """Bayesian information criterion, ``k ln n − 2 LL``."""
        return self.k * float(np.log(max(self.n, 1))) - 2.0 * self.loglik

    def z_scores(self, truth: dict[str, float]) -> dict[str, float]:
        """``(estimate − truth) / se`` for each parameter named in ``truth``."""
        return {k: (self.params[k] - v) / self.se[k] for k, v in truth.items()}

    def table(self) -> pd.DataFrame:
        """One row per parameter: estimate and standard error."""
        return pd.DataFrame(
            {"estimate": list(self.params.values()), "se": list(self.se.values())},
            index=pd.Index(list(self.params), name="parameter"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (parameters, standard errors, log-likelihood, AIC, BIC)."""
        return {
            "model": self.model,
            "params": {k: float(v) for k, v in self.params.items()},
            "se": {k: float(v) for k, v in self.se.items()},
            "loglik": float(self.loglik),
            "aic": float(self.aic),
            "bic": float(self.bic),
            "n": int(self.n),
            "converged": bool(self.converged),
        }


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    k = x.size
    h = np.zeros((k, k))
    f0 = f(x)
    e = np.eye(k) * step
    for i in range(k):
        h[i, i] = (f(x + e[i]) - 2.0 * f0 + f(x - e[i])) / step**2
        for j in range(i + 1, k):
            v = (
                f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j]) + f(x - e[i] - e[j])
            ) / (4.0 * step**2)
            h[i, j] = h[j, i] = v
    return h


def _gradient(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step
        g[i] = (f(x + e) - f(x - e)) / (2.0 * step)
    return g


def _newton_polish(
    f: Callable[[np.ndarray], float], x: np.ndarray, fx: float, steps: int = 8
) -> tuple[np.ndarray, float, np.ndarray, float]:
    """A few damped Newton steps with a numerical Hessian.

    Returns the point, its value, the Hessian there and the Newton decrement
    ``g' H^-1 g / 2`` (the improvement a further step would promise; NaN if ``H`` is not
    positive definite).
    """
    hess = _hessian(f, x)
    dec = float("nan")
    for _ in range(steps):
        g = _gradient(f, x)
        try:
            chol = np.linalg.cholesky((hess + hess.T) / 2.0)
        except np.linalg.LinAlgError:
            return x, fx, hess, float("nan")
        step = np.linalg.solve(chol.T, np.linalg.solve(chol, g))
        dec = float(g @ step) / 2.0
        if dec < 1e-9:
            break
        t = 1.0
        while t > 1e-4:
            cand = x - t * step
            fc = f(cand)
            if fc < fx:
                x, fx = cand, fc
                break
            t /= 2.0
        else:
            break
        hess = _hessian(f, x)
    return x, fx, hess, dec


def _fit(
    model: str,
    names: Sequence[str],
    negll: Callable[[np.ndarray], float],
    starts: Sequence[Sequence[float]],
    n: int,
) -> FitResult:
    """Minimise ``negll`` over log-parameters; SEs from the Hessian.

    From each start in turn: BFGS (central-difference gradient), then damped Newton steps with a
    numerical Hessian; the first start that ends at a point with a positive definite Hessian
    and a negligible Newton decrement wins. If none does, Nelder–Mead restarts from the best
    point found.
    """

    def safe(v: np.ndarray) -> float:
        if np.any(np.abs(v) > 30.0):
            return 1e300
        val = negll(v)
        return val if np.isfinite(val) else 1e300

    best: tuple[np.ndarray, float, np.ndarray, float] | None = None
    message = ""
    for x0 in starts:
        v0 = np.log(np.asarray(x0, dtype=float))
        if safe(v0) >= 1e300:
            continue
        bf = optimize.minimize(
            safe, v0, jac=lambda v: _gradient(safe, v), method="BFGS", options={"gtol": 1e-4}
        )
        got = _newton_polish(safe, bf.x, float(bf.fun))
        if best is None or got[1] < best[1]:
            best, message = got, str(bf.message)
        if np.isfinite(got[3]) and got[3] < 1e-6:
            break
    if best is None or not (np.isfinite(best[3]) and best[3] < 1e-6):
        v0 = best[0] if best is not None else np.log(np.asarray(starts[0], dtype=float))
        nm = optimize.minimize(
            safe,
            v0,
            method="Nelder-Mead",
            options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 8000, "maxfev": 16000},
        )
        got = _newton_polish(safe, nm.x, float(nm.fun))
        if best is None or got[1] <= best[1]:
            best, message = got, str(nm.message)
    x, fx, hess, dec = best
    theta = np.exp(x)
    ok = bool(np.isfinite(fx) and fx < 1e299 and np.isfinite(dec) and dec < 1e-4)
    try:
        sym = (hess + hess.T) / 2.0
        pd_ok = bool(np.all(np.linalg.eigvalsh(sym) > 0))
        cov_log = np.linalg.inv(sym) if pd_ok else np.full_like(hess, np.nan)
    except np.linalg.LinAlgError:
        pd_ok, cov_log = False, np.full_like(hess, np.nan)
    cov = cov_log * np.outer(theta, theta)
    diag = np.diag(cov)
    se = np.sqrt(np.where(diag >= 0, diag, np.nan))
    return FitResult(
        model=model,
        params={k: float(v) for k, v in zip(names, theta, strict=True)},
        se={k: float(v) for k, v in zip(names, se, strict=True)},
        loglik=-float(fx),
        n=int(n),
        cov=cov,
        converged=ok and pd_ok,
        message=message,
    )


def _as_arrays(*arrays: Any) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=float).ravel() for a in arrays]
    n = out[0].size
    if any(a.size != n for a in out):
        raise ValueError("all inputs must have the same length")
    return out


def _compress(*cols: np.ndarray, weights: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of ``cols`` with their total weights (speeds up every likelihood)."""
    w = np.ones(cols[0].size) if weights is None else np.asarray(weights, dtype=float)
    stacked = np.column_stack(cols)
    uniq, inv = np.unique(stacked, axis=0, return_inverse=True)
    wt = np.bincount(inv.ravel(), weights=w, minlength=uniq.shape[0])
    return [uniq[:, j] for j in range(uniq.shape[1])], wt


def _check_rft(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("frequency must be a non-negative whole number")
    if np.any(t_x < 0) or np.any(t_x > T + 1e-9):
        raise ValueError("recency must lie between 0 and T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 for customers without repeat purchases")


# ----------------------------------------------------------------------------- BG/NBD
def bgnbd_loglik(
    params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6).

    ``LL = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
    + ln[(α+T)^−(r+x) + 1{x>0} · a/(b+x−1) · (α+t_x)^−(r+x)]``.
    """
    r, alpha, a, b = params
    x, t_x, T = _as_arrays(x, t_x, T)
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
    x, t_x, T = _as_arrays(x, t_x, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            np.log(a)
            - np.log(np.maximum(b + x - 1.0, 1e-300))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.where(x > 0, special.expit(-log_odds), 1.0)


def _bg_expected_alive(
    rate_shape: np.ndarray, rate_rate: np.ndarray, a: np.ndarray, b: np.ndarray, t: np.ndarray
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
    x, t_x, T = _as_arrays(x, t_x, T)
    alive = bgnbd_p_alive(params, x, t_x, T)
    return alive * _bg_expected_alive(r + x, alpha + T, a, b + x, np.asarray(t, dtype=float))


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
    x, t_x, t_cap = _as_arrays(frequency, recency, T)
    _check_rft(x, t_x, t_cap)
    (ux, ut, uT), w = _compress(x, t_x, t_cap, weights=weights)
    scale = max(float(np.mean(t_cap)) / max(float(np.mean(x)), 0.1), 1e-3)

    def negll(v: np.ndarray) -> float:
        return -float(np.sum(w * bgnbd_loglik(np.exp(v), ux, ut, uT)))

    starts = starts or [(1.0, scale, 1.0, 1.0), (0.3, scale / 3, 0.8, 3.0)]
    return _fit("bgnbd", ("r", "alpha", "a", "b"), negll, starts, int(w.sum()))


# ----------------------------------------------------------------------------- Pareto/NBD
def _pnbd_log_a0(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """``ln A0`` of the Pareto/NBD likelihood (Fader & Hardie 2005 note, eq. 22).

    ``A0 = (r+s+x) ∫_{t_x}^{T} (α+y)^−(r+x) (β+y)^−(s+1) dy``, computed with the Gauss
    hypergeometric function; rows where it overflows are integrated numerically.
    """
    K = r + s + x
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
    x, t_x, T = _as_arrays(x, t_x, T)
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
    x, t_x, T = _as_arrays(x, t_x, T)
    log_odds = (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + T)
        + s * np.log(beta + T)
        + _pnbd_log_a0(r, alpha, s, beta, x, t_x, T)
    )
    return special.expit(-log_odds)


def _pareto_expected_alive(
    rate_shape: np.ndarray,
    rate_rate: np.ndarray,
    hazard_shape: np.ndarray,
    hazard_rate: np.ndarray,
    t: np.ndarray,
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
    x, t_x, T = _as_arrays(x, t_x, T)
    alive = pareto_nbd_p_alive(params, x, t_x, T)
    return alive * _pareto_expected_alive(r + x, alpha + T, s, beta + T, np.asarray(t, float))


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
    x, t_x, t_cap = _as_arrays(frequency, recency, T)
    _check_rft(x, t_x, t_cap)
    (ux, ut, uT), w = _compress(x, t_x, t_cap, weights=weights)
    scale = max(float(np.mean(t_cap)) / max(float(np.mean(x)), 0.1), 1e-3)
    span = max(float(np.mean(t_cap)), 1e-3)

    def negll(v: np.ndarray) -> float:
        return -float(np.sum(w * pareto_nbd_loglik(np.exp(v), ux, ut, uT)))

    starts = starts or [(1.0, scale, 1.0, span), (0.5, scale / 2, 0.5, span / 3)]
    return _fit("pareto_nbd", ("r", "alpha", "s", "beta"), negll, starts, int(w.sum()))


# ----------------------------------------------------------------------------- gamma-gamma
def gamma_gamma_loglik(
    params: Sequence[float], frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """Per-customer gamma–gamma log-likelihood of the mean spend ``z̄`` over ``x`` transactions.

    ``ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln z̄ + px ln x − (px+q) ln(γ + x z̄)``.
    """
    p, q, g = params
    x, m = _as_arrays(frequency, monetary_value)
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + x * m)
    )


def gamma_gamma_mean_spend(
    params: Sequence[float], frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """Posterior mean transaction value ``E[p/ν | x, z̄] = p (γ + x z̄) / (p x + q − 1)``."""
    p, q, g = params
    x, m = _as_arrays(frequency, monetary_value)
    return p * (g + x * m) / (p * x + q - 1.0)


def fit_gamma_gamma(
    frequency: Any, monetary_value: Any, *, weights: Any = None, starts: Any = None
) -> FitResult:
    """Fit the gamma–gamma spend model by maximum likelihood.

    Parameters
    ----------
    frequency
        Number of transactions behind each customer's mean (``x ≥ 1``; by convention the repeat
        transactions).
    monetary_value
        Each customer's mean transaction value ``z̄ > 0``.
    weights
        Optional count of customers behind each row.
    starts
        Optional list of ``(p, q, gamma)`` starting points.

    Returns
    -------
    FitResult
        Parameters ``p, q, gamma`` (``gamma`` in money units) with standard errors.
    """
    x, m = _as_arrays(frequency, monetary_value)
    if x.size == 0:
        raise ValueError("no customers with repeat purchases to fit spend")
    if np.any(x < 1) or np.any(m <= 0):
        raise ValueError("gamma-gamma needs x >= 1 and a positive mean spend")
    (ux, um), w = _compress(x, m, weights=weights)
    mean = float(np.average(m, weights=None if weights is None else np.asarray(weights, float)))

    def negll(v: np.ndarray) -> float:
        return -float(np.sum(w * gamma_gamma_loglik(np.exp(v), ux, um)))

    starts = starts or [(2.0, 3.0, mean), (6.0, 4.0, mean / 2.0)]
    return _fit("gamma_gamma", ("p", "q", "gamma"), negll, starts, int(w.sum()))


# ----------------------------------------------------------------------------- sBG
def sbg_survival(alpha: float, beta: float, t: Any) -> np.ndarray:
    """Shifted-beta-geometric survival ``S(t) = B(α, β+t) / B(α, β)``."""
    t = np.asarray(t, dtype=float)
    return np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))


def sbg_loglik(alpha: float, beta: float, survivors: Any) -> float:
    """Log-likelihood of a cohort's survivor counts under the sBG (Fader & Hardie 2007, eq. 6).

    ``survivors[0]`` is the cohort size and ``survivors[t]`` those still active after period
    ``t``. ``LL = Σ_t (n_{t−1} − n_t) ln P(T = t) + n_k ln S(k)`` with
    ``P(T = t) = B(α+1, β+t−1) / B(α, β)``.
    """
    n = np.asarray(survivors, dtype=float)
    t = np.arange(1, n.size)
    lost = n[:-1] - n[1:]
    log_p = special.betaln(alpha + 1.0, beta + t - 1.0) - special.betaln(alpha, beta)
    log_s = special.betaln(alpha, beta + n.size - 1.0) - special.betaln(alpha, beta)
    return float(np.sum(lost * log_p) + n[-1] * log_s)


def fit_sbg(survivors: Any) -> FitResult:
    """Fit the shifted-beta-geometric model to a cohort's survivor counts.

    Parameters
    ----------
    survivors
        Customers still active at the end of periods ``0, 1, …, k`` (``survivors[0]`` = cohort
        size), non-increasing.

    Returns
    -------
    FitResult
        Parameters ``alpha, beta`` with standard errors; ``n`` is the cohort size.
    """
    n = np.asarray(survivors, dtype=float)
    if n.ndim != 1 or n.size < 3:
        raise ValueError("need the cohort size and at least two periods of survivors")
    if np.any(np.diff(n) > 0) or n[-1] < 0 or n[0] <= 0:
        raise ValueError("survivor counts must be positive at the start and non-increasing")

    def negll(v: np.ndarray) -> float:
        return -sbg_loglik(float(np.exp(v[0])), float(np.exp(v[1])), n)

    return _fit("sbg", ("alpha", "beta"), negll, [(1.0, 1.0), (0.5, 3.0)], int(n[0]))


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
