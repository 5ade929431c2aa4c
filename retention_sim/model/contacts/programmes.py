"""A policy's programmes: a paid membership and a referral programme.

**Membership.** On day 0 a share ``join_share`` of the customers in the programme's audience
joins (one draw per row from the ``membership`` stream) and pays the yearly fee. Members buy
``purchase_multiplier`` times as often and get ``discount`` off every purchase. Each year a
member renews with probability ``renewal_base × (1 + renewal_value_sensitivity × (savings /
fee − 1))`` (clipped to [0, 1]; a counter-based draw), paying the fee again.

**Referrals.** Each day every customer in the audience refers a friend with probability
``1 − exp(−referrals_per_year / 365)``; the friend arrives from the reserve rows
(:class:`~retention_sim.model.referral.ReferralPool`), tied to the referrer, who gets the
reward (a reward cost and a valued touch).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...config.policy import Audience, Referral
from ...config.policy import Membership as MembershipTerms
from ...vocabulary import NEVER
from ..random_streams import counter_uniform
from ..referral import ReferralPool
from ..world import World

__all__ = ["Membership", "Referrals", "AudienceFilter"]

#: ``filter(audience, rows, day)`` → mask of the rows in the audience.
AudienceFilter = Callable[[Audience, np.ndarray, int], np.ndarray]


class Membership:
    """Who is a member, since when, and what membership saved them this year."""

    def __init__(self, world: World, terms: MembershipTerms) -> None:
        self.world = world
        self.terms = terms
        n = world.pop.capacity
        self.members = np.zeros(n, dtype=bool)
        self.member_since = np.full(n, NEVER, dtype=np.int32)
        self.member_savings = np.zeros(n)

    def start(self, audience: AudienceFilter) -> None:
        """Day 0: a share of the audience joins."""
        w = self.world
        rows = w.present_rows()
        rows = rows[audience(self.terms.audience, rows, 0)]
        u = w.streams["membership"].random(w.pop.capacity)
        self._join(rows[u[rows] < self.terms.join_share], 0)

    def _join(self, rows: np.ndarray, day: int) -> None:
        if rows.size == 0:
            return
        self.members[rows] = True
        self.member_since[rows] = day
        self.member_savings[rows] = 0.0
        self.world.log.add("membership_fees", self.terms.fee_per_year * rows.size)
        self.world.log.add("members_joined", float(rows.size))

    def boost(self, boost: np.ndarray) -> None:
        """Members buy more often: their purchase multiplier is scaled in place."""
        if self.members.any():
            boost[self.members] *= self.terms.purchase_multiplier

    def discount(self, buyers: np.ndarray, amounts: np.ndarray, disc: np.ndarray) -> np.ndarray:
        """The buyers' total discount rate once the member discount is added to ``disc``; the
        member discount is counted as this year's savings."""
        extra = np.where(self.members[buyers], self.terms.discount, 0.0)
        self.member_savings[buyers] += amounts * extra
        return 1.0 - (1.0 - disc) * (1.0 - extra)

    def renewals(self, day: int) -> None:
        """Members who left the base stop being members; members a year in renew or lapse."""
        mem = self.terms
        if day == 0:
            return
        due = np.flatnonzero(
            self.members & ((day - self.member_since) % 365 == 0) & (self.member_since < day)
        )
        gone = np.flatnonzero(self.members & ~self.world.present)
        self.members[gone] = False
        due = due[self.world.present[due]]
        if due.size == 0:
            return
        value = self.member_savings[due] / max(mem.fee_per_year, 1e-9)
        p = np.clip(
            mem.renewal_base * (1.0 + mem.renewal_value_sensitivity * (value - 1.0)), 0.0, 1.0
        )
        u = counter_uniform(self.world.seed, "membership_renewal", due, day)
        renew = due[u < p]
        lapse = due[u >= p]
        self.members[lapse] = False
        self.world.log.add("membership_lapsed", float(lapse.size))
        self.member_savings[renew] = 0.0
        self.world.log.add("membership_fees", mem.fee_per_year * renew.size)


class Referrals:
    """The referral programme: who refers a friend today, and the friends' arrival."""

    def __init__(self, world: World, terms: Referral) -> None:
        self.world = world
        self.terms = terms
        self.pool = ReferralPool(world)

    def step(self, day: int, audience: AudienceFilter) -> None:
        """Today's referrals among the customers present."""
        ref = self.terms
        w = self.world
        rows = w.present_rows()
        if rows.size == 0:
            return
        cand = rows[audience(ref.audience, rows, day)]
        u = counter_uniform(w.seed, "referral", cand, day)
        referrers = cand[u < -np.expm1(-ref.referrals_per_year / 365.0)]
        if referrers.size == 0:
            return
        activated = self.pool.activate(w, referrers, day)
        if activated:
            w.log.add("referrals", float(activated))
            w.log.add("reward_cost", ref.reward_value * activated)
            # a thank-you reward is a valued touch
            w.pop.last_valued_touch_day[referrers[:activated]] = day
