"""Defer or drop: a message refused by a quiet day, a minimum gap or a cap is tried again the
next day, for at most ``max_delay_days``; every rule audited from the message log."""

from __future__ import annotations

import pandas as pd
import pytest

from retention_sim import load_scenario, policy_from_dict, simulate

SENT = {"delivered", "opened", "clicked"}


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("default")


def _run(scenario, campaigns, guardrails, days=84):
    pol = policy_from_dict({"name": "p", "campaigns": campaigns, "guardrails": guardrails})
    return simulate(scenario, pol, seed=3, customers=1500, days=days, record_messages=True)


def _weekly_thursday(**extra):
    # 2026-01-01, the first day, is a Thursday: every_n_days 7 fires on Thursdays
    return {
        "name": "news",
        "type": "notification",
        "channel": "email",
        "cadence": {"every_n_days": 7},
        **extra,
    }


QUIET = {"quiet_weekdays": ["thu", "fri"]}


def _by_weekday(log: pd.DataFrame) -> pd.DataFrame:
    return pd.crosstab(log["date"].dt.day_name(), log["outcome"])


def test_quiet_days_defer_a_message_to_the_first_allowed_day(scenario):
    r = _run(scenario, [_weekly_thursday(on_refusal="defer", max_delay_days=3)], QUIET)
    log = r.extras["messages"]
    sent = log[log["outcome"].isin(SENT)]
    assert not sent.empty and set(sent["date"].dt.day_name()) == {"Saturday"}
    t = _by_weekday(log)
    # Thursday's attempts wait through the quiet Friday to Saturday: one deferral each day
    # (less the few customers who left the base in between: they drop the message)
    thu, fri = t.loc["Thursday", "deferred_quiet_day"], t.loc["Friday", "deferred_quiet_day"]
    assert thu > 1000 and 0 <= thu - fri < 0.01 * thu
    assert "refused_quiet_day" not in t.columns
    # every Saturday row is a Thursday message arriving: delivered, or refused for another
    # reason (a customer who left meanwhile drops it)
    m = r.summary["messages"]
    assert m["deferred"]["quiet_day"] == thu + fri
    assert m["delivered_after_deferral"] == m["delivered"] == len(sent)
    assert m["delivered_after_deferral"] + m["dropped_after_deferral"] == thu
    deferred = log[log["outcome"] == "deferred_quiet_day"]
    first = deferred[deferred["date"].dt.day_name() == "Thursday"]
    nxt = deferred[deferred["date"].dt.day_name() == "Friday"]
    moved = first.assign(date=first["date"] + pd.Timedelta(days=1))
    assert set(zip(moved["customer_id"], moved["date"], strict=True)) >= set(
        zip(nxt["customer_id"], nxt["date"], strict=True)
    )


def test_the_maximum_delay_drops_what_waited_too_long(scenario):
    r = _run(scenario, [_weekly_thursday(on_refusal="defer", max_delay_days=1)], QUIET)
    t = _by_weekday(r.extras["messages"])
    m = r.summary["messages"]
    # deferred Thursday, still quiet on Friday after the one allowed day: dropped then
    thu, fri = t.loc["Thursday", "deferred_quiet_day"], t.loc["Friday", "refused_quiet_day"]
    assert thu > 1000 and 0 <= thu - fri < 0.01 * thu  # (less those who left meanwhile)
    assert m["delivered"] == 0 and m["dropped_after_deferral"] == m["deferred_total"] == thu


def test_drop_is_the_default_and_counts_apart(scenario):
    r = _run(scenario, [_weekly_thursday()], QUIET)
    m = r.summary["messages"]
    t = _by_weekday(r.extras["messages"])
    assert "deferred" not in m and m["delivered"] == 0
    assert set(t.index) == {"Thursday"} and t.loc["Thursday", "refused_quiet_day"] > 1000


def test_a_capped_message_waits_for_room_under_the_cap(scenario):
    """Two campaigns on Thursdays, a cap of one message in any 2 days: the lower-priority one
    is deferred to Friday, and no customer ever has two deliveries in 2 days."""
    campaigns = [
        _weekly_thursday(name="first", priority=90),
        _weekly_thursday(name="second", priority=10, on_refusal="defer"),
    ]
    caps = {"caps": [{"channel": "any", "max": 1, "window_days": 2, "window": "rolling"}]}
    r = _run(scenario, campaigns, caps)
    log = r.extras["messages"]
    sent = log[log["outcome"].isin(SENT)].sort_values(["customer_id", "date"])
    gaps = sent.groupby("customer_id")["date"].diff().dropna()
    assert (gaps >= pd.Timedelta(days=2)).all()
    second = sent[sent["campaign"] == "second"]
    assert not second.empty and set(second["date"].dt.day_name()) == {"Saturday"}
    deferred = log[log["outcome"] == "deferred_capped"]
    assert set(deferred["campaign"]) == {"second"}
    assert set(deferred["date"].dt.day_name()) == {"Thursday", "Friday"}


def test_a_min_gap_defers_rather_than_drops(scenario):
    campaigns = [
        _weekly_thursday(name="email", priority=90),
        _weekly_thursday(name="sms", channel="sms", priority=10, on_refusal="defer"),
    ]
    r = _run(scenario, campaigns, {"min_gap_hours": {"sms": 24 * 10}})
    m = r.summary["messages"]
    assert m["deferred"]["min_gap"] > 0  # the weekly sms comes sooner than its 10-day gap
    assert m["delivered_after_deferral"] > 0
