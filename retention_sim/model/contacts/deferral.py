"""Defer or drop: the messages a campaign with ``on_refusal: defer`` postpones to the next day.

A send is one campaign's (or journey step's) messages of one day (:class:`Send`). When a
guardrail of :data:`~.guardrails.DEFERRABLE` (a quiet day, a minimum gap, a cap) refuses some
of them, and the campaign defers, they come back the next day as a send of their own that
remembers the day they were first tried (``since``); after ``max_delay_days`` they are dropped
under their last refusal reason. A customer who left the base meanwhile drops the message.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...config.policy import Campaign
from .guardrails import DEFERRABLE, REFUSAL_REASONS
from .ledger import Ledger

__all__ = ["Send", "Deferrals", "Refuser"]


class Send(NamedTuple):
    """One campaign's (or journey step's) messages of the day."""

    campaign: int
    rows: np.ndarray
    step: int = -1  # journey step, or -1
    since: int = -1  # the day a deferred message was first tried, or -1 (a fresh message)


class Deferrals:
    """The sends deferred to later days of one run, and the refusal rule that defers them."""

    def __init__(self, ledger: Ledger, horizon: int) -> None:
        self.ledger = ledger
        self.horizon = horizon
        self.later: dict[int, list[Send]] = {}

    def due(self, day: int, present: np.ndarray) -> list[Send]:
        """The sends deferred to ``day``, to the customers still in the base."""
        out = []
        for d in self.later.pop(day, []):
            here = present[d.rows]
            if not here.all():
                self.ledger.after_deferral(d.campaign, 0, int((~here).sum()))
            if here.any():
                out.append(d._replace(rows=d.rows[here]))
        return out

    def refuser(self, day: int, s: Send, c: Campaign, ch: np.ndarray) -> Refuser:
        """The ``refuse(mask, reason)`` callback of the guardrails for send ``s``: defer what
        may wait, count the rest as refused. Its ``.dropped`` counts what was dropped."""
        since = day if s.since < 0 else s.since
        can_defer = day + 1 - since <= c.max_delay and day + 1 < self.horizon
        return Refuser(self, day, s, ch, since, can_defer)

    def settle(self, s: Send, delivered: int, refuse: Refuser) -> None:
        """Count a deferred send's outcome: delivered now, or dropped."""
        if s.since >= 0:
            self.ledger.after_deferral(s.campaign, delivered, refuse.dropped)


class Refuser:
    """What the guardrails call with the messages of one send that a check refused.

    An object rather than a closure that counts on itself: such a closure is a reference
    cycle, and with the run's raised collector threshold every send's arrays would stay in
    memory until a full collection (docs/performance.md, *Memory*).
    """

    __slots__ = ("deferrals", "day", "send", "ch", "since", "can_defer", "dropped")

    def __init__(
        self,
        deferrals: Deferrals,
        day: int,
        send: Send,
        ch: np.ndarray,
        since: int,
        can_defer: bool,
    ) -> None:
        self.deferrals, self.day, self.send, self.ch = deferrals, day, send, ch
        self.since, self.can_defer = since, can_defer
        #: Messages dropped (refused for good) so far.
        self.dropped = 0

    def __call__(self, mask: np.ndarray, reason: int) -> None:
        """Defer the messages of ``mask`` to tomorrow if ``reason`` may wait, else refuse them."""
        if not mask.any():
            return
        s, d = self.send, self.deferrals
        if self.can_defer and REFUSAL_REASONS[reason] in DEFERRABLE:
            d.ledger.defer(s.campaign, self.ch, mask, reason, s.rows, self.day)
            d.later.setdefault(self.day + 1, []).append(
                Send(s.campaign, s.rows[mask], s.step, self.since)
            )
            return
        d.ledger.refuse(s.campaign, self.ch, mask, reason, s.rows, self.day)
        self.dropped += int(mask.sum())
