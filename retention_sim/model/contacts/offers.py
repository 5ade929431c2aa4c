"""What a message leaves behind: an offer to use, a click's reminder, a dormant customer woken.

- An **offer** (a discount valid for some days) multiplies the customer's purchase rate by
  ``1 + offer_purchase_lift × discount sensitivity × discount`` while it is valid; the first
  purchase uses it up and books the discount as a cost.
- A **click** adds ``click_purchase_lift`` to the multiplier for ``click_lift_days``.
- A **lapsed customer contacted** is woken for ``dormant_wakeup_days``: their competitor hazard
  is multiplied by ``dormant_wakeup_multiplier`` (contacting a dormant customer can wake up
  churn).
- **Bonus points** (to members of the loyalty programme only) and **gifts** are booked at once
  (gifts as reward cost, with the reward's satisfaction gain).

The day's purchase multipliers are computed in one pass over the rows by a compiled kernel when
kernels are on (:func:`_boost_kernel`, :mod:`~retention_sim.model.kernels`), operation for
operation as the NumPy reference (:meth:`Offers.purchase_boost_reference`).
"""

from __future__ import annotations

import numpy as np

from ...config.policy import Offer
from ...vocabulary import NEVER
from ..kernels import compiled, njit
from ..world import World
from .programmes import Membership

__all__ = ["Offers"]


_NOBODY = np.zeros(0, dtype=bool)  # the members when there is no membership


class Offers:
    """The offers, click reminders and wake-ups of every customer in one run."""

    def __init__(self, world: World) -> None:
        self.world = world
        #: Whether :meth:`purchase_boost` uses the compiled kernel.
        self.compiled = compiled()
        n = world.pop.capacity
        self.resp = world.scenario.responses
        self.offer_discount = np.zeros(n)
        self.offer_until = np.full(n, NEVER, dtype=np.int32)
        self.click_until = np.full(n, NEVER, dtype=np.int32)
        self.woken_until = np.full(n, NEVER, dtype=np.int32)

    def purchase_boost(self, day: int, membership: Membership | None) -> np.ndarray:
        """Today's purchase multiplier of every row: offers, clicks, then membership (by
        :meth:`purchase_boost_compiled` when compiled, :meth:`purchase_boost_reference`
        otherwise)."""
        if self.compiled:
            return self.purchase_boost_compiled(day, membership)
        return self.purchase_boost_reference(day, membership)

    def purchase_boost_compiled(self, day: int, membership: Membership | None) -> np.ndarray:
        """:meth:`purchase_boost` by :func:`_boost_kernel`."""
        pop = self.world.pop
        r = self.resp
        sensitivity = pop.discount_sensitivity
        boost = np.empty(pop.capacity)
        _boost_kernel(
            int(day), self.offer_until, self.offer_discount, sensitivity,
            sensitivity.dtype.type(r.offer_purchase_lift), self.click_until,
            float(r.click_purchase_lift),
            membership.members if membership is not None else _NOBODY,
            float(membership.terms.purchase_multiplier) if membership is not None else 1.0, boost,
        )  # fmt: skip
        return boost

    def purchase_boost_reference(self, day: int, membership: Membership | None) -> np.ndarray:
        """:meth:`purchase_boost` in NumPy (the reference of the kernel)."""
        pop = self.world.pop
        r = self.resp
        boost = np.ones(pop.capacity)
        active = self.offer_until >= day
        if active.any():
            boost[active] += (
                r.offer_purchase_lift
                * pop.discount_sensitivity[active]
                * self.offer_discount[active]
            )
        clicked = self.click_until >= day
        if clicked.any():
            boost[clicked] += r.click_purchase_lift
        if membership is not None:
            membership.boost(boost)
        return boost

    def woken(self, day: int) -> np.ndarray:
        """Rows woken by a recent contact (their competitor pull is raised)."""
        return self.woken_until >= day

    def book_discounts(
        self, day: int, buyers: np.ndarray, amounts: np.ndarray, membership: Membership | None
    ) -> None:
        """Book the discounts today's buyers used (offers, a member's discount); offers are
        used up by the purchase."""
        if buyers.size == 0:
            return
        w = self.world
        disc = np.where(self.offer_until[buyers] >= day, self.offer_discount[buyers], 0.0)
        if membership is not None:
            disc = membership.discount(buyers, amounts, disc)
        cost = amounts * disc
        total = float(cost.sum())
        if total:
            w.log.add("discount_cost", total)
            w.pop.pv_contribution[buyers] -= cost * w.discount_factor(day)
        used = self.offer_until[buyers] >= day
        self.offer_until[buyers[used]] = NEVER

    def clicked(self, day: int, rows: np.ndarray) -> None:
        """Start the click reminder of ``rows``."""
        self.click_until[rows] = day + self.resp.click_lift_days

    def wake(self, day: int, rows: np.ndarray) -> None:
        """Mark the lapsed ``rows`` just contacted as woken."""
        self.woken_until[rows] = day + self.resp.dormant_wakeup_days

    def apply(self, day: int, rows: np.ndarray, offer: Offer) -> None:
        """Give ``rows`` (who valued the message) what ``offer`` holds.

        A discount replaces a customer's current offer when that one has expired or is not
        larger.
        """
        w = self.world
        pop = w.pop
        if offer.discount > 0:
            better = (self.offer_until[rows] < day) | (self.offer_discount[rows] <= offer.discount)
            r = rows[better]
            self.offer_discount[r] = offer.discount
            self.offer_until[r] = day + offer.valid_days
        if offer.bonus_points > 0 and w.scenario.loyalty.enabled:
            members = rows if w.scenario.loyalty.enrolment is None else rows[pop.enrolled[rows]]
            pop.points[members] += offer.bonus_points
            w.log.add("points_issued", offer.bonus_points * members.size)
        if offer.gift_value > 0:
            cost = offer.gift_value * rows.size
            w.log.add("reward_cost", cost)
            pop.pv_contribution[rows] -= offer.gift_value * w.discount_factor(day)
            pop.satisfaction[rows] = np.minimum(
                1.0, pop.satisfaction[rows] + self.resp.reward_satisfaction_gain
            )


@njit
def _boost_kernel(
    day, offer_until, offer_discount, sensitivity, lift, click_until, click_lift,
    members, member_multiplier, boost,
):  # fmt: skip
    """Row by row, :meth:`Offers.purchase_boost_reference`'s multiplier into ``boost``: 1, plus
    ``lift × sensitivity`` (in the sensitivity's type, ``lift`` cast to it) ``× discount`` under
    a valid offer, plus ``click_lift`` after a click, times ``member_multiplier`` for members
    (``members`` empty: no membership)."""
    # selects rather than branches (whether a row has an offer or a click is random); adding
    # 0 or multiplying by 1 leaves the reference's value as it is
    for i in range(boost.size):
        lifted = np.float64(lift * sensitivity[i]) * offer_discount[i]
        b = 1.0 + (lifted if offer_until[i] >= day else 0.0)
        boost[i] = b + (click_lift if click_until[i] >= day else 0.0)
    if members.size:
        for i in range(boost.size):
            boost[i] *= member_multiplier if members[i] else 1.0
