"""The contact engine: turns a policy into messages, applies guardrails, draws responses.

Each simulated day (:meth:`ContactEngine.contact_step`) the engine collects what every campaign
wants to send today — scheduled sends, triggers, and the steps of journeys that are due — and
handles them campaign by campaign in priority order (highest first), so that when caps collide
the more important campaign gets through. A message is refused, and counted by reason, when the
customer is in the holdout group, the channel lacks consent, the customer unsubscribed from it,
today is a quiet day, the channel's minimum gap has not passed, a cap is reached, or the monthly
budget is spent. A delivered message costs money, adds to the channel's fatigue stock, and may be
opened, clicked, cause an unsubscribe or a complaint; a valued message resets the indifference
clock and applies its offer or reward.

Journeys (a welcome series, a win-back sequence) are one SimPy process per customer; the
everyday work is vectorised over customers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...config.policy import Audience, Campaign, Offer, Policy
from ...vocabulary import CHANNELS, STAGES, WEEKDAYS, Stage
from ..fatigue import Fatigue, total_fatigue
from ..logs import EventLog
from ..random_streams import counter_uniform, counter_uniforms
from ..reactivation import reachable_churned, reactivate
from ..rfm import SEGMENT_CODES, rfm_scores, rfm_segments, vip_mask
from ..service_desk import ServiceDesk
from ..stages import own_cycle_days
from ..world import World

__all__ = ["ContactEngine", "REFUSAL_REASONS"]

REFUSAL_REASONS = (
    "holdout",
    "no_consent",
    "unsubscribed",
    "quiet_day",
    "min_gap",
    "capped",
    "budget",
)
_OUTCOMES = ("delivered", "opened", "clicked") + tuple(f"refused_{r}" for r in REFUSAL_REASONS)
_CH = {c: k for k, c in enumerate(CHANNELS)}
_NEVER = np.iinfo(np.int32).min // 2
# metrics per campaign × channel
_M = ("delivered", "opened", "clicked", "unsubscribes", "complaints", "cost", "valued")
_MI = {m: k for k, m in enumerate(_M)}


def _scale_odds(p: np.ndarray, factor: float) -> np.ndarray:
    """Multiply the odds of ``p`` by ``factor``: ≈ ``factor × p`` for small ``p``, never > 1."""
    return factor * p / (1.0 - p + factor * p)


@dataclass
class _Send:
    campaign: int
    rows: np.ndarray
    step: int = -1  # journey step, or -1


class _CapCounter:
    """Messages per customer in a rolling or calendar window, for one cap."""

    def __init__(self, n: int, window_days: int, calendar: bool, start: dt.date, max_per_day: int):
        self.window = window_days
        self.calendar = calendar
        self.start = start
        self.count = np.zeros(n, dtype=np.int32)
        # messages per customer and day of the window: a customer gets at most one message per
        # campaign step a day, so one byte is enough for any policy of fewer than 256 steps
        small = np.uint8 if max_per_day < 256 else np.uint16
        self.buckets = None if calendar else np.zeros((window_days, n), dtype=small)
        self.period = -1

    def _period(self, day: int) -> int:
        date = self.start + dt.timedelta(days=day)
        if self.window == 7:  # calendar weeks start on Monday
            return (date.toordinal() - date.weekday()) // 7
        if self.window in (28, 29, 30, 31):  # calendar months
            return date.year * 12 + date.month
        return day // self.window

    def new_day(self, day: int) -> None:
        if self.calendar:
            p = self._period(day)
            if p != self.period:
                self.count[:] = 0
                self.period = p
        else:
            b = self.buckets[day % self.window]
            self.count -= b
            b[:] = 0

    def add(self, day: int, rows: np.ndarray) -> None:
        """Count one message for each of ``rows`` (unique within one send)."""
        self.count[rows] += 1
        if self.buckets is not None:
            self.buckets[day % self.window][rows] += 1


class ContactEngine:
    """Runs a :class:`~retention_sim.config.policy.Policy` inside one simulation world."""

    def __init__(
        self,
        world: World,
        policy: Policy,
        *,
        desk: ServiceDesk,
        fatigue: Fatigue,
        record_messages: bool = False,
    ):
        self.world = world
        self.desk = desk
        self.fatigue = fatigue
        self.policy = policy
        sc = world.scenario
        pop = world.pop
        n = pop.capacity
        self.n = n
        self.resp = sc.responses
        self.seed = world.seed
        self.campaigns = list(policy.campaigns)
        self.order = sorted(range(len(self.campaigns)), key=lambda i: -self.campaigns[i].priority)
        g = policy.guardrails
        self.holdout = world.streams["holdout"].random(n) < g.holdout_share
        self.quiet = {WEEKDAYS.index(d) for d in g.quiet_weekdays}
        self.min_gap_days = np.zeros(len(CHANNELS))
        for ch, hours in g.min_gap_hours.items():
            self.min_gap_days[_CH[ch]] = np.ceil(hours / 24.0)
        self.caps = [
            (
                None if cap.channel == "any" else _CH[cap.channel],
                cap.max,
                _CapCounter(
                    n,
                    cap.window_days,
                    cap.window == "calendar",
                    sc.calendar.start,
                    sum(max(1, len(c.steps or ())) for c in self.campaigns),
                ),
            )
            for cap in g.caps
        ]
        self.last_sent = np.full((n, len(CHANNELS)), _NEVER, dtype=np.int32)
        self.sent_count = np.zeros((n, len(CHANNELS)), dtype=np.int16)  # sends on last_sent day
        chans = [sc.channels.get(c) for c in CHANNELS]
        self.cost = np.array([c.cost_per_message if c else 0.0 for c in chans])
        self.open_rate = np.array([c.open_rate if c else 0.0 for c in chans])
        self.click_rate = np.array([c.click_rate if c else 0.0 for c in chans])
        self.unsub_rate = np.array([c.unsubscribe_rate if c else 0.0 for c in chans])
        self.complaint_rate = np.array([c.complaint_rate if c else 0.0 for c in chans])
        self.has_channel = np.array([c is not None for c in chans])
        # offers, reminders and dormant wake-ups
        self.offer_discount = np.zeros(n)
        self.offer_until = np.full(n, _NEVER, dtype=np.int32)
        self.click_until = np.full(n, _NEVER, dtype=np.int32)
        self.woken_until = np.full(n, _NEVER, dtype=np.int32)
        # budget
        self.budget = policy.monthly_budget
        self.budget_month = -1
        self.budget_spent = 0.0
        # RFM
        self.rfm_segment = np.full(n, -1, dtype=np.int8)
        self.vip = np.zeros(n, dtype=bool)
        # journeys and per-campaign state
        self.journey_key = {
            i: np.full(n, _NEVER, dtype=np.int32)
            for i, c in enumerate(self.campaigns)
            if c.type == "journey"
        }
        self.tier_notified = {
            i: np.full((n, 2), -1, dtype=np.int32)
            for i, c in enumerate(self.campaigns)
            if c.type == "tier_up"
        }
        self.due: dict[int, list[tuple[int, int, int]]] = {}  # day → [(campaign, step, row)]
        self.fires = [self._schedule(c) for c in self.campaigns]
        self.referral_pool = None
        if policy.programmes.referral is not None:
            from ..referral import ReferralPool

            self.referral_pool = ReferralPool(world)
        # membership programme
        self.members = np.zeros(n, dtype=bool)
        self.member_since = np.full(n, _NEVER, dtype=np.int32)
        self.member_savings = np.zeros(n)
        # counters
        self.stats = np.zeros((len(self.campaigns) + 1, len(CHANNELS), len(_M)))
        self.refused = np.zeros(
            (len(self.campaigns) + 1, len(CHANNELS) + 1, len(REFUSAL_REASONS)), dtype=np.int64
        )
        self.record = record_messages
        self.msg_log = (
            EventLog(
                (
                    "customer_id",
                    "day",
                    "campaign",
                    "channel",
                    "outcome",
                    "unsubscribed",
                    "complained",
                )
            )
            if record_messages
            else None
        )

    # ------------------------------------------------------------------ schedules
    def _schedule(self, c: Campaign) -> np.ndarray | None:
        """Days on which a cadence-driven campaign sends (None for trigger-driven types)."""
        cad = c.cadence
        if cad is None or cad.trigger is not None:
            return None
        h = self.world.horizon
        start = self.world.scenario.calendar.start
        days = np.arange(h)
        dates = [start + dt.timedelta(days=int(d)) for d in days]
        wd = np.array([d.weekday() for d in dates])
        dom = np.array([d.day for d in dates])
        month = np.array([d.month for d in dates])
        fires = np.zeros(h, dtype=bool)
        if cad.every == "daily":
            fires[:] = True
        elif cad.every in ("weekly", "biweekly"):
            step = 7 if cad.every == "weekly" else 14
            if cad.weekday is not None:
                first = (
                    int(np.flatnonzero(wd == WEEKDAYS.index(cad.weekday))[0])
                    if h >= 7 or (wd == WEEKDAYS.index(cad.weekday)).any()
                    else h
                )
                fires[first::step] = True
            else:
                fires[cad.offset_days :: step] = True
        elif cad.every in ("monthly", "quarterly"):
            target = cad.day_of_month or start.day if start.day <= 28 else 1
            fires = dom == (cad.day_of_month or target)
            if cad.every == "quarterly":
                fires &= ((month - start.month) % 3) == 0
        elif cad.every_n_days is not None:
            fires[cad.offset_days :: cad.every_n_days] = True
        elif cad.dates is not None:
            wanted = {d.toordinal() - start.toordinal() for d in cad.dates}
            for d in wanted:
                if 0 <= d < h:
                    fires[d] = True
        return fires

    # ------------------------------------------------------------------ processes
    def start_processes(self) -> None:
        """Start the engine's own SimPy processes (none needed beyond journeys)."""
        self._refresh_rfm(0)
        mem = self.policy.programmes.membership
        if mem is not None:
            rows = self.world.present_rows()
            rows = rows[self._audience(mem.audience, rows, 0)]
            u = self.world.streams["membership"].random(self.n)
            joiners = rows[u[rows] < mem.join_share]
            self._join(joiners, 0)

    def _journey(self, c_idx: int, row: int, day0: int):
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

    # ------------------------------------------------------------------ daily hooks
    def before_purchases(self, day: int) -> None:
        """Roll the guardrails' windows; set today's purchase multipliers from offers, clicks
        and membership; refresh RFM; mark the dormant customers a contact woke up."""
        w = self.world
        pop = w.pop
        for _, _, counter in self.caps:
            counter.new_day(day)
        r = self.resp
        boost = np.ones(self.n)
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
        mem = self.policy.programmes.membership
        if mem is not None and self.members.any():
            boost[self.members] *= mem.purchase_multiplier
        w.today.purchase_boost = boost
        if day > 0 and day % r.rfm_refresh_days == 0:
            self._refresh_rfm(day)
        # dormant customers woken by a contact: competitor pull rises for a while
        w.today.woken = self.woken_until >= day
        w.today.wakeup_multiplier = self.resp.dormant_wakeup_multiplier

    def after_purchases(self, day: int) -> None:
        """Book discounts used by today's buyers; member discounts; offers are used up."""
        w = self.world
        buyers, amounts = w.today.buyers, w.today.amounts
        if buyers.size == 0:
            return
        disc = np.where(self.offer_until[buyers] >= day, self.offer_discount[buyers], 0.0)
        mem = self.policy.programmes.membership
        if mem is not None:
            m = self.members[buyers]
            extra = np.where(m, mem.discount, 0.0)
            self.member_savings[buyers] += amounts * extra
            disc = 1.0 - (1.0 - disc) * (1.0 - extra)
        cost = amounts * disc
        total = float(cost.sum())
        if total:
            w.log.add("discount_cost", total)
            w.pop.pv_contribution[buyers] -= cost * w.discount_factor(day)
        used = self.offer_until[buyers] >= day
        self.offer_until[buyers[used]] = _NEVER

    def contact_step(self, day: int) -> None:
        """Collect today's sends, apply guardrails in priority order, deliver, draw responses."""
        w = self.world
        if self.budget is not None:
            date = w.scenario.calendar.start + dt.timedelta(days=day)
            month = date.year * 12 + date.month
            if month != self.budget_month:
                self.budget_month, self.budget_spent = month, 0.0
        sends = self._collect(day)
        by_campaign: dict[int, list[_Send]] = {}
        for s in sends:
            by_campaign.setdefault(s.campaign, []).append(s)
        for c_idx in self.order:
            for s in by_campaign.get(c_idx, []):
                self._send(day, s)
        self._membership_renewals(day)
        if self.policy.programmes.referral is not None:
            self._referrals(day, w.present_rows())

    # ------------------------------------------------------------------ collecting sends
    def _audience(self, a: Audience, rows: np.ndarray | slice, day: int) -> np.ndarray:
        """Which of ``rows`` (or, with ``slice(None)``, of all rows) pass the audience."""
        pop = self.world.pop
        size = pop.capacity if isinstance(rows, slice) else rows.size
        m = np.ones(size, dtype=bool)
        if a.stages is not None:
            codes = [STAGES.index(s) for s in a.stages]
            m &= np.isin(pop.stage[rows], codes)
        if a.segments is not None:
            codes = [pop.segment_names.index(s) for s in a.segments]
            m &= np.isin(pop.segment[rows], codes)
        if a.tiers is not None:
            codes = [pop.tier_names.index(t) for t in a.tiers]
            m &= np.isin(pop.tier[rows], codes)
        if a.rfm is not None:
            codes = [SEGMENT_CODES[s] for s in a.rfm if s != "vip"]
            mm = np.isin(self.rfm_segment[rows], codes)
            if "vip" in a.rfm:
                mm |= self.vip[rows]
            m &= mm
        if a.days_since_purchase is not None:
            rec = day - pop.last_purchase_day[rows]
            if a.days_since_purchase.min is not None:
                m &= rec >= a.days_since_purchase.min
            if a.days_since_purchase.max is not None:
                m &= rec <= a.days_since_purchase.max
        if a.consent is not None:
            for ch in a.consent:
                m &= pop.consent[rows, _CH[ch]] & ~pop.unsubscribed[rows, _CH[ch]]
        if a.members_only:
            m &= self.members[rows]
        return m

    def _audience_full(self, a: Audience, day: int) -> np.ndarray:
        """The audience as a mask over every row (present or not)."""
        return self._audience(a, slice(None), day)

    def _collect(self, day: int) -> list[_Send]:
        w = self.world
        pop = w.pop
        pres = w.present
        out: list[_Send] = []
        date = w.scenario.calendar.start + dt.timedelta(days=day)
        doy = min(date.timetuple().tm_yday - 1, 364)
        recency = None
        for i, c in enumerate(self.campaigns):
            t = c.type
            small = True  # candidates are few: filter the audience on them only
            if self.fires[i] is not None:
                if not self.fires[i][day]:
                    continue
                mask = pres & self._audience_full(c.audience, day)
                small = False
            elif t == "thank_you":
                mask = pres & (pop.last_purchase_day == day - c.delay_days)
            elif t == "win_back":
                base = pres
                if c.audience.stages is not None and "churned" in c.audience.stages:
                    base = pres.copy()
                    base[reachable_churned(w)] = True
                if recency is None:
                    recency = day - pop.last_purchase_day
                since = recency - c.after_days
                if c.repeat_every_days:
                    mask = base & (since >= 0) & (since % c.repeat_every_days == 0)
                else:
                    mask = base & (since == 0)
            elif t == "birthday":
                mask = pres & (pop.birthday_doy == (doy + c.days_before) % 365)
            elif t == "tier_up":
                cand = self._tier_up_candidates(i, c, day)
                mask = None
            elif t == "journey":
                self._start_journeys(i, c, day)
                continue
            elif c.cadence is not None and c.cadence.trigger == "predicted_next_purchase":
                if recency is None:
                    recency = day - pop.last_purchase_day
                everyone = np.arange(pop.capacity)
                due = np.rint(own_cycle_days(w, everyone)).astype(np.int64) - c.cadence.lead_days
                mask = pres & (recency == np.maximum(due, 1))
            else:  # pragma: no cover - validated away
                continue
            if mask is not None:
                cand = np.flatnonzero(mask)
            if small and cand.size:
                cand = cand[self._audience(c.audience, cand, day)]
            if cand.size:
                out.append(_Send(i, cand))
        # journey steps due today (started earlier, or step 0 of journeys started today),
        # sent together per (campaign, step)
        due = self.due.pop(day, [])
        if due:
            arr = np.array(due, dtype=np.int64)
            for c_idx, s_idx in sorted({(int(a), int(b)) for a, b in arr[:, :2]}):
                sel = arr[(arr[:, 0] == c_idx) & (arr[:, 1] == s_idx), 2]
                sel = sel[w.present[sel]]
                if self.campaigns[c_idx].stop_on_purchase:
                    sel = sel[pop.last_purchase_day[sel] <= self.journey_key[c_idx][sel]]
                if sel.size:
                    out.append(_Send(c_idx, np.unique(sel), s_idx))
        return out

    def _start_journeys(self, i: int, c: Campaign, day: int) -> None:
        w = self.world
        pop = w.pop
        key = self.journey_key[i]
        if c.start == "new_customer":
            cand = np.flatnonzero(w.present & (pop.acquired_day == day))
        else:  # lapsed: once per lapse (keyed by the last purchase day)
            cand = np.flatnonzero(
                w.present & (pop.stage == Stage.LAPSED) & (key < pop.last_purchase_day)
            )
        if cand.size:
            cand = cand[self._audience(c.audience, cand, day)]
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

    def _tier_up_candidates(self, i: int, c: Campaign, day: int) -> np.ndarray:
        w = self.world
        pop = w.pop
        loy = w.scenario.loyalty
        if not loy.enabled:
            return np.zeros(0, dtype=np.int64)
        th = np.array([t.threshold_points for t in loy.tiers] + [np.inf])
        period = day // loy.qualification_window_days
        notified = self.tier_notified[i]
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

    # ------------------------------------------------------------------ delivering
    def _refuse(
        self, c_idx: int, ch: np.ndarray, mask: np.ndarray, reason: int, rows: np.ndarray, day: int
    ) -> None:
        if not mask.any():
            return
        chm = ch[mask]
        idx = np.where(chm < 0, len(CHANNELS), chm)
        self.refused[c_idx, :, reason] += np.bincount(idx, minlength=len(CHANNELS) + 1)
        self.world.log.add(f"refused_{REFUSAL_REASONS[reason]}", float(mask.sum()))
        if self.msg_log is not None:
            r = rows[mask]
            self.msg_log.append(
                customer_id=r,
                day=np.full(r.size, day, dtype=np.int32),
                campaign=np.full(r.size, c_idx, dtype=np.int16),
                channel=chm.astype(np.int8),
                outcome=np.full(r.size, 3 + reason, dtype=np.int8),
                unsubscribed=np.zeros(r.size, dtype=bool),
                complained=np.zeros(r.size, dtype=bool),
            )

    def _send(self, day: int, s: _Send) -> None:
        w = self.world
        pop = w.pop
        c = self.campaigns[s.campaign]
        step = c.steps[s.step] if s.step >= 0 else None
        channel = step.channel if step is not None else c.channel
        content = step.content if step is not None else c.effective_content
        offer = step.offer if step is not None else c.offer
        rows = s.rows
        if channel == "preferred":
            ch = pop.preferred_channel[rows].astype(np.int64)
        else:
            ch = np.full(rows.size, _CH[channel], dtype=np.int64)
        ok = np.ones(rows.size, dtype=bool)
        chs = np.maximum(ch, 0)

        def gate(bad: np.ndarray, reason: str) -> None:
            nonlocal ok
            bad = bad & ok
            self._refuse(s.campaign, ch, bad, REFUSAL_REASONS.index(reason), rows, day)
            ok &= ~bad

        gate(self.holdout[rows], "holdout")
        gate((ch < 0) | ~pop.consent[rows, chs] | ~self.has_channel[chs], "no_consent")
        gate(pop.unsubscribed[rows, chs], "unsubscribed")
        weekday = (w.scenario.calendar.start + dt.timedelta(days=day)).weekday()
        if weekday in self.quiet:
            gate(np.ones(rows.size, dtype=bool), "quiet_day")
        if self.min_gap_days.any():
            gap = self.min_gap_days[chs]
            gate((gap > 0) & ((day - self.last_sent[rows, chs]) < gap), "min_gap")
        for cap_ch, cap_max, counter in self.caps:
            applies = np.ones(rows.size, dtype=bool) if cap_ch is None else (ch == cap_ch)
            gate(applies & (counter.count[rows] >= cap_max), "capped")
        cost = self.cost[chs]
        if self.budget is not None:
            left = self.budget - self.budget_spent
            spend = np.cumsum(np.where(ok, cost, 0.0))
            gate(spend > left + 1e-9, "budget")
        d_rows = rows[ok]
        if d_rows.size == 0:
            return
        d_ch = ch[ok]
        # duplicates within one send (not possible by construction) would break the counters
        self._deliver(day, s.campaign, c, d_rows, d_ch, content, offer)

    def _deliver(
        self,
        day: int,
        c_idx: int,
        c: Campaign,
        rows: np.ndarray,
        ch: np.ndarray,
        content: str,
        offer: Offer | None,
    ) -> None:
        w = self.world
        pop = w.pop
        r = self.resp
        cost = self.cost[ch]
        total_cost = float(cost.sum())
        if self.budget is not None:
            self.budget_spent += total_cost
        w.log.add("contact_cost", total_cost)
        pop.pv_contribution[rows] -= cost * w.discount_factor(day)
        for cap_ch, _, counter in self.caps:
            sel = rows if cap_ch is None else rows[ch == cap_ch]
            if sel.size:
                counter.add(day, sel)
        k = np.where(self.last_sent[rows, ch] == day, self.sent_count[rows, ch], 0)
        self.sent_count[rows, ch] = k + 1
        self.last_sent[rows, ch] = day
        k = k.astype(np.int64)
        # responses use the fatigue before this message; counter-based draws (CRN)
        ratio = self.fatigue.ratio(rows)
        self.fatigue.add(rows, ch)
        relevance = c.relevance * (r.birthday_relevance if c.type == "birthday" else 1.0)
        u_open, u_click, u_unsub, u_comp = counter_uniforms(
            self.seed, ("open", "click", "unsubscribe", "complaint"), rows, day, ch, k
        )
        p_open = _scale_odds(
            self.open_rate[ch] * np.exp(-r.fatigue_open_sensitivity * ratio), relevance
        )
        opened = u_open < p_open
        click_given_open = np.divide(
            self.click_rate[ch],
            self.open_rate[ch],
            out=np.zeros(rows.size),
            where=self.open_rate[ch] > 0,
        )
        p_click = _scale_odds(np.minimum(click_given_open, 1.0), relevance)
        clicked = opened & (u_click < p_click)
        amp = 1.0 + r.fatigue_unsubscribe_sensitivity * ratio**2
        unsub = u_unsub < np.clip(self.unsub_rate[ch] * amp, 0.0, 1.0)
        complaint = u_comp < np.clip(self.complaint_rate[ch] * amp, 0.0, 1.0)
        if unsub.any():
            pop.unsubscribed[rows[unsub], ch[unsub]] = True
        if complaint.any():
            cr = rows[complaint]
            pop.satisfaction[cr] = np.maximum(
                0.0, pop.satisfaction[cr] - r.complaint_satisfaction_drop
            )
        valued = clicked if (content == "info" and r.info_valued_on == "click") else opened
        vr = rows[valued]
        pop.last_valued_touch_day[vr] = day
        pop.onboarded[vr] = True
        self.click_until[rows[clicked]] = day + r.click_lift_days
        lapsed = pop.stage[rows] == Stage.LAPSED
        if lapsed.any():
            self.woken_until[rows[lapsed]] = day + r.dormant_wakeup_days
        if offer is not None and vr.size:
            self._apply_offer(day, vr, offer)
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
            back = gone[counter_uniform(self.seed, "reactivation", gone, day) < np.clip(p, 0, 1)]
            reactivate(w, back, day)
        if c.type == "proactive_call":
            for row in rows[opened].tolist():
                self.desk.call(int(row), day)
        # counters
        st = self.stats[c_idx]
        nch = len(CHANNELS)
        counts = {}
        for name, mask in (
            ("delivered", None),
            ("opened", opened),
            ("clicked", clicked),
            ("unsubscribes", unsub),
            ("complaints", complaint),
            ("valued", valued),
        ):
            sel = ch if mask is None else ch[mask]
            counts[name] = np.bincount(sel, minlength=nch)
            st[:, _MI[name]] += counts[name]
        st[:, _MI["cost"]] += np.bincount(ch, weights=cost, minlength=nch)
        log = w.log
        log.add("messages_delivered", float(rows.size))
        for name, column in (
            ("opened", "messages_opened"),
            ("clicked", "messages_clicked"),
            ("unsubscribes", "unsubscribes"),
            ("complaints", "complaints"),
        ):
            log.add(column, float(counts[name].sum()))
        for k_ch in np.flatnonzero(counts["delivered"]):
            log.add(f"delivered_{CHANNELS[k_ch]}", float(counts["delivered"][k_ch]))
        if self.msg_log is not None:
            outcome = np.where(clicked, 2, np.where(opened, 1, 0)).astype(np.int8)
            self.msg_log.append(
                customer_id=rows,
                day=np.full(rows.size, day, dtype=np.int32),
                campaign=np.full(rows.size, c_idx, dtype=np.int16),
                channel=ch.astype(np.int8),
                outcome=outcome,
                unsubscribed=unsub,
                complained=complaint,
            )

    def _apply_offer(self, day: int, rows: np.ndarray, offer: Offer) -> None:
        w = self.world
        pop = w.pop
        if offer.discount > 0:
            better = (self.offer_until[rows] < day) | (self.offer_discount[rows] <= offer.discount)
            r = rows[better]
            self.offer_discount[r] = offer.discount
            self.offer_until[r] = day + offer.valid_days
        if offer.bonus_points > 0 and w.scenario.loyalty.enabled:
            pop.points[rows] += offer.bonus_points
            w.log.add("points_issued", offer.bonus_points * rows.size)
        if offer.gift_value > 0:
            cost = offer.gift_value * rows.size
            w.log.add("reward_cost", cost)
            pop.pv_contribution[rows] -= offer.gift_value * w.discount_factor(day)
            pop.satisfaction[rows] = np.minimum(
                1.0, pop.satisfaction[rows] + self.resp.reward_satisfaction_gain
            )

    # ------------------------------------------------------------------ RFM and programmes
    def _refresh_rfm(self, day: int) -> None:
        w = self.world
        pop = w.pop
        rows = w.present_rows()
        self.rfm_segment[:] = -1
        self.vip[:] = False
        if rows.size == 0:
            return
        r, f, _m, shares = rfm_scores(
            day - pop.last_purchase_day[rows], pop.n_purchases[rows], pop.spend_total[rows]
        )
        self.rfm_segment[rows] = rfm_segments(r, f)
        self.vip[rows] = vip_mask(shares)

    def _join(self, rows: np.ndarray, day: int) -> None:
        mem = self.policy.programmes.membership
        if rows.size == 0 or mem is None:
            return
        self.members[rows] = True
        self.member_since[rows] = day
        self.member_savings[rows] = 0.0
        self.world.log.add("membership_fees", mem.fee_per_year * rows.size)
        self.world.log.add("members_joined", float(rows.size))

    def _membership_renewals(self, day: int) -> None:
        mem = self.policy.programmes.membership
        if mem is None or day == 0:
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
        u = counter_uniform(self.seed, "membership_renewal", due, day)
        renew = due[u < p]
        lapse = due[u >= p]
        self.members[lapse] = False
        self.world.log.add("membership_lapsed", float(lapse.size))
        self.member_savings[renew] = 0.0
        self.world.log.add("membership_fees", mem.fee_per_year * renew.size)

    def _referrals(self, day: int, rows: np.ndarray) -> None:
        ref = self.policy.programmes.referral
        if ref is None or rows.size == 0:
            return
        pool = self.referral_pool
        cand = rows[self._audience(ref.audience, rows, day)]
        u = counter_uniform(self.seed, "referral", cand, day)
        referrers = cand[u < -np.expm1(-ref.referrals_per_year / 365.0)]
        if referrers.size == 0 or pool is None:
            return
        activated = pool.activate(self.world, referrers, day)
        if activated:
            self.world.log.add("referrals", float(activated))
            self.world.log.add("reward_cost", ref.reward_value * activated)
            giver = referrers[:activated]
            self.world.pop.last_valued_touch_day[giver] = (
                day  # a thank-you reward is a valued touch
            )

    # ------------------------------------------------------------------ results
    def summary(self) -> dict:
        """Messages delivered / refused by reason / opened / clicked, per channel and campaign."""
        w = self.world
        pop = w.pop
        names = [c.name for c in self.campaigns]

        def block(st: np.ndarray) -> dict:
            d = {
                m: float(st[..., _MI[m]].sum()) if m == "cost" else int(st[..., _MI[m]].sum())
                for m in _M
            }
            delivered = max(d["delivered"], 1)
            d["open_rate"] = d["opened"] / delivered
            d["click_rate"] = d["clicked"] / delivered
            d["unsubscribe_rate"] = d["unsubscribes"] / delivered
            d["complaint_rate"] = d["complaints"] / delivered
            return d

        out = block(self.stats)
        out["refused"] = {r: int(self.refused[..., k].sum()) for k, r in enumerate(REFUSAL_REASONS)}
        out["refused_total"] = int(self.refused.sum())
        out["by_channel"] = {}
        for k, ch in enumerate(CHANNELS):
            b = block(self.stats[:, k])
            b["refused"] = {
                r: int(self.refused[:, k, j].sum()) for j, r in enumerate(REFUSAL_REASONS)
            }
            out["by_channel"][ch] = b
        out["by_campaign"] = {}
        for i, name in enumerate(names):
            b = block(self.stats[i])
            b["refused"] = {
                r: int(self.refused[i, :, j].sum()) for j, r in enumerate(REFUSAL_REASONS)
            }
            out["by_campaign"][name] = b
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
        out["holdout_customers"] = int(self.holdout[present].sum())
        seg = self.rfm_segment[present]
        out["rfm_segments"] = {name: int((seg == k).sum()) for name, k in SEGMENT_CODES.items()}
        out["rfm_segments"]["vip"] = int(self.vip[present].sum())
        if self.policy.programmes.membership is not None:
            out["members_end"] = int((self.members & present).sum())
        return out

    def messages_frame(self) -> pd.DataFrame | None:
        """The message log (``customer_id, date, campaign, channel, outcome``), if recorded."""
        if self.msg_log is None:
            return None
        a = self.msg_log.arrays()
        start = pd.Timestamp(self.world.scenario.calendar.start)
        names = np.array([c.name for c in self.campaigns], dtype=object)
        chn = np.array(CHANNELS + ("none",), dtype=object)
        ch = a["channel"].astype(np.int64)
        frame = pd.DataFrame(
            {
                "customer_id": a["customer_id"].astype(np.int64),
                "date": start + pd.to_timedelta(a["day"].astype(np.int64), unit="D"),
                "campaign": names[a["campaign"].astype(np.int64)] if a["campaign"].size else [],
                "channel": chn[np.where(ch < 0, len(CHANNELS), ch)],
                "outcome": np.array(_OUTCOMES, dtype=object)[a["outcome"].astype(np.int64)],
                "unsubscribed": a["unsubscribed"].astype(bool),
                "complained": a["complained"].astype(bool),
            }
        )
        return frame.sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)
