"""The shifted-beta-geometric retention model (Fader & Hardie 2007, "How to project customer
retention"): each customer's yearly churn probability is ``theta ~ Beta(alpha, beta)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .fitting import FitResult, fit_by_likelihood

__all__ = ["sbg_survival", "sbg_loglik", "fit_sbg"]


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

    return fit_by_likelihood("sbg", ("alpha", "beta"), negll, [(1.0, 1.0), (0.5, 3.0)], int(n[0]))
