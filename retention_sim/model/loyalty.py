"""Loyalty programme: points per spend, tiers over a qualification window, redemption; and the
optional enrolment, spend gift, special days and tenure perk of ``docs/model.md`` §5 (their
mechanisms in :mod:`.enrolment`, :mod:`.gifts`, :mod:`.bonus_points`, :mod:`.perks`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .bonus_points import points_multiplier
from .enrolment import enrolment_of
from .gifts import gift_progress, give_gifts
from .perks import holders, perk_of
from .world import World

__all__ = ["earn_points", "tier_review_process", "reward_multiplier", "programme_summary"]


def earn_points(world: World, rows: np.ndarray, amounts: np.ndarray, day: int) -> None:
    """Book points for purchases, upgrade tiers reached inside the window, redeem rewards.

    Points earned = amount × ``points_per_currency``, by members only (everyone without an
    ``enrolment`` section); special days and a tenure perk add redeemable extra points. A
    customer whose points earned in the current qualification window pass a tier threshold is
    upgraded at once. A member whose window spend reaches a spend gift's threshold gets the gift.
    Whenever the balance reaches ``redemption_points`` a reward worth ``redemption_points ×
    point_value`` is redeemed (its cost booked) and the post-reward dip starts.
    """
    loy = world.scenario.loyalty
    if not loy.enabled or rows.size == 0:
        return
    pop = world.pop
    if loy.enrolment is not None:  # non-members earn nothing
        member = pop.enrolled[rows]
        rows, amounts = rows[member], amounts[member]
        if rows.size == 0:
            return
    earned = amounts * loy.points_per_currency
    pop.points[rows] += earned
    pop.period_points[rows] += earned
    world.log.add("points_issued", float(earned.sum()))
    mult = points_multiplier(world, rows, day)
    if mult is not None:  # extra points: redeemable, not counted toward tiers
        extra = earned * (mult - 1.0)
        pop.points[rows] += extra
        world.log.add("points_issued", float(extra.sum()))
        world.log.add("bonus_points", float(extra.sum()))
    thresholds = _thresholds(world)
    reached = (np.searchsorted(thresholds, pop.period_points[rows], side="right") - 1).astype(
        np.int8
    )
    up = reached > pop.tier[rows]
    if up.any():
        r = rows[up]
        pop.tier[r] = reached[up]
        pop.upgraded_day[r] = day
        world.log.add("tier_upgrades", float(up.sum()))
    give_gifts(world, rows, amounts, day)
    k = np.floor(pop.points[rows] / loy.redemption_points)
    red = k > 0
    if red.any():
        r = rows[red]
        pop.points[r] -= k[red] * loy.redemption_points
        pop.last_reward_day[r] = day
        cost = float(k[red].sum() * loy.redemption_points * loy.point_value)
        world.log.add("rewards_redeemed", float(k[red].sum()))
        world.log.add("reward_cost", cost)
        pop.pv_contribution[r] -= (
            k[red] * loy.redemption_points * loy.point_value * world.discount_factor(day)
        )


def _thresholds(world: World) -> np.ndarray:
    return np.array([t.threshold_points for t in world.scenario.loyalty.tiers])


def tier_review_process(world: World):
    """SimPy process: at the end of each qualification window, set tiers from that window.

    A customer keeps the highest tier whose threshold the window's points reach; one below their
    current tier is demoted (``demoted_day`` is set; demotion hurts, see the competitor cause).
    The window's points then restart from zero.
    """
    loy = world.scenario.loyalty
    # reviews run at the end of each window's last day (after that day's step)
    yield world.env.timeout(loy.qualification_window_days - 0.5)
    while True:
        if loy.enabled:
            _review(world, int(world.env.now))
        yield world.env.timeout(loy.qualification_window_days)


def _review(world: World, day: int) -> None:
    pop = world.pop
    rows = world.present_rows()
    earned_tier = (
        np.searchsorted(_thresholds(world), pop.period_points[rows], side="right") - 1
    ).astype(np.int8)
    down = earned_tier < pop.tier[rows]
    if down.any():
        r = rows[down]
        pop.tier[r] = earned_tier[down]
        pop.demoted_day[r] = day
        world.log.add_on(day, "tier_demotions", float(down.sum()))
    pop.period_points[:] = 0.0
    if world.scenario.loyalty.spend_gift is not None:
        pop.window_spend[:] = 0.0
    world.log.add_on(day, "tier_reviews", 1.0)


def reward_multiplier(world: World, rows: np.ndarray | None, day: int) -> np.ndarray:
    """Goal-gradient and post-reward effect on the purchase rate of ``rows`` (``None``: all).

    ``1 + goal_gradient × s × progress`` while approaching a reward (progress = balance /
    redemption points, or the window spend / a spend gift's threshold when that is nearer; s
    the customer's reward sensitivity); ``1 - post_reward_dip × s`` (at least 0) during
    ``post_reward_days`` after a redemption or a gift (Kivetz, Urminsky & Zheng 2006).
    Non-members have no balance, no window spend and no rewards: 1.
    """
    loy = world.scenario.loyalty
    pop = world.pop
    idx = slice(None) if rows is None else rows
    if not loy.enabled:
        return np.ones(pop.capacity if rows is None else rows.size)
    s = pop.reward_sensitivity[idx]
    progress = np.minimum(pop.points[idx] * (1.0 / loy.redemption_points), 1.0)
    if loy.spend_gift is not None:
        progress = np.maximum(progress, gift_progress(world, idx, day))
    m = 1.0 + (loy.goal_gradient * progress) * s
    recent = (day - pop.last_reward_day[idx]) < loy.post_reward_days
    if recent.any():
        m[recent] = np.maximum(0.0, 1.0 - loy.post_reward_dip * s[recent])
    return m


def programme_summary(world: World) -> dict[str, Any]:
    """Summary counts of the optional mechanics that are switched on (none: ``{}``).

    ``loyalty_members_start`` / ``_end`` and ``enrolments`` (of which ``enrolments_by_message``)
    with an enrolment section; ``gifts_given``, ``gift_cost`` with a spend gift;
    ``bonus_points`` with special days or a perk's points multiplier; ``perk_holders_end`` and
    ``perk_cost`` with a tenure perk.
    """
    sc, log, pop = world.scenario, world.log, world.pop
    loy = sc.loyalty
    out: dict[str, Any] = {}
    if enrolment_of(sc) is not None:
        out["loyalty_members_start"] = int(pop.extra["members_start"])
        out["loyalty_members_end"] = int(np.count_nonzero(pop.enrolled & world.present))
        out["enrolments"] = int(log.total("enrolments"))
        out["enrolments_by_message"] = int(log.total("enrolments_by_message"))
    if loy.enabled and loy.spend_gift is not None:
        out["gifts_given"] = int(log.total("gifts_given"))
        out["gift_cost"] = log.total("gift_cost")
    perk = perk_of(sc)
    if loy.enabled and (loy.special_days is not None or (perk and perk.points_multiplier != 1)):
        out["bonus_points"] = log.total("bonus_points")
    if perk is not None:
        held = holders(world, slice(None), world.horizon - 1) & world.present
        out["perk_holders_end"] = int(np.count_nonzero(held))
        out["perk_cost"] = log.total("perk_cost")
    return out
