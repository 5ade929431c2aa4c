"""Selecting the best of many systems: the fully sequential KN procedure.

Kim, S.-H. and Nelson, B. L. (2001), *A fully sequential procedure for indifference-zone
selection in simulation*, ACM Transactions on Modeling and Computer Simulation 11(3), 251–273.

The systems are sampled replication by replication; replication ``r`` of every system still in
contention uses the same random numbers (common random numbers), so the procedure works with
the variances of the *differences*. With ``k`` systems, a first stage of ``n0`` replications,
a stated probability of correct selection ``1 − α`` and an indifference zone ``δ``:

- ``η = ½ [(2α / (k − 1))^(−2/(n0 − 1)) − 1]`` and ``h² = 2η(n0 − 1)``;
- ``S²_il`` is the sample variance of ``X_i − X_l`` over the first stage;
- after each replication ``r ≥ n0``, system ``i`` stays only if
  ``X̄_i(r) ≥ X̄_l(r) − W_il(r)`` for every other system ``l`` still in contention, with
  ``W_il(r) = max(0, δ/(2r) · (h² S²_il / δ² − r))``;
- it stops when one system is left, or at ``r = max N_il + 1`` with ``N_il = ⌊h² S²_il / δ²⌋``
  (then the largest mean is selected).

If the outputs are normal and the best mean exceeds every other by at least ``δ``, the best is
selected with probability at least ``1 − α`` (the paper's Theorem 1; unequal and unknown
variances and common random numbers allowed). A simulation's replication mean over thousands of
customers is close to normal. Within the indifference zone the procedure selects a system
within ``δ`` of the best (a "good" selection), which the tests measure too.

KN++ (Kim and Nelson 2006) updates ``S²_il`` as data come in, which is valid asymptotically;
KN keeps the first-stage variances and holds exactly for normal data, so it is the one used
here. The procedure is written against a sampling function, so the study (``select``) and
the statistical tests drive the same code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["KNOutcome", "kn_constants", "kn_select"]


@dataclass
class KNOutcome:
    """What the KN procedure did.

    Attributes
    ----------
    selected
        Index of the selected system.
    replications
        Replications of each system the procedure used (``n0`` for those screened out after
        the first stage).
    eliminated
        ``(system, after_replications, by)``: when each system left and which system's mean
        it fell behind.
    eta, h2
        The procedure's constants.
    max_replications_needed
        ``max N_il + 1``: the replications at which the procedure stops at the latest.
    equal_allocation
        Replications that equal allocation needs for the same guarantee from the same first
        stage: ``max(n0, max N_il + 1)`` for each system in contention, plus ``n0`` for each
        system left out from the start (``alive``).
    capped
        The procedure hit the caller's cap before it stopped; the largest mean was selected and
        the guarantee does not hold.
    means
        Each system's mean over its replications.
    """

    selected: int
    replications: list[int]
    eliminated: list[tuple[int, int, int]] = field(default_factory=list)
    eta: float = math.nan
    h2: float = math.nan
    max_replications_needed: int = 0
    equal_allocation: int = 0
    capped: bool = False
    means: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Replications used in all."""
        return int(sum(self.replications))


def kn_constants(k: int, n0: int, pcs: float) -> tuple[float, float]:
    """``(η, h²)`` of the KN procedure for ``k`` systems, first stage ``n0`` and PCS ``pcs``."""
    if k < 2:
        raise ValueError("KN needs at least two systems")
    if n0 < 2:
        raise ValueError("the first stage needs at least two replications")
    if not 1.0 / k < pcs < 1.0:
        raise ValueError(f"pcs must lie between 1/k = {1.0 / k:.3f} and 1, got {pcs}")
    alpha = 1.0 - pcs
    eta = 0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)
    return eta, 2.0 * eta * (n0 - 1)


def kn_select(
    first_stage: np.ndarray,
    sample: Callable[[Sequence[int], int], np.ndarray],
    *,
    pcs: float,
    indifference: float,
    max_replications: int | None = None,
    alive: Sequence[int] | None = None,
) -> KNOutcome:
    """Run the KN procedure (larger is better).

    Parameters
    ----------
    first_stage
        ``(n0, k)``: the first ``n0`` replications of every system, row ``r`` on common random
        numbers.
    sample
        ``sample(systems, r)`` returns replication ``r`` (0-based) of each of ``systems``, in
        that order.
    pcs
        The stated probability of correct selection, ``1 − α``.
    indifference
        ``δ > 0``, in the output's units: differences smaller than this do not matter.
    max_replications
        Stop here at the latest (then ``capped`` is set).
    alive
        The systems in contention at the start (default: all); the others are not sampled.

    Returns
    -------
    KNOutcome
    """
    x = np.asarray(first_stage, dtype=float)
    n0, k = x.shape
    if not indifference > 0:
        raise ValueError(f"indifference must be positive, got {indifference}")
    systems = list(range(k)) if alive is None else sorted(set(alive))
    n_alive = len(systems)
    eta, h2 = kn_constants(max(len(systems), 2), n0, pcs)
    diff = x[:, :, None] - x[:, None, :]
    s2 = diff.var(axis=0, ddof=1)
    n_il = np.floor(h2 * s2 / indifference**2)
    pairs = [(i, j) for i in systems for j in systems if i != j]
    stop_at = int(max((n_il[i, j] for i, j in pairs), default=0)) + 1
    sums = x.sum(axis=0)
    reps = [n0] * k
    eliminated: list[tuple[int, int, int]] = []
    capped = False
    r = n0
    while True:
        means = sums / r
        keep = []
        for i in systems:
            worst, by = 0.0, -1
            for j in systems:
                if i == j:
                    continue
                w = max(0.0, indifference / (2 * r) * (h2 * s2[i, j] / indifference**2 - r))
                gap = means[j] - w - means[i]
                if gap > worst:
                    worst, by = gap, j
            if by < 0:
                keep.append(i)
            else:
                eliminated.append((i, r, by))
        systems = keep
        if len(systems) == 1:
            selected = systems[0]
            break
        if r >= stop_at or (max_replications is not None and r >= max_replications):
            capped = r < stop_at
            selected = max(systems, key=lambda s: (means[s], -s))
            break
        values = np.asarray(sample(systems, r), dtype=float)
        for s, v in zip(systems, values, strict=True):
            sums[s] += v
            reps[s] = r + 1
        r += 1
    final = [float(sums[s] / reps[s]) for s in range(k)]
    return KNOutcome(
        selected=selected,
        replications=reps,
        eliminated=eliminated,
        eta=eta,
        h2=h2,
        max_replications_needed=stop_at,
        equal_allocation=n0 * (k - n_alive) + n_alive * max(n0, stop_at),
        capped=capped,
        means=final,
    )
