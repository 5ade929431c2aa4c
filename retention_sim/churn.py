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


def _prepare(world: World) -> np.ndarray:
    """Make the per-cause arrays column-contiguous and return a reusable hazard buffer."""
    buf = world.components.get("hazard_buffer")
    if buf is None:
        pop = world.pop
        pop.base_hazard = np.asfortranarray(pop.base_hazard)
        pop.cum_hazard = np.asfortranarray(pop.cum_hazard)
        pop.churn_threshold = np.asfortranarray(pop.churn_threshold)
        buf = np.zeros(pop.base_hazard.shape, order="F")
        world.components["hazard_buffer"] = buf
    return buf


def hazards(world: World, day: int, out: np.ndarray | None = None) -> np.ndarray:
    """Daily hazard of each cause for every row (zero for rows not in the base).

    Returns an array of shape ``capacity × causes``. Modifiers (see ``docs/model.md``):

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
    h = _prepare(world) if out is None else out
    np.multiply(pop.base_hazard, world.present[:, None], out=h)
    if c.friends.per_churned_tie:
        h[:, _I["friends"]] *= 1.0 + c.friends.per_churned_tie * pop.exposure
    comp = world.competitor_pressure * t["tier"][pop.tier]
    if c.competitor.demotion_multiplier != 1.0:
        recent = (day - pop.demoted_day) < c.competitor.demotion_memory_days
        comp[recent] *= c.competitor.demotion_multiplier
    wake = world.components.get("wakeup")
    if wake is not None and wake[1] != 1.0:
        comp[wake[0]] *= wake[1]
    h[:, _I["competitor"]] *= comp
    dis = c.dissatisfaction
    ref = sc.satisfaction.reference
    m = np.exp(dis.satisfaction_sensitivity * (ref - pop.satisfaction))
    if dis.per_unresolved_issue:
        m *= 1.0 + dis.per_unresolved_issue * pop.unresolved
    h[:, _I["dissatisfaction"]] *= m
    ind = c.indifference
    clock = (day - pop.last_valued_touch_day).astype(np.float64)
    grow = np.minimum(
        ind.max_multiplier,
        1.0 + ind.growth_per_30_days * np.maximum(0.0, clock - ind.grace_days) / 30.0,
    )
    stage_m = t["indiff_stage"][pop.stage]
    # onboarding: a new customer's extra indifference hazard ends with their first valued touch
    stage_m[pop.onboarded & (pop.stage == Stage.NEW)] = 1.0
    h[:, _I["indifference"]] *= stage_m * grow
    ann = c.annoyance.annual_probability_per_excess
    ftot = world.components.get("fatigue_total")
    if ann > 0 and ftot is not None:  # no contact policy: no fatigue, no annoyance
        excess = np.maximum(0.0, ftot / pop.fatigue_tolerance - 1.0)
        base = -np.log1p(-ann) / 365.0 * world.present
        f = pop.frailty if c.annoyance.frailty else 1.0
        h[:, _I["annoyance"]] = base * excess * f
    return h


def churn_step(world: World, day: int) -> np.ndarray:
    """Advance every cause's clock by one day; churn the customers whose clock ran out.

    Returns the rows that churned today. Their stage becomes ``churned`` with ``churn_day`` and
    ``churn_cause`` set, and their ties gain exposure (social contagion).
    """
    pop = world.pop
    if not world.present.any():
        return np.zeros(0, dtype=np.int64)
    h = hazards(world, day)
    cum = pop.cum_hazard
    cum += h
    thr = pop.churn_threshold
    crossed = cum[:, 0] >= thr[:, 0]
    for k in range(1, len(CAUSES)):
        crossed |= cum[:, k] >= thr[:, k]
    crossed &= world.present
    gone = np.flatnonzero(crossed)
    if gone.size == 0:
        return gone
    hs = h[gone]
    after = cum[gone]
    before = after - hs
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (thr[gone] - before) / hs
    frac = np.where(after >= thr[gone], frac, np.inf)
    cause = np.argmin(frac, axis=1).astype(np.int8)
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
