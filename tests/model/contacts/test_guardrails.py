"""Each guardrail check on its own, and the order they are applied in."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from retention_sim import policy_from_dict
from retention_sim.model.build import build_world
from retention_sim.model.contacts.guardrails import REFUSAL_REASONS, CapCounter, Guardrails
from retention_sim.model.contacts.schedule import firing_days
from retention_sim.vocabulary import CHANNEL_INDEX

from ...conftest import plain_scenario

EMAIL, SMS = CHANNEL_INDEX["email"], CHANNEL_INDEX["sms"]


def _guardrails(**g):
    sc = plain_scenario()  # starts on Thursday 2026-01-01
    world = build_world(sc, seed=1, customers=50, days=30)
    policy = policy_from_dict({"name": "g", "guardrails": g}, scenario=sc)
    cost = np.array([50.0, 700.0, 5.0, 300.0, 3000.0])
    return world, Guardrails(world, policy, cost)


def test_each_check_alone():
    world, g = _guardrails(
        holdout_share=0.5,
        quiet_weekdays=["thu"],
        min_gap_hours={"sms": 48},
        caps=[{"channel": "email", "max": 1, "window_days": 7}],
    )
    rows = np.arange(10)
    email = np.full(10, EMAIL)
    assert (g.in_holdout(rows, email, 0) == g.holdout[:10]).all() and g.holdout[:50].any()
    world.pop.consent[3, EMAIL] = False
    assert g.no_consent(rows, email, 0)[3] and g.no_consent(rows, np.full(10, -1), 0).all()
    world.pop.unsubscribed[4, EMAIL] = True
    assert np.flatnonzero(g.unsubscribed(rows, email, 0)).tolist() == [4]
    assert g.quiet_day(rows, email, 0).all() and not g.quiet_day(rows, email, 1).any()
    sms = np.full(10, SMS)
    g.count(5, rows[:2], sms[:2], 1400.0)
    assert g.too_soon(rows, sms, 6)[:2].all() and not g.too_soon(rows, sms, 7).any()
    assert not g.too_soon(rows, email, 6).any()  # no gap on e-mail
    g.count(5, rows[:3], email[:3], 150.0)
    assert g.capped(rows, email, 0)[:3].all() and not g.capped(rows, email, 0)[3:].any()
    assert not g.capped(rows, sms, 0).any()  # the cap is on e-mail only


def test_every_refusal_has_one_reason_in_the_declared_order():
    world, g = _guardrails(holdout_share=1.0, quiet_weekdays=["thu"])
    rows = np.arange(20)
    seen = []
    ok = g.screen(rows, np.full(20, EMAIL), 0, lambda m, r: seen.append((REFUSAL_REASONS[r], m)))
    assert not ok.any()
    reasons = [r for r, m in seen if m.any()]
    assert reasons == ["holdout"]  # everybody is in the holdout: nothing left for later checks
    total = sum(m.astype(int) for _, m in seen)
    assert (total == 1).all()


def test_budget_refuses_what_the_rest_of_the_month_cannot_pay():
    world, g = _guardrails()
    g.budget = 120.0
    g.new_month(0)
    rows = np.arange(5)
    ok = g.screen(rows, np.full(5, EMAIL), 1, lambda m, r: None)
    assert ok.tolist() == [True, True, False, False, False]  # 50 VND each
    g.count(1, rows[:2], np.full(2, EMAIL), 100.0)
    assert not g.screen(rows, np.full(5, EMAIL), 2, lambda m, r: None).any()
    g.new_month(31)  # 1 February: a new month, a new budget
    assert g.screen(rows, np.full(5, EMAIL), 31, lambda m, r: None).sum() == 2


@pytest.mark.parametrize("calendar", [False, True])
def test_cap_counter_rolling_and_calendar_windows(calendar):
    c = CapCounter(3, 7, calendar, dt.date(2026, 1, 1), max_per_day=2)  # a Thursday
    for day in range(14):
        c.new_day(day)
        if day in (0, 3):
            c.add(day, np.array([0]))
        if day == 3:
            assert c.count[0] == 2
        if day == 4:  # Monday 5 January starts a new calendar week
            assert c.count[0] == (0 if calendar else 2)
        if day == 7:  # the rolling window has forgotten day 0
            assert c.count[0] == (0 if calendar else 1)


def test_firing_days_is_a_pure_function_of_cadence_start_and_horizon():
    from retention_sim.config.policy import Cadence

    start = dt.date(2026, 1, 1)  # Thursday
    days = lambda c: np.flatnonzero(firing_days(Cadence.model_validate(c), start, 40)).tolist()  # noqa: E731
    assert days({"every": "weekly", "weekday": "mon"}) == [4, 11, 18, 25, 32, 39]
    assert days({"every": "biweekly"}) == [0, 14, 28]
    assert days({"every_n_days": 10, "offset_days": 3}) == [3, 13, 23, 33]
    assert days({"every": "monthly", "day_of_month": 15}) == [14]
    assert days({"dates": ["2026-01-02", "2026-03-01"]}) == [1]
    assert (
        firing_days(Cadence.model_validate({"trigger": "predicted_next_purchase"}), start, 40)
        is None
    )
    assert firing_days(None, start, 40) is None
