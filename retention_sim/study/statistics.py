"""Statistics of a policy comparison: t-intervals, paired differences, Holm, sample sizes.

Replications are independent and identically distributed; within one replication every policy
sees the same seed (common random numbers), so the difference candidate − baseline is computed
*per replication* and its mean gets a Student-t interval ("paired" interval). Its width against
the interval that ignores the pairing (Welch, as if the two policies had been run on different
seeds) is the *pairing efficiency*.

Probability of being better
    Under the usual non-informative prior for a normal mean with unknown variance, the posterior
    of the mean paired difference is Student-t with ``n − 1`` degrees of freedom, centred on the
    sample mean with scale ``sd / √n``. The probability that the candidate is better is that
    posterior's mass above zero, ``T_{n−1}(mean / (sd / √n))``; for metrics where lower is better
    (unsubscribe rate, costs, churn), the sign is flipped.

Holm–Bonferroni
    Several candidates against one baseline: two-sided paired t-test p-values are adjusted with
    Holm's step-down procedure (:func:`holm`). The matching interval of candidate *i*
    (:func:`adjusted_interval`) has confidence ``1 − α · p_i / p̃_i`` (``p̃_i`` the adjusted
    p-value): it is the unadjusted interval for a single candidate, the Bonferroni–Holm level
    ``1 − α / (m − rank + 1)`` in the usual case, and it excludes zero exactly when Holm rejects.

Rates and shares
    A rate's mean over replications gets :func:`rate_interval`: the t interval on the logit
    scale by the delta method, ``logit(m) ± t · (sd/√n) / (m(1 − m))``, mapped back. It is
    centred on the mean like the t interval, agrees with it when the rate is far from 0 and 1,
    and stays inside [0, 1]. :func:`probability_above` uses the same scale, so a limit lies above
    the interval's upper bound exactly when the probability of exceeding it is below
    ``(1 − level) / 2``.

Printing probabilities
    With ``n`` replications a posterior probability nearer to 0 or 1 than ``1/(2n)`` is the
    normal model's tail, not something the replications show: :func:`format_probability`
    prints it as "> 97.5%" (n = 20), never "100.0%".

Sample size
    :func:`replications_for_halfwidth` solves ``t_{n−1} · sd / √n ≤ h`` for the smallest ``n``
    (the ``n · (t · sd / h)²`` rule, solved exactly so the t quantile matches ``n``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import special

__all__ = [
    "Interval",
    "t_quantile",
    "t_interval",
    "paired_difference",
    "unpaired_difference",
    "pairing_efficiency",
    "probability_better",
    "paired_p_value",
    "holm",
    "adjusted_interval",
    "replications_for_halfwidth",
    "wilson_interval",
    "rate_interval",
    "probability_above",
    "format_probability",
]


def t_quantile(q: float, df: float) -> float:
    """Quantile ``q`` of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf``).

    Computed with :mod:`scipy.special`, which the engine imports anyway (``scipy.stats`` would
    add almost half a second to ``import retention_sim``).
    """
    return float(special.stdtrit(df, q))


class Interval(NamedTuple):
    """A mean with its confidence interval.

    Attributes
    ----------
    mean, low, high
        The estimate and the interval's bounds.
    halfwidth
        ``(high − low) / 2``.
    sd
        Sample standard deviation of the values (of the differences, for a paired interval).
    n
        Number of values (replications).
    level
        Confidence level of the interval.
    """

    mean: float
    low: float
    high: float
    halfwidth: float
    sd: float
    n: int
    level: float


def _values(x: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError("expected a one-dimensional sequence of values")
    return a


def t_interval(x: Sequence[float] | np.ndarray, level: float = 0.95) -> Interval:
    """Mean and two-sided Student-t interval of i.i.d. values.

    Parameters
    ----------
    x
        Values, one per replication.
    level
        Confidence level, in (0, 1).

    Returns
    -------
    Interval
        With fewer than two values the bounds are NaN.
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    a = _values(x)
    n = int(a.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, math.nan, 0, level)
    mean = float(a.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, math.nan, math.nan, 1, level)
    sd = float(a.std(ddof=1))
    hw = float(t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n))
    return Interval(mean, mean - hw, mean + hw, hw, sd, n, level)


def paired_difference(
    candidate: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    level: float = 0.95,
) -> Interval:
    """Interval of the mean paired difference ``candidate − baseline`` (same replications).

    Parameters
    ----------
    candidate, baseline
        Values of one metric, aligned by replication.
    level
        Confidence level.
    """
    c, b = _values(candidate), _values(baseline)
    if c.shape != b.shape:
        raise ValueError("paired values must have the same length")
    return t_interval(c - b, level)


