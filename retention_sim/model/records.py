"""The day's records: the stock variables written at the end of each day (customers by stage and
tier, satisfaction, competitor pressure, open issues; members and perk holders of the loyalty
programme when the scenario models them)."""

from __future__ import annotations

import numpy as np

from ..vocabulary import STAGES
from .enrolment import enrolment_of
from .kernels import njit
from .perks import holders, perk_of
from .world import World

__all__ = ["record_day", "stocks_reference", "Stocks"]


def record_day(world: World, day: int) -> None:
    """The day's stock variables: customers by stage and tier, satisfaction, pressure, issues.

    With an enrolment section, ``tier_<name>`` counts members only and ``loyalty_members``
    counts them; with a tenure perk, ``perk_holders`` counts the holders in the base. The
    counts and sums come from one compiled pass over the rows (:func:`_stocks_kernel`) or from
    its NumPy reference (:func:`stocks_reference`); the satisfaction sum is taken in row
    order by both, so they agree to the last bit.
    """
    pop = world.pop
    log = world.log
    sc = world.scenario
    enrolled = enrolment_of(sc) is not None
    if world.kernels:
        stocks = _stocks_compiled(world, enrolled)
    else:
        stocks = stocks_reference(world, enrolled)
    stage_counts, n_present, n_initial, sat_sum, unresolved, members, tiers = stocks
    for k, name in enumerate(STAGES):
        log.set(f"customers_{name}", float(stage_counts[k]))
    log.set("customers", float(n_present))
    log.set("customers_initial_base", float(n_initial))
    # mean satisfaction of the customers in the base (0 when nobody is: results hold no NaN)
    log.set("satisfaction_mean", sat_sum / n_present if n_present else 0.0)
    log.set("competitor_pressure", world.today.competitor_pressure)
    log.set("unresolved_issues", float(unresolved))
    if sc.loyalty.enabled:
        if enrolled:
            log.set("loyalty_members", float(members))
        for k, tier_name in enumerate(pop.tier_names):
            log.set(f"tier_{tier_name}", float(tiers[k]))
        if perk_of(sc) is not None:
            held = holders(world, slice(None), day) & world.present
            log.set("perk_holders", float(np.count_nonzero(held)))


Stocks = tuple[np.ndarray, int, int, float, int, int, np.ndarray]


def stocks_reference(world: World, enrolled: bool) -> Stocks:
    """The day's stocks in NumPy (the reference of the compiled pass).

    Parameters
    ----------
    world
        The run.
    enrolled
        Whether members are the enrolment section's (else everyone present is one).

    Returns
    -------
    Stocks
        Customers per stage (every row with a stage), present, present of the starting base,
        the sum of their satisfaction (in row order), their open issues, the members among
        them and the members per tier.
    """
    pop = world.pop
    present = world.present
    known = pop.stage[pop.stage >= 0]
    counts = np.bincount(known, minlength=len(STAGES))
    sat = pop.satisfaction[present]
    sat_sum = float(np.cumsum(sat)[-1]) if sat.size else 0.0  # in row order, as the kernel
    members = present & pop.enrolled if enrolled else present
    tiers = np.array(
        [np.count_nonzero((pop.tier == k) & members) for k in range(len(pop.tier_names))]
    )
    return (
        counts,
        int(np.count_nonzero(present)),
        int(np.count_nonzero(present[: pop.n_initial])),
        sat_sum,
        int(np.sum(pop.unresolved[present], dtype=np.int64)),
        int(np.count_nonzero(members)),
        tiers,
    )


def _stocks_compiled(world: World, enrolled: bool) -> Stocks:
    pop = world.pop
    counts = np.zeros(len(STAGES), dtype=np.int64)
    tiers = np.zeros(len(pop.tier_names), dtype=np.int64)
    n_present, n_initial, sat_sum, unresolved, members = _stocks_kernel(
        pop.stage, world.present, pop.n_initial, pop.satisfaction, pop.unresolved, pop.tier,
        pop.enrolled, enrolled, counts, tiers,
    )  # fmt: skip
    return counts, n_present, n_initial, sat_sum, unresolved, members, tiers


@njit
def _stocks_kernel(stage, present, n0, satisfaction, unresolved, tier, enrolled, use_enrolled,
                   counts, tiers):  # fmt: skip
    """What :func:`stocks_reference` counts, in one pass (``counts``, ``tiers`` filled in)."""
    n_present = 0
    n_initial = 0
    sat_sum = 0.0
    open_issues = 0
    members = 0
    for i in range(stage.size):
        st = stage[i]
        if st >= 0:
            counts[st] += 1
        if present[i]:
            n_present += 1
            if i < n0:
                n_initial += 1
            sat_sum += satisfaction[i]
            open_issues += unresolved[i]
            if not use_enrolled or enrolled[i]:
                members += 1
                t = tier[i]
                if t < tiers.size:
                    tiers[t] += 1
    return n_present, n_initial, sat_sum, open_issues, members
