"""Guardrails: why a message is refused, one check per reason, always in the same order.

A message to a customer is refused, and counted by reason, when (in this order) the customer is
in the holdout group, the channel lacks consent (or the scenario has no such channel), the
customer unsubscribed from it, today is a quiet day, the channel's minimum gap since the last
message has not passed, a cap on messages per window is reached, the customer is in the
saturated frequency class (with ``skip_saturated``; :mod:`.frequency`), or the month's budget is
spent.
Each check looks at the messages still allowed after the checks before it, so every refused
message has exactly one reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from ...config.policy import FrequencyRules, Policy
from ...vocabulary import CHANNEL_INDEX, CHANNELS, NEVER, WEEKDAYS
from ..world import World
from .frequency import FrequencyClasses
from .windows import CapCounter

__all__ = ["REFUSAL_REASONS", "DEFERRABLE", "CapCounter", "Guardrails"]

#: Why a message can be refused, in the order the checks run.
REFUSAL_REASONS: tuple[str, ...] = (
    "holdout",
    "no_consent",
    "unsubscribed",
    "quiet_day",
    "min_gap",
    "capped",
    "saturated",
    "budget",
)
#: The refusals a campaign with ``on_refusal: defer`` postpones to the next day instead.
DEFERRABLE: tuple[str, ...] = ("quiet_day", "min_gap", "capped")


#: ``refuse(mask, reason index)``: told about the messages a check refuses.
Refuse = Callable[[np.ndarray, int], None]


class Guardrails:
    """The guardrails of one policy in one run, with what they need to remember.

    Parameters
    ----------
    world
        The run.
    policy
        The policy (its ``guardrails`` and ``monthly_budget``).
    cost
        Cost of one message per channel (the budget check needs it).
    """

    def __init__(self, world: World, policy: Policy, cost: np.ndarray) -> None:
        self.world = world
        sc = world.scenario
        n = world.pop.capacity
        g = policy.guardrails
        self.cost = cost
        self.has_channel = np.array([c in sc.channels for c in CHANNELS])
        #: Customers who receive no marketing at all (drawn once, the same under any policy
        #: with the same share).
        self.holdout = world.streams["holdout"].random(n) < g.holdout_share
        self.quiet = {WEEKDAYS.index(d) for d in g.quiet_weekdays}
        self.min_gap_days = np.zeros(len(CHANNELS))
        for ch, hours in g.min_gap_hours.items():
            self.min_gap_days[CHANNEL_INDEX[ch]] = np.ceil(hours / 24.0)
        steps = sum(max(1, len(c.steps or ())) for c in policy.campaigns)
        self.caps = [
            (
                None if cap.channel == "any" else CHANNEL_INDEX[cap.channel],
                cap.max,
                CapCounter(n, cap.window_days, cap.window == "calendar", sc.calendar.start, steps),
            )
            for cap in g.caps
        ]
        self.cap_types = [cap.message_type for cap in g.caps]
        self.frequency = (
            FrequencyClasses(n, policy.frequency or FrequencyRules(), sc.calendar.start, steps)
            if policy.uses_frequency
            else None
        )
        self.skip_saturated = g.skip_saturated
        self.typed = {t for t in self.cap_types if t is not None}
        self.last_sent = np.full((n, len(CHANNELS)), NEVER, dtype=np.int32)
        self.sent_count = np.zeros((n, len(CHANNELS)), dtype=np.int16)  # sends on last_sent day
        self.budget = policy.monthly_budget
        self.budget_month = -1
        self.budget_spent = 0.0

    # ------------------------------------------------------------------ the day
    def new_day(self, day: int) -> None:
        """Roll every cap's window to ``day``."""
        for _, _, counter in self.caps:
            counter.new_day(day)
        if self.frequency is not None:
            self.frequency.new_day(day)

    def new_month(self, day: int) -> None:
        """Start a new budget month when ``day`` is in one."""
        if self.budget is None:
            return
        date = self.world.scenario.calendar.start + dt.timedelta(days=day)
        month = date.year * 12 + date.month
        if month != self.budget_month:
            self.budget_month, self.budget_spent = month, 0.0

    # ------------------------------------------------------------------ the checks
    def in_holdout(self, rows: np.ndarray, ch: np.ndarray, day: int) -> np.ndarray:
        """Customers of the holdout group."""
        return self.holdout[rows]

    def no_consent(self, rows: np.ndarray, ch: np.ndarray, day: int) -> np.ndarray:
        """No channel at all (``preferred`` without consent anywhere), no consent on it, or a
        channel the scenario does not have."""
        chs = np.maximum(ch, 0)
        return (ch < 0) | ~self.world.pop.consent[rows, chs] | ~self.has_channel[chs]

    def unsubscribed(self, rows: np.ndarray, ch: np.ndarray, day: int) -> np.ndarray:
        """Customers who unsubscribed from the channel."""
        return self.world.pop.unsubscribed[rows, np.maximum(ch, 0)]

    def quiet_day(self, rows: np.ndarray, ch: np.ndarray, day: int) -> np.ndarray:
        """Everybody, on a quiet weekday."""
        weekday = (self.world.scenario.calendar.start + dt.timedelta(days=day)).weekday()
        return np.full(rows.size, weekday in self.quiet)

    def too_soon(self, rows: np.ndarray, ch: np.ndarray, day: int) -> np.ndarray:
        """The channel's minimum gap since the last message has not passed."""
        chs = np.maximum(ch, 0)
        gap = self.min_gap_days[chs]
        return (gap > 0) & ((day - self.last_sent[rows, chs]) < gap)

    def _applies(self, cap: int, content: str | None) -> bool:
        """Whether cap number ``cap`` limits messages of type ``content``: a typed cap only its
        type; a cap without a type every type that has no cap of its own."""
        t = self.cap_types[cap]
        return content == t if t is not None else content not in self.typed

    def capped(
        self, rows: np.ndarray, ch: np.ndarray, cap: int, content: str | None = None
    ) -> np.ndarray:
        """Cap number ``cap`` (of the policy's list) is reached for the message's channel (and
        applies to its type)."""
        cap_ch, cap_max, counter = self.caps[cap]
        if not self._applies(cap, content):
            return np.zeros(rows.size, dtype=bool)
        applies = np.ones(rows.size, dtype=bool) if cap_ch is None else (ch == cap_ch)
        return applies & (counter.count[rows] >= cap_max)

    def over_budget(self, ch: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Messages, taken in order, that the rest of the month's budget cannot pay for."""
        assert self.budget is not None
        left = self.budget - self.budget_spent
        spend = np.cumsum(np.where(ok, self.cost[np.maximum(ch, 0)], 0.0))
        return spend > left + 1e-9

    def screen(
        self, rows: np.ndarray, ch: np.ndarray, day: int, refuse: Refuse, content: str | None = None
    ) -> np.ndarray:
        """Run every check in the order of :data:`REFUSAL_REASONS`.

        Each check sees only the messages the earlier ones let through; ``refuse`` is told what
        each check refused. Returns the mask of messages allowed.
        """
        ok = np.ones(rows.size, dtype=bool)

        def gate(bad: np.ndarray, reason: str) -> None:
            nonlocal ok
            bad = bad & ok
            refuse(bad, REFUSAL_REASONS.index(reason))
            ok &= ~bad

        gate(self.in_holdout(rows, ch, day), "holdout")
        gate(self.no_consent(rows, ch, day), "no_consent")
        gate(self.unsubscribed(rows, ch, day), "unsubscribed")
        if self.quiet:
            gate(self.quiet_day(rows, ch, day), "quiet_day")
        if self.min_gap_days.any():
            gate(self.too_soon(rows, ch, day), "min_gap")
        for k in range(len(self.caps)):
            gate(self.capped(rows, ch, k, content), "capped")
        if self.skip_saturated:
            assert self.frequency is not None
            gate(self.frequency.classes(rows) == 2, "saturated")
        if self.budget is not None:
            gate(self.over_budget(ch, ok), "budget")
        return ok

    # ------------------------------------------------------------------ deliveries
    def count(
        self, day: int, rows: np.ndarray, ch: np.ndarray, cost: float, content: str | None = None
    ) -> np.ndarray:
        """Remember delivered messages (budget, caps, last send per channel).

        Returns, per message, how many earlier messages the customer got on that channel
        today (the key of the message's response draws).
        """
        if self.budget is not None:
            self.budget_spent += cost
        if self.frequency is not None:
            self.frequency.sent.add(day, rows)
        for (cap_ch, _, counter), t in zip(self.caps, self.cap_types, strict=True):
            if t is not None and content != t:  # a typed cap counts its own type only
                continue
            sel = rows if cap_ch is None else rows[ch == cap_ch]
            if sel.size:
                counter.add(day, sel)
        k = np.where(self.last_sent[rows, ch] == day, self.sent_count[rows, ch], 0)
        self.sent_count[rows, ch] = k + 1
        self.last_sent[rows, ch] = day
        return k.astype(np.int64)
