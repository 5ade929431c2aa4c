"""Lifecycle stages: new → active → loyal ⇄ at risk → lapsed → churned; won back on return.

The daily reclassification keeps each customer's at-risk and lapsed thresholds between days.
It has a compiled kernel (:func:`_stages_kernel`: the day's threshold refresh and
classification in one pass over the rows) and a NumPy reference (:meth:`Stages.step_reference`)
beside it; :mod:`.kernels` says which one runs, and a test checks that they agree.
"""

from __future__ import annotations

import numpy as np

from ..vocabulary import Stage
from .kernels import compiled, njit
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
        #: Whether :meth:`step` uses the compiled kernel (see :mod:`.kernels`).
        self.compiled = compiled()
        self._scratch: tuple[np.ndarray, np.ndarray] | None = None

    def step(self, day: int) -> None:
        """Reclassify every present customer; changes are counted in the transition matrix.

        A customer's at-risk and lapsed thresholds depend on their purchase history only, so
        they are kept between days and recomputed for the customers who bought today (every
        purchase, an arrival's first one included, sets ``last_purchase_day`` to the day). The
        compiled kernel (:meth:`step_compiled`) runs when switched on (:mod:`.kernels`), the
        NumPy reference (:meth:`step_reference`) otherwise; both do the same.
        """
        if self.compiled:
            self.step_compiled(day)
        else:
            self.step_reference(day)

    def step_reference(self, day: int) -> None:
        """The day's reclassification in NumPy (the reference of :meth:`step_compiled`)."""
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

    def step_compiled(self, day: int) -> None:
        """The day's reclassification by the compiled kernel: what :meth:`step_reference` does.

        The first day's thresholds (every row's) are computed in NumPy, as by the reference.
        """
        world = self.world
        pop = world.pop
        st = world.scenario.stages
        refresh = self._thresholds is not None
        if self._thresholds is None:
            self._thresholds = _thresholds(world, slice(None))
        at_risk_after, lapsed_after = self._thresholds
        if self._scratch is None or self._scratch[0].size != pop.capacity:
            self._scratch = (
                np.empty(pop.capacity, dtype=np.int64),
                np.empty(pop.capacity, dtype=np.int8),
            )
        out_rows, out_stage = self._scratch
        loyal_tier = -1 if st.loyal_min_tier is None else pop.tier_names.index(st.loyal_min_tier)
        loyal_purchases = -1 if st.loyal_min_purchases is None else int(st.loyal_min_purchases)
        n = _stages_kernel(
            int(day), refresh, world.present, pop.stage,
            pop.last_purchase_day, pop.first_purchase_day, pop.n_purchases,
            pop.segment, pop.segment_cycle_days, pop.acquired_day, pop.won_back_day, pop.tier,
            at_risk_after, lapsed_after,
            float(st.at_risk_min_days), float(st.at_risk_cycles),
            float(st.lapsed_min_days), float(st.lapsed_cycles),
            int(st.onboarding_days), int(st.won_back_days), int(loyal_tier), loyal_purchases,
            out_rows, out_stage,
        )  # fmt: skip
        if n:
            world.set_stage(out_rows[:n], out_stage[:n])


_NEW, _ACTIVE, _LOYAL = Stage.NEW, Stage.ACTIVE, Stage.LOYAL
_AT_RISK, _LAPSED, _WON_BACK = Stage.AT_RISK, Stage.LAPSED, Stage.WON_BACK


@njit
def _stages_kernel(
    day, refresh, present, stage,
    last_purchase_day, first_purchase_day, n_purchases,
    segment, segment_cycle_days, acquired_day, won_back_day, tier,
    at_risk_after, lapsed_after,
    at_risk_min, at_risk_cycles, lapsed_min, lapsed_cycles,
    onboarding_days, won_back_days, loyal_tier, loyal_purchases,
    out_rows, out_stage,
):  # fmt: skip
    """One day's reclassification in one pass over the rows.

    With ``refresh``, the at-risk and lapsed thresholds (``at_risk_after``, ``lapsed_after``,
    updated in place) of the rows that bought on ``day`` are recomputed, operation for operation
    as :func:`own_cycle_days` and :func:`_thresholds` do. Each row is then classified with
    :func:`_classify`'s precedence (lapsed, at risk, new, won back, loyal, active);
    ``loyal_tier`` and ``loyal_purchases`` are -1 when that criterion is off. The present rows
    whose stage changes (ascending) and their new stage go into ``out_rows``/``out_stage``;
    returns how many.
    """
    n_out = 0
    use_tier = loyal_tier >= 0
    use_purchases = loyal_purchases >= 0
    for i in range(present.size):
        last = last_purchase_day[i]
        if refresh and last == day:
            n = n_purchases[i]
            if n >= 2:
                cyc = np.float64(last - first_purchase_day[i]) / max(n - 1, 1)
            else:
                cyc = segment_cycle_days[segment[i]]
            cyc = max(cyc, 1.0)
            at_risk_after[i] = max(at_risk_min, at_risk_cycles * cyc)
            lapsed_after[i] = max(lapsed_min, lapsed_cycles * cyc)
        # _classify's precedence, lowest first, each stage overriding the ones before it
        # (selects rather than branches: the stages of neighbouring rows are mixed)
        recency = day - last
        loyal = (use_tier and tier[i] >= loyal_tier) | (
            use_purchases and n_purchases[i] >= loyal_purchases
        )
        s = _LOYAL if loyal else _ACTIVE
        s = _WON_BACK if day - won_back_day[i] < won_back_days else s
        s = _NEW if day - acquired_day[i] < onboarding_days else s
        s = _AT_RISK if recency > at_risk_after[i] else s
        s = _LAPSED if recency > lapsed_after[i] else s
        if present[i] and s != stage[i]:
            out_rows[n_out] = i
            out_stage[n_out] = s
            n_out += 1
    return n_out