def unpaired_difference(
    candidate: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    level: float = 0.95,
) -> Interval:
    """Welch interval of the difference of means, treating the two samples as independent.

    This is the interval a study would get without common random numbers; its ``sd`` field is
    the standard error of the difference times ``√n`` of the candidate sample (for comparison
    with a paired interval), and ``n`` the candidate's sample size.
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    c, b = _values(candidate), _values(baseline)
    nc, nb = c.size, b.size
    mean = float(c.mean() - b.mean()) if nc and nb else math.nan
    if nc < 2 or nb < 2:
        return Interval(mean, math.nan, math.nan, math.nan, math.nan, int(nc), level)
    vc, vb = c.var(ddof=1) / nc, b.var(ddof=1) / nb
    se = math.sqrt(vc + vb)
    if se == 0.0:
        return Interval(mean, mean, mean, 0.0, 0.0, int(nc), level)
    df = (vc + vb) ** 2 / (vc**2 / (nc - 1) + vb**2 / (nb - 1))
    hw = float(t_quantile(0.5 + level / 2.0, df) * se)
    return Interval(mean, mean - hw, mean + hw, hw, se * math.sqrt(nc), int(nc), level)


def pairing_efficiency(
    candidate: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    level: float = 0.95,
) -> float:
    """How many times narrower the paired interval is than the unpaired (Welch) one.

    Returns
    -------
    float
        ``unpaired half-width / paired half-width``; ``inf`` when the paired differences do not
        vary, NaN with fewer than two replications.
    """
    p = paired_difference(candidate, baseline, level)
    u = unpaired_difference(candidate, baseline, level)
    if math.isnan(p.halfwidth) or math.isnan(u.halfwidth):
        return math.nan
    if p.halfwidth == 0.0:
        return math.inf if u.halfwidth > 0 else 1.0
    return u.halfwidth / p.halfwidth


def probability_better(
    differences: Sequence[float] | np.ndarray, *, lower_is_better: bool = False
) -> float:
    """Posterior probability that the mean difference favours the candidate.

    Parameters
    ----------
    differences
        Paired differences candidate − baseline, one per replication.
    lower_is_better
        For metrics such as unsubscribe rate or cost: "better" means a negative difference.

    Returns
    -------
    float
        ``P(μ > 0 | data)`` (``P(μ < 0 | data)`` if ``lower_is_better``) under the reference
        prior, i.e. ``T_{n−1}(mean · √n / sd)``. With zero spread: 1, 0 or 0.5 by the sign of
        the mean; NaN with fewer than two values.
    """
    d = _values(differences)
    if lower_is_better:
        d = -d
    n = d.size
    if n < 2:
        return math.nan
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0.0:
        return 1.0 if mean > 0 else (0.0 if mean < 0 else 0.5)
    return float(special.stdtr(n - 1, mean / (sd / math.sqrt(n))))


def paired_p_value(differences: Sequence[float] | np.ndarray) -> float:
    """Two-sided p-value of the paired t-test of "mean difference = 0".

    With zero spread the p-value is 0 for a non-zero mean and 1 for a zero mean.
    """
    d = _values(differences)
    n = d.size
    if n < 2:
        return math.nan
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0.0:
        return 0.0 if mean != 0.0 else 1.0
    t = abs(mean) / (sd / math.sqrt(n))
    return float(2.0 * special.stdtr(n - 1, -t))


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    Parameters
    ----------
    p_values
        One unadjusted p-value per hypothesis (NaN stays NaN and does not count).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order: reject hypothesis *i* at family-wise level α when
        its adjusted p-value is below α.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = _values(p_values)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def adjusted_interval(
    differences: Sequence[float] | np.ndarray,
    p_value: float,
    adjusted_p_value: float,
    level: float = 0.95,
) -> Interval:
    """The paired interval widened to agree with a Holm decision.

    Its confidence is ``1 − α · p / p̃`` with ``α = 1 − level``: it excludes zero exactly when
    the Holm-adjusted p-value ``p̃`` is below ``α``.

    Parameters
    ----------
    differences
        Paired differences of one candidate.
    p_value, adjusted_p_value
        The candidate's paired t-test p-value and its Holm-adjusted value.
    level
        Family-wise confidence level.
    """
    alpha = 1.0 - level
    if (
        math.isnan(p_value)
        or math.isnan(adjusted_p_value)
        or adjusted_p_value <= 0.0
        or p_value >= adjusted_p_value
    ):
        return t_interval(differences, level)
    return t_interval(differences, 1.0 - alpha * p_value / adjusted_p_value)


def replications_for_halfwidth(
    sd: float, halfwidth: float, level: float = 0.95, *, n_min: int = 2, n_max: int = 10**7
) -> int:
    """Smallest number of replications whose t-interval half-width is at most ``halfwidth``.

    Parameters
    ----------
    sd
        Standard deviation of one replication's value (of the paired difference).
    halfwidth
        Wanted half-width (positive).
    level
        Confidence level.
    n_min, n_max
        Bounds of the answer.

    Returns
    -------
    int
        ``n`` with ``t_{n−1}(level) · sd / √n ≤ halfwidth``; ``n_max`` if even that is not
        enough (or ``halfwidth`` is 0 while ``sd`` is not).
    """
    if math.isnan(sd) or math.isnan(halfwidth):
        raise ValueError("sd and halfwidth must be numbers")
    if sd <= 0.0:
        return n_min
    if halfwidth <= 0.0:
        return n_max
    q = 0.5 + level / 2.0

    def fits(n: int) -> bool:
        return bool(t_quantile(q, n - 1) * sd / math.sqrt(n) <= halfwidth)

    n_min = max(2, n_min)
    if fits(n_min):
        return n_min
    if not fits(n_max):
        return n_max
    lo, hi = n_min, n_max  # the half-width falls with n: bisect for the first n that fits
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n``.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when ``n`` is 0.
    """
    if n <= 0:
        return math.nan, math.nan
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    z = float(special.ndtri(0.5 + level / 2.0))
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def rate_interval(x: Sequence[float] | np.ndarray, level: float = 0.95) -> Interval:
    """Mean of a rate or share over replications, with an interval inside [0, 1].

    Parameters
    ----------
    x
        Values in [0, 1], one per replication.
    level
        Confidence level, in (0, 1).

    Returns
    -------
    Interval
        ``mean`` is the plain mean; ``low, high`` are the t interval of the logit of the mean
        by the delta method, mapped back. A mean of exactly 0 or 1, or values that do not vary,
        give a zero-width interval; fewer than two values give NaN bounds.

    Raises
    ------
    ValueError
        For a value outside [0, 1].
    """
    iv = t_interval(x, level)
    a = _values(x)
    if a.size and (np.any(a < 0.0) or np.any(a > 1.0)):
        raise ValueError("a rate must lie in [0, 1]")
    if iv.n < 2:
        return iv
    m = iv.mean
    if float(np.ptp(a)) == 0.0 or m <= 0.0 or m >= 1.0:
        return Interval(m, m, m, 0.0, 0.0, iv.n, level)
    spread = t_quantile(0.5 + level / 2.0, iv.n - 1) * iv.sd / math.sqrt(iv.n) / (m * (1.0 - m))
    low, high = _expit(_logit(m) - spread), _expit(_logit(m) + spread)
    return Interval(m, low, high, (high - low) / 2.0, iv.sd, iv.n, level)


