"""Extra points on special days (seed 003: "special days earn extra points") and for the holders of
a tenure perk (:mod:`.perks`).

A member's purchase on day ``d`` earns ``amount × points_per_currency × m``, with::

    m = (birthday_month_multiplier  if month(d) = the customer's birthday month, else 1)
      × (sale_multiplier            if a calendar event named in sale_events covers d, else 1)
      × (points_multiplier          if the customer holds the tenure perk, else 1)

(:class:`~retention_sim.config.loyalty.SpecialDays`). The extra ``amount ×
points_per_currency × (m − 1)`` points go to the redeemable balance only, not to the window's
points: tiers stay on spend. A customer whose birthday is unknown gets no birthday bonus; the
birthday month is read from the day of the year in a common year.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .calendar import event_days
from .perks import holders, perk_of
from .world import World

__all__ = ["points_multiplier", "prepare", "BIRTHDAY_MONTH"]

#: Month (1–12) of each day of a common year (index 0–364); index 365 (unknown birthday): 0.
BIRTHDAY_MONTH: np.ndarray = np.array(
    [(dt.date(2001, 1, 1) + dt.timedelta(days=k)).month for k in range(365)] + [0],
    dtype=np.int8,
)


def prepare(world: World) -> None:
    """At build: the sale days of the horizon (``pop.extra["sale_day"]``), if any are named."""
    sd = world.scenario.loyalty.special_days
    if sd is not None and sd.sale_events and sd.sale_multiplier != 1.0:
        world.pop.extra["sale_day"] = event_days(world.scenario, sd.sale_events, world.horizon)


def points_multiplier(world: World, rows: np.ndarray, day: int) -> np.ndarray | None:
    """The points multiplier ``m`` of each of ``rows`` buying on ``day`` (``None``: 1 for all,
    nothing special set)."""
    loy = world.scenario.loyalty
    sd, perk = loy.special_days, perk_of(world.scenario)
    if sd is None and (perk is None or perk.points_multiplier == 1.0):
        return None
    pop = world.pop
    m = np.ones(rows.size)
    if sd is not None and sd.birthday_month_multiplier != 1.0:
        month = (world.scenario.calendar.start + dt.timedelta(days=day)).month
        doy = pop.birthday_doy[rows]
        born = BIRTHDAY_MONTH[np.where(doy >= 0, doy, 365)] == month
        m[born] *= sd.birthday_month_multiplier
    sale = world.pop.extra.get("sale_day")
    if sd is not None and sale is not None and sale[min(day, sale.size - 1)]:
        m *= sd.sale_multiplier
    if perk is not None and perk.points_multiplier != 1.0:
        m[holders(world, rows, day)] *= perk.points_multiplier
    return m
