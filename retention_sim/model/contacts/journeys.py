"""Journeys: multi-step sequences (a welcome series, a win-back sequence), one SimPy process per
customer in one.

A journey starts for a new customer on the day they arrive, or for a lapsed customer once per
lapse (keyed on the last purchase day). Its steps at day 0 go out that day; for the later ones
the customer's process waits and queues each step for the contact step of its day. With
``stop_on_purchase`` a step is dropped when the customer bought after the journey started.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from ...config.policy import Campaign
from ...vocabulary import NEVER, Stage
from ..world import World
from .programmes import AudienceFilter

__all__ = ["Journeys"]


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
        #: day → [(campaign, step, row)] queued for that day's contact step
        self.due: dict[int, list[tuple[int, int, int]]] = {}

    def start(self, i: int, day: int, audience: AudienceFilter) -> None:
        """Start journey campaign ``i`` for today's new customers (or newly lapsed ones)."""
        w = self.world
        pop = w.pop
        c = self.campaigns[i]
        key = self.key[i]
        if c.start == "new_customer":
            cand = np.flatnonzero(w.present & (pop.acquired_day == day))
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
        first = [s for s, st in enumerate(c.steps) if st.after_days == 0]
        today = self.due.setdefault(day, [])
        for r in cand.tolist():
            for s in first:
                today.append((i, s, r))
            if len(c.steps) > len(first):
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
            self.due.setdefault(day0 + step.after_days, []).append((c_idx, s_idx, row))

    def due_today(self, day: int) -> list[tuple[int, int, np.ndarray]]:
        """The steps due today as ``(campaign, step, rows)``, per (campaign, step) in order.

        Customers who left are dropped, and with ``stop_on_purchase`` those who bought since
        their journey started.
        """
        w = self.world
        pop = w.pop
        out: list[tuple[int, int, np.ndarray]] = []
        due = self.due.pop(day, [])
        if not due:
            return out
        arr = np.array(due, dtype=np.int64)
        for c_idx, s_idx in sorted({(int(a), int(b)) for a, b in arr[:, :2]}):
            sel = arr[(arr[:, 0] == c_idx) & (arr[:, 1] == s_idx), 2]
            sel = sel[w.present[sel]]
            if self.campaigns[c_idx].stop_on_purchase:
                sel = sel[pop.last_purchase_day[sel] <= self.key[c_idx][sel]]
            if sel.size:
                out.append((c_idx, s_idx, np.unique(sel)))
        return out
