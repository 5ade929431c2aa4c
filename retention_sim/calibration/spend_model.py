"""The gamma–gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999):
a transaction is ``Gamma(p, rate nu)``, ``nu ~ Gamma(q, rate gamma)`` across customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special

from .fitting import FitResult, as_arrays, compress, fit_by_likelihood

__all__ = ["gamma_gamma_loglik", "gamma_gamma_mean_spend", "fit_gamma_gamma"]


def gamma_gamma_loglik(
    params: Sequence[float], frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """Per-customer gamma–gamma log-likelihood of the mean spend ``z̄`` over ``x`` transactions.

    ``ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln z̄ + px ln x − (px+q) ln(γ + x z̄)``.
    """
    p, q, g = params
    x, m = as_arrays(frequency, monetary_value)
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
    x, m = as_arrays(frequency, monetary_value)
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
    x, m = as_arrays(frequency, monetary_value)
    if x.size == 0:
        raise ValueError("no customers with repeat purchases to fit spend")
    if np.any(x < 1) or np.any(m <= 0):
        raise ValueError("gamma-gamma needs x >= 1 and a positive mean spend")
    (ux, um), w = compress(x, m, weights=weights)
    mean = float(np.average(m, weights=None if weights is None else np.asarray(weights, float)))

    def negll(v: np.ndarray) -> float:
        return -float(np.sum(w * gamma_gamma_loglik(np.exp(v), ux, um)))

    starts = starts or [(2.0, 3.0, mean), (6.0, 4.0, mean / 2.0)]
    return fit_by_likelihood("gamma_gamma", ("p", "q", "gamma"), negll, starts, int(w.sum()))
