"""Competing churn hazards by cause, each with its own exponential clock.

Every customer holds one Exp(1) threshold per cause, drawn at creation. Each day the cause's
hazard (base × modifiers) is added to its cumulative hazard; the cause fires when the cumulative
hazard passes the threshold. When several causes pass on the same day, the one that passed
first within the day (the smallest fraction of the day's hazard needed) wins. This is exact for
hazards that are constant within a day, and it keeps each cause's luck independent of every
other cause and of the policy (common random numbers).
"""

from __future__ import annotations

import numpy as np

from .social import spread_churn
from .vocabulary import CAUSES, STAGES, Stage
from .world import World

__all__ = ["hazards", "churn_step"]

_I = {c: k for k, c in enumerate(CAUSES)}


def _tables(world: World) -> dict[str, np.ndarray]:
    t = world.components.get("churn_tables")
    if t is None:
        c = world.scenario.churn.causes
        tiers = [x.name for x in world.scenario.loyalty.tiers]
        t = {
            "indiff_stage": np.array([c.indifference.stage_multiplier.get(s, 1.0) for s in STAGES]),
            "tier": np.array([c.competitor.tier_multiplier.get(n, 1.0) for n in tiers]),
        }
        world.components["churn_tables"] = t
    return t


def hazards(world: World, rows: np.ndarray, day: int) -> np.ndarray:
    """Daily hazard of each cause for ``rows`` (shape ``rows × causes``).

    Modifiers (see ``docs/model.md``):

    - friends: × (1 + per_churned_tie × exposure)
    - competitor: × pressure(day) × tier multiplier × demotion multiplier (recently demoted)
      × dormant wake-up multiplier (a lapsed customer contacted recently)
    - dissatisfaction: × exp(k × (reference − satisfaction)) × (1 + per_unresolved × open issues)
    - indifference: × stage multiplier × min(max, 1 + growth × max(0, days since valued touch −
      grace) / 30); the ``new`` stage's multiplier stops once the customer is onboarded (their
      first valued touch from a contact)
    - annoyance: h × max(0, total fatigue / tolerance − 1)
    """
    pop = world.pop
    sc = world.scenario
    c = sc.churn.causes
    t = _tables(world)
    h = pop.base_hazard[rows].copy()
    if c.friends.per_churned_tie:
        h[:, _I["friends"]] *= 1.0 + c.friends.per_churned_tie * pop.exposure[rows]
    comp = world.competitor_pressure * t["tier"][pop.tier[rows]]
    if c.competitor.demotion_multiplier != 1.0:
        recent = (day - pop.demoted_day[rows]) < c.competitor.demotion_memory_days
        comp = np.where(recent, comp * c.competitor.demotion_multiplier, comp)
    wake = world.components.get("wakeup")
    if wake is not None and wake[1] != 1.0:
        comp = np.where(wake[0][rows], comp * wake[1], comp)
    h[:, _I["competitor"]] *= comp
    dis = c.dissatisfaction
    ref = sc.satisfaction.reference
    h[:, _I["dissatisfaction"]] *= np.exp(
        dis.satisfaction_sensitivity * (ref - pop.satisfaction[rows])
    )
    if dis.per_unresolved_issue:
        h[:, _I["dissatisfaction"]] *= 1.0 + dis.per_unresolved_issue * pop.unresolved[rows]
    ind = c.indifference
    clock = day - pop.last_valued_touch_day[rows]
    grow = np.minimum(
        ind.max_multiplier,
        1.0 + ind.growth_per_30_days * np.maximum(0.0, clock - ind.grace_days) / 30.0,
    )
    stage_m = t["indiff_stage"][pop.stage[rows]]
    # onboarding: a new customer's extra indifference hazard ends with their first valued touch
    stage_m = np.where(pop.onboarded[rows] & (pop.stage[rows] == Stage.NEW), 1.0, stage_m)
    h[:, _I["indifference"]] *= stage_m * grow
    ann = c.annoyance.annual_probability_per_excess
    if ann > 0:
        excess = np.maximum(0.0, pop.fatigue[rows].sum(axis=1) / pop.fatigue_tolerance[rows] - 1.0)
        base = -np.log1p(-ann) / 365.0
        f = pop.frailty[rows] if c.annoyance.frailty else 1.0
        h[:, _I["annoyance"]] = base * excess * f
    return h


def churn_step(world: World, day: int) -> np.ndarray:
    """Advance every cause's clock by one day; churn the customers whose clock ran out.

    Returns the rows that churned today. Their stage becomes ``churned`` with ``churn_day`` and
    ``churn_cause`` set, and their ties gain exposure (social contagion).
    """
    pop = world.pop
    rows = world.present_rows()
    if rows.size == 0:
        return rows
    h = hazards(world, rows, day)
    before = pop.cum_hazard[rows]
    after = before + h
    pop.cum_hazard[rows] = after
    thr = pop.churn_threshold[rows]
    crossed = after >= thr
    any_c = crossed.any(axis=1)
    if not any_c.any():
        return rows[:0]
    sub = np.flatnonzero(any_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (thr[sub] - before[sub]) / h[sub]
    frac = np.where(crossed[sub], frac, np.inf)
    cause = np.argmin(frac, axis=1).astype(np.int8)
    gone = rows[sub]
    pop.churn_day[gone] = day
    pop.churn_cause[gone] = cause
    world.set_stage(gone, Stage.CHURNED)
    world.present[gone] = False
    counts = np.bincount(cause, minlength=len(CAUSES))
    for k, name in enumerate(CAUSES):
        if counts[k]:
            world.log.add(f"churn_{name}", float(counts[k]))
    spread_churn(world, gone)
    return gone
