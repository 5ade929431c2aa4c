"""Journeys: multi-step sequences (a welcome series, a win-back sequence), one SimPy process per
customer in one.

A journey starts for a new customer on the day they arrive, or for a lapsed customer once per
lapse (keyed on the last purchase day). Its steps at day 0 go out that day; for the later ones
the customer's process waits and queues each step for the contact step of its day. With
``stop_on_purchase`` a step is dropped when the customer bought after the journey started.

The new customers of a day are read from an event list, not from every row: the rows of the
base when the engine was built by their arrival day, and the rows of the purchases booked since
(an arrival books its first purchase; :class:`~.triggers.Bookings`). :func:`_arrived_reference`
is the scan it replaces (for the tests).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from ...config.policy import Campaign
from ...vocabulary import NEVER, Stage
from ..world import World
from .programmes import AudienceFilter
from .triggers import Bookings, RowsBy, base_rows, sorted_unique

__all__ = ["Journeys", "NewCustomers"]


class NewCustomers:
    """Who arrived on a given day, asked on that day (by any number of journeys)."""

    def __init__(self, world: World) -> None:
        self.world = world
        rows = base_rows(world)
        self.start = RowsBy(rows, world.pop.acquired_day[rows])
        self.bookings = Bookings(world)
        self.day = NEVER
        #: The rows booked on ``day`` read so far.
        self.booked: list[np.ndarray] = []

    def on(self, day: int) -> np.ndarray:
        """The rows present today that arrived today, sorted."""
        w = self.world
        if day != self.day:
            self.day, self.booked = day, []
        self.booked += [r[d == day] for r, d in self.bookings.read()]
        rows = np.concatenate([self.start.of(day), *self.booked])
        return sorted_unique(rows[w.present[rows] & (w.pop.acquired_day[rows] == day)])


def _arrived_reference(world: World, day: int) -> np.ndarray:
    """:meth:`NewCustomers.on` by a scan of every row."""
    return np.flatnonzero(world.present & (world.pop.acquired_day == day))


class Journeys:
    """Every journey campaign of a policy in one run: who is in which, and what is due when."""

    def __init__(self, world: World, campaigns: list[Campaign]) -> None:
        self.world = world
        self.campaigns = campaigns
        n = world.pop.capacity
        #: Per journey campaign: the day each customer's current journey is keyed on.
        self.key = {
            i: np.full(n, NEVER, dtype=np.int32)
            for i, c in enumerate(campaigns)
            if c.type == "journey"
        }
        #: day → (campaign, step) → rows queued for that day's contact step: arrays (the
        #: journeys started that day) and single rows (queued by a customer's process)
        self.due: dict[int, dict[tuple[int, int], tuple[list[np.ndarray], list[int]]]] = {}
        new = any(c.type == "journey" and c.start == "new_customer" for c in campaigns)
        self.new_customers = NewCustomers(world) if new else None

    def _arrived(self, day: int) -> np.ndarray:
        assert self.new_customers is not None
        return self.new_customers.on(day)

    def start(self, i: int, day: int, audience: AudienceFilter) -> None:
        """Start journey campaign ``i`` for today's new customers (or newly lapsed ones)."""
        w = self.world
        pop = w.pop
        c = self.campaigns[i]
        key = self.key[i]
        if c.start == "new_customer":
            cand = self._arrived(day)
        else:  # lapsed: once per lapse (keyed by the last purchase day)
            cand = np.flatnonzero(
                w.present & (pop.stage == Stage.LAPSED) & (key < pop.last_purchase_day)
            )
        if cand.size:
            cand = cand[audience(c.audience, cand, day)]
        if cand.size == 0:
            return
        key[cand] = np.maximum(
            pop.last_purchase_day[cand],
            day if c.start == "new_customer" else pop.last_purchase_day[cand],
        )
        today = self.due.setdefault(day, {})
        later = False
        for s, st in enumerate(c.steps):
            if st.after_days == 0:
                today.setdefault((i, s), ([], []))[0].append(cand)
            else:
                later = True
        if later:
            for r in cand.tolist():
                w.env.process(self._journey(i, r, day))

    def _journey(self, c_idx: int, row: int, day0: int) -> Generator[Any, Any, None]:
        """One customer's journey: wait for each step, then queue its message."""
        c = self.campaigns[c_idx]
        env = self.world.env
        prev = 0
        for s_idx, step in enumerate(c.steps):
            if step.after_days == 0:
                continue  # sent when the journey started
            yield env.timeout(step.after_days - prev - (0.5 if prev == 0 else 0.0))
            prev = step.after_days
            # queued for the contact step of day0 + after_days
            due = self.due.setdefault(day0 + step.after_days, {})
            due.setdefault((c_idx, s_idx), ([], []))[1].append(row)

    def due_today(self, day: int) -> list[tuple[int, int, np.ndarray]]:
        """The steps due today as ``(campaign, step, rows)``, per (campaign, step) in order.

        Customers who left are dropped, and with ``stop_on_purchase`` those who bought since
        their journey started.
        """
        w = self.world
        pop = w.pop
        out: list[tuple[int, int, np.ndarray]] = []
        due = self.due.pop(day, {})
        for c_idx, s_idx in sorted(due):
            parts, single = due[c_idx, s_idx]
            sel = np.concatenate([*parts, np.array(single, dtype=np.int64)])
            sel = sel[w.present[sel]]
            if self.campaigns[c_idx].stop_on_purchase:
                sel = sel[pop.last_purchase_day[sel] <= self.key[c_idx][sel]]
            if sel.size:
                out.append((c_idx, s_idx, sorted_unique(sel)))
        return out
