"""Lifecycle stages: new → active → loyal ⇄ at risk → lapsed → churned; won back on return."""

from __future__ import annotations

import numpy as np

from ..vocabulary import Stage
from .world import World

__all__ = ["Stages", "classify", "own_cycle_days"]


def own_cycle_days(world: World, rows: np.ndarray | slice) -> np.ndarray:
    """Each customer's observed purchase cycle: mean days between their purchases.

    Customers with a single purchase use their segment's typical cycle (365 / mean rate).
    ``rows`` may be ``slice(None)`` for every row.
    """
    pop = world.pop
    n = pop.n_purchases[rows]
    span = (pop.last_purchase_day[rows] - pop.first_purchase_day[rows]).astype(np.float64)
    seg_cycle = pop.segment_cycle_days[pop.segment[rows]]
    cyc = np.where(n >= 2, span / np.maximum(n - 1, 1), seg_cycle)
    return np.maximum(cyc, 1.0)


def _thresholds(world: World, rows: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
    """Days without a purchase after which each customer is at risk, and lapsed."""
    st = world.scenario.stages
    cyc = own_cycle_days(world, rows)
    at_risk = np.maximum(st.at_risk_min_days, st.at_risk_cycles * cyc)
    lapsed = np.maximum(st.lapsed_min_days, st.lapsed_cycles * cyc)
    return at_risk, lapsed


def classify(world: World, rows: np.ndarray | slice, day: int) -> np.ndarray:
    """The stage each present customer in ``rows`` is in on ``day`` (before churn is decided).

    In order of precedence: lapsed (days since purchase past both ``lapsed_min_days`` and
    ``lapsed_cycles`` own cycles), at risk (likewise with the at-risk thresholds), new (within
    ``onboarding_days`` of acquisition), won back (within ``won_back_days`` of a return), loyal
    (tier at least ``loyal_min_tier`` or at least ``loyal_min_purchases`` purchases), active.
    """
    return _classify(world, rows, day, *_thresholds(world, rows))


def _classify(
    world: World,
    rows: np.ndarray | slice,
    day: int,
    at_risk_after: np.ndarray,
    lapsed_after: np.ndarray,
) -> np.ndarray:
    pop = world.pop
    st = world.scenario.stages
    recency = day - pop.last_purchase_day[rows]
    at_risk = recency > at_risk_after
    lapsed = recency > lapsed_after
    new = (day - pop.acquired_day[rows]) < st.onboarding_days
    won = (day - pop.won_back_day[rows]) < st.won_back_days
    n = recency.shape[0]
    loyal = np.zeros(n, dtype=bool)
    if st.loyal_min_tier is not None:
        k = world.pop.tier_names.index(st.loyal_min_tier)
        loyal |= pop.tier[rows] >= k
    if st.loyal_min_purchases is not None:
        loyal |= pop.n_purchases[rows] >= st.loyal_min_purchases
    out = np.full(n, Stage.ACTIVE, dtype=np.int8)
    out[loyal] = Stage.LOYAL
    out[won] = Stage.WON_BACK
    out[new] = Stage.NEW
    out[at_risk] = Stage.AT_RISK
    out[lapsed] = Stage.LAPSED
    return out


class Stages:
    """The daily reclassification of one run, keeping each customer's thresholds between days."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._thresholds: tuple[np.ndarray, np.ndarray] | None = None

    def step(self, day: int) -> None:
        """Reclassify every present customer; changes are counted in the transition matrix.

        A customer's at-risk and lapsed thresholds depend on their purchase history only, so
        they are kept between days and recomputed for the customers who bought today (every
        purchase, an arrival's first one included, sets ``last_purchase_day`` to the day).
        """
        world = self.world
        cached = self._thresholds
        if cached is None:
            cached = self._thresholds = _thresholds(world, slice(None))
        else:
            bought = np.flatnonzero(world.pop.last_purchase_day == day)
            if bought.size:
                at_risk, lapsed = _thresholds(world, bought)
                cached[0][bought] = at_risk
                cached[1][bought] = lapsed
        new = _classify(world, slice(None), day, *cached)
        changed = np.flatnonzero(world.present & (new != world.pop.stage))
        if changed.size:
            world.set_stage(changed, new[changed])
