"""The contact engine: turns a policy into messages, applies guardrails, draws responses.

Each simulated day (:meth:`ContactEngine.contact_step`) reads as its order:

1. collect what every campaign wants to send today: scheduled sends (:mod:`.schedule`),
   triggers (:mod:`.triggers`) and the steps of journeys that are due (:mod:`.journeys`);
2. campaign by campaign in priority order (highest first, so that when caps collide the more
   important campaign gets through), check the guardrails (:mod:`.guardrails`: one check per
   refusal reason, in a fixed order), counting each refused message by its reason;
3. deliver: cost, fatigue (:class:`~retention_sim.model.fatigue.Fatigue`), cap counters;
4. draw responses (:mod:`.responses`) and apply their effects: unsubscribes, complaints, the
   valued touch that resets the indifference clock, offers, click reminders and wake-ups
   (:mod:`.offers`), a churned customer's return, proactive calls on the service desk, a
   non-member's enrolment in the loyalty programme (:mod:`~retention_sim.model.enrolment`);
5. record (:mod:`.ledger`);

then the programmes' day (:mod:`.programmes`). Before the day's purchases the engine rolls the
guardrails' windows, sets the purchase multipliers its offers and membership give, refreshes
the RFM segments and marks whom it woke up; after them it books the discounts used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...config.policy import Audience, Campaign, Offer, Policy
from ...vocabulary import CHANNEL_INDEX, CHANNELS, Stage
from .. import enrolment
from ..fatigue import Fatigue, total_fatigue
from ..kernels import compiled
from ..purchases import Purchases
from ..random_streams import counter_uniform
from ..reactivation import reactivate
from ..rfm import SEGMENT_CODES, RfmSegments
from ..service_desk import REPLY, ServiceDesk
from ..world import World
from .audience import audience_mask
from .deferral import Deferrals, Send
from .fitted_effects import FittedEffects
from .guardrails import REFUSAL_REASONS, Guardrails
from .journeys import Journeys
from .ledger import Ledger
from .offers import Offers
from .programmes import Membership, Referrals
from .responses import ChannelRates, Responses, deliver_responses
from .schedule import firing_days
from .surveys import answer_survey
from .triggers import Triggers

__all__ = ["ContactEngine", "REFUSAL_REASONS"]


class ContactEngine:
    """Runs a :class:`~retention_sim.config.policy.Policy` inside one simulation world.

    Parameters
    ----------
    world
        The run.
    policy
        The contact policy.
    desk
        The service desk (proactive calls queue there).
    fatigue
        The run's fatigue stocks.
    record_messages
        Keep every contact attempt for :meth:`messages_frame`.
    """

    def __init__(
        self,
        world: World,
        policy: Policy,
        *,
        desk: ServiceDesk,
        fatigue: Fatigue,
        purchases: Purchases | None = None,
        record_messages: bool = False,
    ):
        self.world = world
        self.policy = policy
        self.desk = desk
        self.fatigue = fatigue
        n = world.pop.capacity
        self.resp = world.scenario.responses
        self.campaigns = list(policy.campaigns)
        self.order = sorted(range(len(self.campaigns)), key=lambda i: -self.campaigns[i].priority)
        self.rates = ChannelRates(world.scenario)
        #: Whether deliveries use the compiled kernel (:func:`.responses.deliver_responses`).
        self.compiled = compiled()
        self.guardrails = Guardrails(world, policy, self.rates.cost)
        self.offers = Offers(world)
        self.rfm = RfmSegments(n)
        self.journeys = Journeys(world, self.campaigns)
        self.triggers = Triggers(world, self.campaigns)
        start, horizon = world.scenario.calendar.start, world.horizon
        self.fires = [firing_days(c.cadence, start, horizon) for c in self.campaigns]
        progs = policy.programmes
        self.referrals = Referrals(world, progs.referral) if progs.referral is not None else None
        self.membership = (
            Membership(world, progs.membership) if progs.membership is not None else None
        )
        self.members = self.membership.members if self.membership else np.zeros(n, dtype=bool)
        self.ledger = Ledger(world, self.campaigns, record=record_messages)
        self.deferrals = Deferrals(self.ledger, world.horizon)
        self.msg_log = self.ledger.msg_log
        fitted = world.scenario.response
        self.fitted: FittedEffects | None = None
        if fitted is not None and any(c.response for c in self.campaigns):
            if purchases is None:
                raise ValueError("a fitted response needs the run's purchases")
            self.fitted = FittedEffects(world, fitted, purchases)

    def audience(self, a: Audience, rows: np.ndarray | slice, day: int) -> np.ndarray:
        """Which of ``rows`` (``slice(None)``: every row) pass the audience ``a`` today."""
        return audience_mask(
            self.world.pop, a, rows, day, rfm=self.rfm, members=self.members,
            frequency=self.guardrails.frequency,
        )  # fmt: skip

    # ------------------------------------------------------------------ around the day
    def start_processes(self) -> None:
        """Day 0, before the first step: the first RFM segments and the members who join."""
        self.rfm.refresh(self.world, 0)
        if self.membership is not None:
            self.membership.start(self.audience)

    def before_purchases(self, day: int) -> None:
        """Roll the guardrails' windows; set today's purchase multipliers from offers, clicks
        and membership; refresh RFM; mark the dormant customers a contact woke up."""
        w = self.world
        self.guardrails.new_day(day)
        w.today.purchase_boost = self.offers.purchase_boost(day, self.membership)
        if day > 0 and day % self.resp.rfm_refresh_days == 0:
            self.rfm.refresh(w, day)
        # dormant customers woken by a contact: competitor pull rises for a while
        w.today.woken = self.offers.woken(day)
        w.today.wakeup_multiplier = self.resp.dormant_wakeup_multiplier
        if self.fitted is not None:
            t = self.fitted.today(day)
            w.today.purchase_hazard, w.today.basket_multiplier, w.today.visit_hazard = t
        else:
            w.today.purchase_hazard = w.today.basket_multiplier = w.today.visit_hazard = None

    def after_purchases(self, day: int) -> None:
        """Book discounts used by today's buyers; member discounts; offers are used up."""
        w = self.world
        self.offers.book_discounts(day, w.today.buyers, w.today.amounts, self.membership)

    # ------------------------------------------------------------------ the contact step
    def contact_step(self, day: int) -> None:
        """Collect today's sends, apply guardrails in priority order, deliver, draw responses;
        then the programmes' day."""
        self.guardrails.new_month(day)
        by_campaign: dict[int, list[Send]] = {}
        for s in self.collect(day):
            by_campaign.setdefault(s.campaign, []).append(s)
        for c_idx in self.order:
            for s in by_campaign.get(c_idx, []):
                self.send(day, s)
        if self.membership is not None:
            self.membership.renewals(day)
        if self.referrals is not None:
            self.referrals.step(day, self.audience)

    def collect(self, day: int) -> list[Send]:
        """What every campaign sends today, in campaign order, then the journey steps due."""
        pres = self.world.present
        out: list[Send] = []
        for i, c in enumerate(self.campaigns):
            fires = self.fires[i]
            if fires is not None:
                if fires[day]:
                    cand = np.flatnonzero(pres & self.audience(c.audience, slice(None), day))
                    if cand.size:
                        out.append(Send(i, cand))
                continue
            if c.type == "journey":
                self.journeys.start(i, day, self.audience)
                continue
            cand = self.triggers.candidates(i, c, day)
            if cand.size:  # candidates are few: filter the audience on them only
                cand = cand[self.audience(c.audience, cand, day)]
            if cand.size:
                out.append(Send(i, cand))
        # journey steps due today (started earlier, or step 0 of journeys started today),
        # sent together per (campaign, step)
        out += [Send(c_idx, rows, s_idx) for c_idx, s_idx, rows in self.journeys.due_today(day)]
        # messages deferred to today, after the day's own (a fresh message goes first)
        return out + self.deferrals.due(day, pres)

    def send(self, day: int, s: Send) -> None:
        """Screen one send through the guardrails and deliver what passes."""
        pop = self.world.pop
        c = self.campaigns[s.campaign]
        step = c.steps[s.step] if s.step >= 0 else None
        channel = step.channel if step is not None else c.channel
        content = step.content if step is not None else c.effective_content
        offer = step.offer if step is not None else c.offer
        rows = s.rows
        if channel == "preferred":
            ch = pop.preferred_channel[rows].astype(np.int64)
        else:
            ch = np.full(rows.size, CHANNEL_INDEX[channel], dtype=np.int64)

        refuse = self.deferrals.refuser(day, s, c, ch)
        ok = self.guardrails.screen(rows, ch, day, refuse, content)
        self.deferrals.settle(s, int(ok.sum()), refuse)
        if ok.any():
            # rows are unique within one send, by construction (the counters rely on it)
            self.deliver(day, s.campaign, c, rows[ok], ch[ok], content, offer)

    def deliver(
        self,
        day: int,
        c_idx: int,
        c: Campaign,
        rows: np.ndarray,
        ch: np.ndarray,
        content: str,
        offer: Offer | None,
    ) -> None:
        """Deliver one send's messages: cost, counters, fatigue, responses and their effects."""
        cost = self.rates.cost[ch]
        total = self.ledger.charge(day, rows, cost)
        nth = self.guardrails.count(day, rows, ch, total, content)
        touches = self.world.pop.touches_since_purchase
        touches[rows[touches[rows] >= 0]] += 1  # -1: a cycle begun before the run, not counted
        # responses react to the fatigue before this message; counter-based draws (CRN)
        r = self.resp
        responses = deliver_responses(
            self.fatigue, self.world.seed, self.rates, r, rows=rows, day=day, channels=ch,
            nth=nth, relevance=c.relevance * (r.birthday_relevance if c.type == "birthday" else 1.0),
            content=content, compiled=self.compiled,
        )  # fmt: skip
        if self.guardrails.frequency is not None:  # opens feed the frequency classes
            self.guardrails.frequency.opened.add(day, rows[responses.opened])
        self.respond(day, c, rows, ch, content, offer, responses)
        enrolment.on_delivery(self.world, day, rows, ch, nth, content)  # non-members may join
        if c.response is not None and self.fitted is not None:
            self.fitted.deliver(day, rows, c.response)
        self.ledger.deliveries(day, c_idx, rows, ch, cost, responses)

    def respond(
        self,
        day: int,
        c: Campaign,
        rows: np.ndarray,
        ch: np.ndarray,
        content: str,
        offer: Offer | None,
        x: Responses,
    ) -> None:
        """What the responses do to the customers (see :mod:`.offers` for what lasts)."""
        w = self.world
        pop = w.pop
        r = self.resp
        if x.unsubscribed.any():
            pop.unsubscribed[rows[x.unsubscribed], ch[x.unsubscribed]] = True
        if x.complained.any():
            cr = rows[x.complained]
            pop.satisfaction[cr] = np.maximum(
                0.0, pop.satisfaction[cr] - r.complaint_satisfaction_drop
            )
        vr = rows[x.valued]
        pop.last_valued_touch_day[vr] = day
        pop.onboarded[vr] = True
        if c.response is None:  # a fitted response already holds the click's purchases
            self.offers.clicked(day, rows[x.clicked])
        lapsed = pop.stage[rows] == Stage.LAPSED
        if lapsed.any():
            self.offers.wake(day, rows[lapsed])
        if offer is not None and vr.size:
            self.offers.apply(day, vr, offer)
        elif content == "reward" and vr.size:
            pop.satisfaction[vr] = np.minimum(
                1.0, pop.satisfaction[vr] + r.reward_satisfaction_gain
            )
        gone = vr[pop.stage[vr] == Stage.CHURNED]
        if gone.size:  # a churned customer who values a win-back message may come back
            disc = offer.discount if offer is not None else 0.0
            p = r.churned_reactivation * (
                1.0 + r.offer_purchase_lift * pop.discount_sensitivity[gone] * disc
            )
            back = gone[counter_uniform(w.seed, "reactivation", gone, day) < np.clip(p, 0, 1)]
            reactivate(w, back, day)
        if c.survey is not None:
            answer_survey(w, self.desk, self.ledger, c.survey, rows, ch, day)
        if c.type == "proactive_call":
            for row in rows[x.opened].tolist():
                self.desk.call(int(row), day)
        elif x.replied.any():  # a reply is an inbound request on the same desk of agents
            replies = rows[x.replied]
            w.log.add("message_replies", float(replies.size))
            for row in replies.tolist():
                self.desk.start(int(row), REPLY, day)

    # ------------------------------------------------------------------ results
    def summary(self) -> dict[str, Any]:
        """Messages delivered / refused by reason / opened / clicked, per channel and campaign;
        fatigue, unsubscribed customers, holdout, RFM segments and members at the end."""
        w = self.world
        pop = w.pop
        out = self.ledger.summary()
        present = w.present
        ftot = total_fatigue(pop, np.flatnonzero(present))
        tol = pop.fatigue_tolerance[present]
        out["fatigue"] = {
            "mean": float(ftot.mean()) if ftot.size else 0.0,
            "p50": float(np.quantile(ftot, 0.5)) if ftot.size else 0.0,
            "p90": float(np.quantile(ftot, 0.9)) if ftot.size else 0.0,
            "p99": float(np.quantile(ftot, 0.99)) if ftot.size else 0.0,
            "over_tolerance_share": float((ftot > tol).mean()) if ftot.size else 0.0,
        }
        out["unsubscribed_customers"] = {
            ch: int(pop.unsubscribed[:, k].sum()) for k, ch in enumerate(CHANNELS)
        }
        out["holdout_customers"] = int(self.guardrails.holdout[present].sum())
        seg = self.rfm.segment[present]
        out["rfm_segments"] = {name: int((seg == k).sum()) for name, k in SEGMENT_CODES.items()}
        out["rfm_segments"]["vip"] = int(self.rfm.vip[present].sum())
        if self.membership is not None:
            out["members_end"] = int((self.members & present).sum())
        return out

    def messages_frame(self) -> pd.DataFrame | None:
        """The message log (``customer_id, date, campaign, channel, outcome``), if recorded."""
        return self.ledger.messages_frame()
