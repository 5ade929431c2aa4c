"""Maximum-likelihood fitting shared by the customer-base models, with standard errors.

The models live beside it: :mod:`.purchase_models` (BG/NBD and Pareto/NBD),
:mod:`.spend_model` (gamma–gamma) and :mod:`.retention_model` (shifted-beta-geometric).

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
from scipy import optimize

__all__ = ["FitResult", "fit_by_likelihood", "as_arrays", "compress", "check_rft"]


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


def fit_by_likelihood(
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


def as_arrays(*arrays: Any) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=float).ravel() for a in arrays]
    n = out[0].size
    if any(a.size != n for a in out):
        raise ValueError("all inputs must have the same length")
    return out


def compress(*cols: np.ndarray, weights: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of ``cols`` with their total weights (speeds up every likelihood)."""
    w = np.ones(cols[0].size) if weights is None else np.asarray(weights, dtype=float)
    stacked = np.column_stack(cols)
    uniq, inv = np.unique(stacked, axis=0, return_inverse=True)
    wt = np.bincount(inv.ravel(), weights=w, minlength=uniq.shape[0])
    return [uniq[:, j] for j in range(uniq.shape[1])], wt


def check_rft(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("frequency must be a non-negative whole number")
    if np.any(t_x < 0) or np.any(t_x > T + 1e-9):
        raise ValueError("recency must lie between 0 and T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 for customers without repeat purchases")
