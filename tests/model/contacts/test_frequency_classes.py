"""Frequency classes (Salesforce-style engagement frequency): saturated, on target or
undersaturated from the last 28 days of deliveries and opens; audited from the message log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_sim import load_scenario, policy_from_dict, simulate

SENT = {"delivered", "opened", "clicked"}
OPENED = {"opened", "clicked"}


def _blast(**audience):
    return {
        "name": "blast",
        "type": "notification",
        "channel": "email",
        "cadence": {"every_n_days": 1},
        "priority": 90,
    }


def _hand_class(log: pd.DataFrame, customer: int, day: int) -> str:
    """The class from the customer's deliveries and opens in the 28-day window ending on
    ``day`` (days ``day-27 .. day-1``; nothing of its own day is sent yet at the check)."""
    mine = log[(log["customer_id"] == customer) & (log["day"] > day - 28) & (log["day"] < day)]
    s = int(mine["outcome"].isin(SENT).sum())
    o = int(mine["outcome"].isin(OPENED).sum())
    if s >= 12 or (s >= 4 and o < 0.05 * s):
        return "saturated"
    return "undersaturated" if s < 4 else "on_target"


def _run(campaigns, guardrails=None):
    sc = load_scenario("default")
    pol = policy_from_dict(
        {"name": "f", "campaigns": campaigns, "guardrails": guardrails or {}}, scenario=sc
    )
    r = simulate(sc, pol, seed=2, customers=300, days=70, record_messages=True)
    log = r.extras["messages"].copy()
    log["day"] = (log["date"] - pd.Timestamp("2026-01-01")).dt.days
    return r, log


@pytest.fixture(scope="module")
def skipping():
    return _run([_blast()], {"skip_saturated": True})


def test_skip_saturated_refuses_exactly_the_saturated(skipping):
    r, log = skipping
    refused = log[log["outcome"] == "refused_saturated"]
    sent = log[log["outcome"].isin(SENT)]
    assert len(refused) > 500 and len(sent) > 500
    rng = np.random.default_rng(0)  # audit a sample of each (the hand count is slow)
    for frame, want in ((refused, True), (sent, False)):
        for i in rng.choice(len(frame), 150, replace=False):
            row = frame.iloc[i]
            cls = _hand_class(log, row["customer_id"], row["day"])
            assert (cls == "saturated") == want, (row.to_dict(), cls)
    assert r.summary["messages"]["refused"]["saturated"] == len(refused)


def test_an_audience_of_undersaturated_customers(skipping):
    top_up = {
        "name": "top_up",
        "type": "notification",
        "channel": "email",
        "cadence": {"every_n_days": 7},
        "priority": 10,
        "audience": {"frequency_class": ["undersaturated"]},
    }
    _, log = _run([{**_blast(), "cadence": {"every_n_days": 3}}, top_up])
    attempts = log[log["campaign"] == "top_up"]
    assert len(attempts) > 100
    for _, row in attempts.sample(150, random_state=0).iterrows():
        assert _hand_class(log, row["customer_id"], row["day"]) == "undersaturated"


def test_without_the_guardrail_nothing_is_refused_as_saturated():
    r, log = _run([_blast()])
    assert r.summary["messages"]["refused"]["saturated"] == 0
    assert not (log["outcome"] == "refused_saturated").any()
