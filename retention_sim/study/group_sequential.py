"""Group-sequential boundaries: O'Brien–Fleming constants for equally spaced looks.

O'Brien, P. C. and Fleming, T. R. (1979), *A multiple testing procedure for clinical trials*,
Biometrics 35, 549–556. Published constants: Jennison, C. and Turnbull, B. W. (2000), *Group
Sequential Methods with Applications to Clinical Trials*, Table 2.3.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..errors import InputError

__all__ = ["obrien_fleming"]


def obrien_fleming(
    looks: int, *, alpha: float = 0.05, power: float = 0.8, paths: int = 200_000, seed: int = 0
) -> tuple[float, float]:
    """O'Brien–Fleming constants for ``looks`` equally spaced analyses.

    Returns
    -------
    tuple of float
        ``(C, R)``: the boundaries are ``C·√(looks/k)`` at look ``k`` (two-sided level ``alpha``);
        ``R`` is the factor on the fixed design's size that keeps ``power``. Both are computed
        from ``paths`` simulated paths of the standardised statistics (a fixed seed), so they are
        exact up to Monte Carlo error (about ±0.005 on ``C``).
    """
    if looks < 1:
        raise InputError(f"looks must be at least 1, got {looks}")
    if looks == 1:
        return float(special.ndtri(1 - alpha / 2)), 1.0
    rng = np.random.default_rng(seed)
    steps = rng.standard_normal((paths, looks))
    k = np.arange(1, looks + 1)
    sums = np.cumsum(steps, axis=1)
    z = sums / np.sqrt(k)
    stat = np.max(np.abs(z) * np.sqrt(k / looks), axis=1)
    c = float(np.quantile(stat, 1 - alpha))
    bound = c * np.sqrt(looks / k)
    z_fixed = float(special.ndtri(1 - alpha / 2) + special.ndtri(power))

    def seq_power(r: float) -> float:
        drift = z_fixed * math.sqrt(r) * np.sqrt(k / looks)  # E[z_k] at a size of r·n
        hit = (z + drift) >= bound
        return float(hit.any(axis=1).mean())

    lo, hi = 1.0, 1.5
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if seq_power(mid) < power else (lo, mid)
    return c, hi
