"""The day's records: the stock variables written at the end of each day (customers by stage and
tier, satisfaction, competitor pressure, open issues; members and perk holders of the loyalty
programme when the scenario models them)."""

from __future__ import annotations

import numpy as np

from ..vocabulary import STAGES
from .enrolment import enrolment_of
from .perks import holders, perk_of
from .world import World

__all__ = ["record_day"]


def record_day(world: World, day: int) -> None:
    """The day's stock variables: customers by stage and tier, satisfaction, pressure, issues.

    With an enrolment section, ``tier_<name>`` counts members only and ``loyalty_members``
    counts them; with a tenure perk, ``perk_holders`` counts the holders in the base.
    """
    pop = world.pop
    log = world.log
    known = pop.stage[pop.stage >= 0]
    counts = np.bincount(known, minlength=len(STAGES))
    for k, name in enumerate(STAGES):
        log.set(f"customers_{name}", float(counts[k]))
    present = world.present
    n_present = int(np.count_nonzero(present))
    log.set("customers", float(n_present))
    log.set("customers_initial_base", float(np.count_nonzero(present[: pop.n_initial])))
    # mean satisfaction of the customers in the base (0 when nobody is: results hold no NaN)
    sat = float(np.sum(pop.satisfaction, where=present)) / n_present if n_present else 0.0
    log.set("satisfaction_mean", sat)
    log.set("competitor_pressure", world.today.competitor_pressure)
    log.set("unresolved_issues", float(np.sum(pop.unresolved, where=present)))
    if world.scenario.loyalty.enabled:
        members = present
        if enrolment_of(world.scenario) is not None:
            members = present & pop.enrolled
            log.set("loyalty_members", float(np.count_nonzero(members)))
        for k, tier_name in enumerate(pop.tier_names):
            log.set(f"tier_{tier_name}", float(np.count_nonzero((pop.tier == k) & members)))
        if perk_of(world.scenario) is not None:
            held = holders(world, slice(None), day) & present
            log.set("perk_holders", float(np.count_nonzero(held)))
