"""Guardrails: why a message is refused, one check per reason, always in the same order.

A message to a customer is refused, and counted by reason, when (in this order) the customer is
in the holdout group, the channel lacks consent (or the scenario has no such channel), the
customer unsubscribed from it, today is a quiet day, the channel's minimum gap since the last
message has not passed, a cap on messages per window is reached, the customer is in the
saturated frequency class (with ``skip_saturated``; :mod:`.frequency`), or the month's budget is
spent.
Each check looks at the messages still allowed after the checks before it, so every refused
message has exactly one reason.

:meth:`Guardrails.screen` and :meth:`Guardrails.count` have compiled kernels (one loop over the
send's messages: :func:`_screen_kernel`, every check fused; :func:`_count_kernel`, every counter
of a delivery) beside their NumPy references, used when kernels are on
(:mod:`~retention_sim.model.kernels`); both give the same rows, counts and state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from ...config.policy import FrequencyRules, Policy
from ...vocabulary import CHANNEL_INDEX, CHANNELS, NEVER, WEEKDAYS
from ..kernels import compiled, njit
from ..world import World
from .frequency import FrequencyClasses
from .windows import CapCounter, CounterBank

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
_NO_FREQUENCY = FrequencyRules()  # what the kernel is given without frequency classes


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
        #: Whether :meth:`screen` and :meth:`count` use the compiled kernels.
        self.compiled = compiled()
        sc = world.scenario
        n = world.pop.capacity
        g = policy.guardrails
        self.cost = cost
        self.has_channel = np.array([c in sc.channels for c in CHANNELS])
        #: Customers who receive no marketing at all (drawn once, the same under any policy
        #: with the same share).
        self.holdout = world.streams["holdout"].random(n) < g.holdout_share
        self.quiet = {WEEKDAYS.index(d) for d in g.quiet_weekdays}
        self.weekday0 = sc.calendar.start.weekday()  # day 0's weekday (Monday 0)
        self.min_gap_days = np.zeros(len(CHANNELS))
        for ch, hours in g.min_gap_hours.items():
            self.min_gap_days[CHANNEL_INDEX[ch]] = np.ceil(hours / 24.0)
        steps = sum(max(1, len(c.steps or ())) for c in policy.campaigns)
        #: The caps' counters, in the policy's order.
        self.windows = CounterBank(
            n, [(c.window_days, c.window == "calendar") for c in g.caps], sc.calendar.start, steps
        )
        self.caps = [
            (None if cap.channel == "any" else CHANNEL_INDEX[cap.channel], cap.max, counter)
            for cap, counter in zip(g.caps, self.windows.counters, strict=True)
        ]
        # the caps for the kernels: channel (-1: any), most messages
        self.cap_ch = np.array([-1 if c is None else c for c, _, _ in self.caps], dtype=np.int64)
        self.cap_max = np.array([m for _, m, _ in self.caps], dtype=np.int64)
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
        self._by_content: dict[str | None, tuple[np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------------ the day
    def new_day(self, day: int) -> None:
        """Roll every cap's window to ``day``."""
        self.windows.new_day(day)
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
        each check refused (each cap's refusals apart, in the caps' order). Returns the mask of
        messages allowed. By :meth:`screen_compiled` when compiled, :meth:`screen_reference`
        otherwise.
        """
        if self.compiled:
            return self.screen_compiled(rows, ch, day, refuse, content)
        return self.screen_reference(rows, ch, day, refuse, content)

    def screen_reference(
        self, rows: np.ndarray, ch: np.ndarray, day: int, refuse: Refuse, content: str | None = None
    ) -> np.ndarray:
        """:meth:`screen` in NumPy, check after check (the reference of the kernel)."""
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

    def _rules(self, content: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Which caps limit messages of type ``content`` (:meth:`_applies`) and which count them
        (:meth:`count`), as masks over the caps."""
        rules = self._by_content.get(content)
        if rules is None:
            k = range(len(self.caps))
            limit = np.array([self._applies(j, content) for j in k], dtype=bool)
            counts = np.array([t is None or t == content for t in self.cap_types], dtype=bool)
            rules = self._by_content[content] = (limit, counts)
        return rules

    def screen_compiled(
        self, rows: np.ndarray, ch: np.ndarray, day: int, refuse: Refuse, content: str | None = None
    ) -> np.ndarray:
        """:meth:`screen` by :func:`_screen_kernel`: each message's first failed check, then
        ``refuse`` told, gate by gate in the reference's order, of the gates that refused any."""
        n_caps = len(self.caps)
        f = self.frequency
        fr = f.rules if f is not None else _NO_FREQUENCY
        limit = (self.budget - self.budget_spent) + 1e-9 if self.budget is not None else 0.0
        gate = np.empty(rows.size, dtype=np.int16)
        tally = np.zeros(n_caps + 7, dtype=np.int64)
        pop = self.world.pop
        refused = _screen_kernel(
            rows, ch, int(day), self.holdout, pop.consent, self.has_channel, pop.unsubscribed,
            (self.weekday0 + day) % 7 in self.quiet, self.min_gap_days, self.last_sent,
            self.cap_ch, self.cap_max, self._rules(content)[0], self.windows.count,
            bool(self.skip_saturated and f is not None),
            f.bank.count if f is not None else self.windows.count,
            int(fr.saturated_at), int(fr.undersaturated_below), float(fr.min_open_share),
            self.budget is not None, self.cost, float(limit), gate, tally,
        )  # fmt: skip
        if refused:  # holdout ... min_gap, each cap, saturated, budget
            for g, k in enumerate(tally.tolist()):
                if k:
                    refuse(gate == g, g if g < 5 else 5 if g < 5 + n_caps else g - n_caps + 1)
        return gate < 0

    # ------------------------------------------------------------------ deliveries
    def count(
        self, day: int, rows: np.ndarray, ch: np.ndarray, cost: float, content: str | None = None
    ) -> np.ndarray:
        """Remember delivered messages (budget, caps, last send per channel).

        Returns, per message, how many earlier messages the customer got on that channel
        today (the key of the message's response draws). By :meth:`count_compiled` when
        compiled, :meth:`count_reference` otherwise.
        """
        if self.compiled:
            return self.count_compiled(day, rows, ch, cost, content)
        return self.count_reference(day, rows, ch, cost, content)

    def count_compiled(
        self, day: int, rows: np.ndarray, ch: np.ndarray, cost: float, content: str | None = None
    ) -> np.ndarray:
        """:meth:`count` by :func:`_count_kernel` (``rows`` unique)."""
        if self.budget is not None:
            self.budget_spent += cost
        f = self.frequency
        bank = f.bank if f is not None else self.windows
        nth = np.empty(rows.size, dtype=np.int64)
        _count_kernel(
            rows, ch, int(day), self.cap_ch, self._rules(content)[1], self.windows.count,
            self.windows.buckets, self.windows.today(day), f is not None, bank.count,
            bank.buckets, int(bank.today(day)[0]) if f is not None else -1,
            self.last_sent, self.sent_count, nth,
        )  # fmt: skip
        return nth

    def count_reference(
        self, day: int, rows: np.ndarray, ch: np.ndarray, cost: float, content: str | None = None
    ) -> np.ndarray:
        """:meth:`count` in NumPy (the reference of the kernel)."""
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


