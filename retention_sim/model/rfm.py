"""RFM segmentation: quintile scores for recency, frequency and monetary value; named segments.

Scores are 1–5 by rank among the customers present (5 = most recent / most frequent / highest
spend). Named segments follow the common R×F map; VIP is the top 25% on all three at once (seed
article 001).
"""

from __future__ import annotations

from typing import cast

import numpy as np

from ..config.policy import RFM_SEGMENTS
from .ranking import stable_argsort
from .value import deciles, predicted_value
from .world import World

__all__ = ["rfm_scores", "rfm_segments", "vip_mask", "SEGMENT_CODES", "RfmSegments"]

SEGMENT_CODES = {name: k for k, name in enumerate(RFM_SEGMENTS)}


def _rank_share(values: np.ndarray) -> np.ndarray:
    """Share of customers strictly below each value (ties share the lower rank), in [0, 1).

    Integers over a modest range (days, counts) are ranked by counting, in linear time; other
    values by one sort, each tie run taking the rank of its first member.
    """
    n = values.size
    if n == 0:
        return np.zeros(0)
    if np.issubdtype(values.dtype, np.integer):
        lo = int(values.min())
        if int(values.max()) - lo <= 4 * n + 1024:
            counts = np.bincount(values - lo)
            below = np.cumsum(counts) - counts
            return below[values - lo] / n
    order = stable_argsort(values)
    ranked = values[order]
    first = np.arange(n)
    first[1:][ranked[1:] == ranked[:-1]] = 0  # a tie keeps the rank of its run's first member
    np.maximum.accumulate(first, out=first)
    out = np.empty(n)
    out[order] = first / n
    return out


def rfm_scores(
    recency_days: np.ndarray, frequency: np.ndarray, monetary: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Quintile scores (1–5) and the rank shares used for VIP.

    Returns ``(r, f, m, shares)`` where ``shares`` is a ``3 × n`` array of rank shares.
    """
    sr = _rank_share(-np.asarray(recency_days))
    sf = _rank_share(np.asarray(frequency))
    sm = _rank_share(np.asarray(monetary, dtype=float))
    score = lambda s: (1 + np.floor(s * 5)).astype(np.int8)  # noqa: E731
    return score(sr), score(sf), score(sm), np.vstack([sr, sf, sm])


def rfm_segments(r: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Named segment codes (see :data:`SEGMENT_CODES`) from R and F scores."""
    c = SEGMENT_CODES
    out = np.full(r.shape, c["need_attention"], dtype=np.int8)
    out[(r == 1) & (f <= 2)] = c["lost"]
    out[(r == 2) & (f <= 2)] = c["hibernating"]
    out[(r <= 2) & ((f == 3) | (f == 4))] = c["at_risk"]
    out[(r <= 2) & (f == 5)] = c["cant_lose"]
    out[(r == 4) & (f == 1)] = c["promising"]
    out[(r == 5) & (f == 1)] = c["new"]
    out[(r >= 4) & ((f == 2) | (f == 3))] = c["potential_loyalist"]
    out[(r == 3) & (f >= 4)] = c["loyal"]
    out[(r >= 4) & (f >= 4)] = c["champions"]
    return out


def vip_mask(shares: np.ndarray) -> np.ndarray:
    """Top 25% on recency, frequency and monetary value at once."""
    # ``shares`` is 2-D (score × customer), so the reduction is an array, never a scalar
    return cast(np.ndarray, (shares >= 0.75).all(axis=0))


class RfmSegments:
    """Each present customer's RFM segment and VIP flag, refreshed every few days.

    Audiences filter on them; customers not present have segment ``-1``.
    """

    def __init__(self, capacity: int) -> None:
        self.segment = np.full(capacity, -1, dtype=np.int8)
        self.vip = np.zeros(capacity, dtype=bool)
        # value-based audiences (model/value.py): deciles 1-10 among the present, 0 elsewhere
        self.value_decile = np.zeros(capacity, dtype=np.int8)
        self.spend_decile = np.zeros(capacity, dtype=np.int8)

    def refresh(self, world: World, day: int) -> None:
        """Score the customers present on ``day`` (quintiles among them) and name segments."""
        pop = world.pop
        rows = world.present_rows()
        self.segment[:] = -1
        self.vip[:] = False
        self.value_decile[:] = 0
        self.spend_decile[:] = 0
        if rows.size == 0:
            return
        self.value_decile[rows] = deciles(predicted_value(world, rows))
        self.spend_decile[rows] = deciles(pop.spend_total[rows])
        r, f, _m, shares = rfm_scores(
            day - pop.last_purchase_day[rows], pop.n_purchases[rows], pop.spend_total[rows]
        )
        self.segment[rows] = rfm_segments(r, f)
        self.vip[rows] = vip_mask(shares)
