"""Trigger-driven campaigns: who is due a message today because of what happened to them.

- ``thank_you``: customers who bought ``delay_days`` ago;
- ``win_back``: ``after_days`` without a purchase (then every ``repeat_every_days``), churned
  customers included when the audience names the ``churned`` stage (and they left for a reason
  a message can answer);
- ``birthday``: ``days_before`` the customer's birthday;
- ``tier_up``: reaching a tier today, or coming ``near`` the next one (at most once per
  qualification period each);
- ``predicted_next_purchase``: the day the customer's own purchase cycle predicts the next
  purchase, less ``lead_days``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ...config.policy import Campaign
from ..reactivation import reachable_churned
from ..stages import own_cycle_days
from ..world import World

__all__ = ["TierUpNotices", "triggered"]


class TierUpNotices:
    """When each customer was last told of a tier (``near`` and ``reached``), per campaign."""

    def __init__(self, world: World, campaigns: list[Campaign]) -> None:
        self.world = world
        n = world.pop.capacity
        self.notified = {
            i: np.full((n, 2), -1, dtype=np.int32)
            for i, c in enumerate(campaigns)
            if c.type == "tier_up"
        }

    def candidates(self, i: int, c: Campaign, day: int) -> np.ndarray:
        """Customers tier-up campaign ``i`` tells today (and remembers having told)."""
        w = self.world
        pop = w.pop
        loy = w.scenario.loyalty
        if not loy.enabled:
            return np.zeros(0, dtype=np.int64)
        th = np.array([t.threshold_points for t in loy.tiers] + [np.inf])
        period = day // loy.qualification_window_days
        notified = self.notified[i]
        parts = []
        if "reached" in c.notify_on:
            hit = np.flatnonzero(w.present & (pop.upgraded_day == day) & (notified[:, 1] != period))
            notified[hit, 1] = period
            parts.append(hit)
        if "near" in c.notify_on:
            nxt = th[pop.tier + 1]  # tier codes are small (int8)
            near = (pop.period_points >= c.near_share * nxt) & (pop.period_points < nxt)
            hit = np.flatnonzero(w.present & near & (notified[:, 0] != period))
            notified[hit, 0] = period
            parts.append(hit)
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def triggered(world: World, c: Campaign, day: int, recency: np.ndarray | None) -> np.ndarray:
    """Mask of the rows a trigger campaign (not ``tier_up``, not ``journey``) is due today.

    ``recency`` is today's days since the last purchase of every row (computed by the caller
    once for all campaigns that need it).
    """
    pop = world.pop
    pres = world.present
    t = c.type
    if t == "thank_you":
        return pres & (pop.last_purchase_day == day - c.delay_days)
    if t == "win_back":
        assert recency is not None
        base = pres
        if c.audience.stages is not None and "churned" in c.audience.stages:
            base = pres.copy()
            base[reachable_churned(world)] = True
        since = recency - c.after_days
        if c.repeat_every_days:
            return base & (since >= 0) & (since % c.repeat_every_days == 0)
        return base & (since == 0)
    if t == "birthday":
        date = world.scenario.calendar.start + dt.timedelta(days=day)
        doy = min(date.timetuple().tm_yday - 1, 364)
        return pres & (pop.birthday_doy == (doy + c.days_before) % 365)
    if c.cadence is not None and c.cadence.trigger == "predicted_next_purchase":
        assert recency is not None
        everyone = np.arange(pop.capacity)
        due = np.rint(own_cycle_days(world, everyone)).astype(np.int64) - c.cadence.lead_days
        return pres & (recency == np.maximum(due, 1))
    raise ValueError(f"campaign {c.name!r} of type {t!r} is not trigger-driven")