@njit
def _screen_kernel(
    rows, ch, day, holdout, consent, has_channel, unsubscribed, quiet, min_gap, last_sent,
    cap_ch, cap_max, cap_on, cap_count, saturated, freq_count,
    saturated_at, undersaturated_below, min_open_share, on_budget, cost, limit, gate, tally,
):  # fmt: skip
    """Message by message, the first check of :meth:`Guardrails.screen_reference` it fails, as
    a gate into ``gate`` (-1: allowed; 0-4: holdout to min_gap; ``5 + k``: cap ``k``;
    ``5 + caps``: saturated; ``6 + caps``: budget), and the messages per gate into ``tally``;
    returns how many were refused.

    ``freq_count``: the deliveries' and opens' counts of the frequency classes. The budget adds
    the cost of each message that passed the earlier checks, in order, as the reference's
    ``cumsum``; ``limit`` is what is left of the month's budget plus 1e-9.
    """
    n_caps = cap_ch.size
    spend = 0.0
    refused = 0
    for i in range(rows.size):
        r = rows[i]
        c = ch[i]
        g = -1
        if holdout[r]:
            g = 0
        elif c < 0 or not consent[r, c] or not has_channel[c]:
            g = 1
        elif unsubscribed[r, c]:
            g = 2
        elif quiet:
            g = 3
        elif min_gap[c] > 0 and (day - last_sent[r, c]) < min_gap[c]:
            g = 4
        else:
            for k in range(n_caps):
                if cap_on[k] and (cap_ch[k] < 0 or cap_ch[k] == c):
                    if cap_count[k, r] >= cap_max[k]:
                        g = 5 + k
                        break
            if g < 0 and saturated:
                s = np.int64(freq_count[0, r])
                o = np.int64(freq_count[1, r])
                if s >= saturated_at or (s >= undersaturated_below and o < min_open_share * s):
                    g = 5 + n_caps
            if g < 0 and on_budget:
                spend += cost[c]
                if spend > limit:
                    g = 6 + n_caps
        gate[i] = g
        if g >= 0:
            tally[g] += 1
            refused += 1
    return refused


@njit
def _count_kernel(
    rows, ch, day, cap_ch, cap_counts, count, buckets, today, freq, freq_count, freq_buckets,
    freq_today, last_sent, sent_count, nth,
):  # fmt: skip
    """Message by message, what :meth:`Guardrails.count_reference` remembers: one more message
    in the counts of each cap that counts it (``cap_counts``; ``count``, ``buckets`` and
    ``today`` of the caps' :class:`~.windows.CounterBank`) and, with ``freq``, in the frequency
    classes' deliveries (row 0 of their bank, bucket row ``freq_today``); the message's number
    on its channel today into ``nth``, and the channel's last send."""
    for i in range(rows.size):
        r = rows[i]
        c = ch[i]
        for k in range(cap_ch.size):
            if cap_counts[k] and (cap_ch[k] < 0 or cap_ch[k] == c):
                count[k, r] += 1
                if today[k] >= 0:
                    buckets[today[k], r] += 1
        if freq:
            freq_count[0, r] += 1
            freq_buckets[freq_today, r] += 1
        k_nth = sent_count[r, c] if last_sent[r, c] == day else 0
        sent_count[r, c] = k_nth + 1
        last_sent[r, c] = day
        nth[i] = k_nth