def probability_above(
    x: Sequence[float] | np.ndarray, limit: float, *, rate: bool = False
) -> float:
    """Posterior probability that the mean of ``x`` exceeds ``limit``.

    Parameters
    ----------
    x
        Values, one per replication (a level, or paired differences).
    limit
        The threshold.
    rate
        The values are a rate in [0, 1]: work on the logit scale of :func:`rate_interval`.

    Returns
    -------
    float
        ``1 − T_{n−1}((limit − mean) / (sd/√n))`` under the reference prior (on the logit
        scale for a rate). With zero spread: 1 if the mean exceeds the limit, else 0. NaN with
        fewer than two values.
    """
    a = _values(x)
    n = a.size
    if n < 2:
        return math.nan
    m, sd = float(a.mean()), float(a.std(ddof=1))
    if float(np.ptp(a)) == 0.0:
        sd = 0.0
    if rate and 0.0 < m < 1.0 and sd > 0.0:
        if limit <= 0.0:
            return 1.0
        if limit >= 1.0:
            return 0.0
        scale = sd / math.sqrt(n) / (m * (1.0 - m))
        return float(special.stdtr(n - 1, (_logit(m) - _logit(limit)) / scale))
    if sd == 0.0 or (rate and not 0.0 < m < 1.0):
        return 1.0 if m > limit else 0.0
    return float(special.stdtr(n - 1, (m - limit) / (sd / math.sqrt(n))))


def format_probability(p: float, replications: int) -> str:
    """A probability estimated from ``replications`` runs, in percent, never "100.0%".

    Beyond ``1 − 1/(2n)`` (below ``1/(2n)``) it reads "> 97.5%" ("< 2.5%") for ``n = 20``.
    """
    if p is None or math.isnan(p):
        return "n/a"
    edge = 1.0 / (2.0 * max(int(replications), 1))
    edge = max(edge, 0.001)
    if p > 1.0 - edge:
        return f"> {1.0 - edge:.1%}"
    if p < edge:
        return f"< {edge:.1%}"
    return f"{p:.1%}"
