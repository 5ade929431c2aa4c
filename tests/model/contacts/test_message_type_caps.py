"""Caps per message type override channel caps (Iterable's message-type caps), audited from
the message log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_sim import load_scenario, policy_from_dict, simulate

SENT = {"delivered", "opened", "clicked"}


def _policy(scenario, typed: bool):
    caps = [{"channel": "any", "max": 2, "window_days": 7}]
    if typed:
        caps.append({"channel": "any", "max": 4, "window_days": 7, "message_type": "offer"})
    campaigns = [
        {
            "name": "deals",
            "type": "notification_with_offer",
            "channel": "email",
            "cadence": {"every_n_days": 1},
            "offer": {"discount": 0.05, "valid_days": 3},
            "priority": 90,
        },
        {
            "name": "news",
            "type": "notification",
            "channel": "email",
            "cadence": {"every_n_days": 2},
            "priority": 10,
        },
    ]
    return policy_from_dict(
        {"name": f"typed_{typed}", "campaigns": campaigns, "guardrails": {"caps": caps}},
        scenario=scenario,
    )


def _window_counts(sent: pd.DataFrame, kinds: set[str] | None) -> np.ndarray:
    """For each delivered message, the customer's earlier deliveries (of ``kinds``, or any)
    in the 7 days ending that day: what the cap saw when it let the message through."""
    out = []
    for _, g in sent.groupby("customer_id"):
        days = g["day"].to_numpy()
        mine = g["campaign"].isin(kinds).to_numpy() if kinds else np.ones(len(g), bool)
        for i in range(len(g)):
            before = (days[:i] > days[i] - 7) & mine[:i]
            out.append(int(before.sum()))
    return np.array(out)


@pytest.fixture(scope="module")
def runs():
    sc = load_scenario("default")
    out = {}
    for typed in (False, True):
        r = simulate(sc, _policy(sc, typed), seed=1, customers=800, days=56, record_messages=True)
        log = r.extras["messages"]
        sent = log[log["outcome"].isin(SENT)].copy()
        sent["day"] = (sent["date"] - pd.Timestamp("2026-01-01")).dt.days
        out[typed] = sent.sort_values(["customer_id", "day"], kind="stable")
    return out


def test_a_typed_cap_limits_its_type_and_lifts_the_channel_cap_for_it(runs):
    sent = runs[True]
    deals = sent[sent["campaign"] == "deals"]
    news = sent[sent["campaign"] == "news"]
    assert _window_counts(deals, {"deals"}).max() == 3  # the 4th offer in 7 days is the last
    assert deals.groupby("customer_id").size().max() > 2 * 8  # above the channel cap's 2/week
    # news (no cap of its type) still obeys the channel cap, which counts every message
    seen = _window_counts(sent, None)[sent["campaign"].to_numpy() == "news"]
    assert seen.max() <= 1 and len(news) > 0


def test_without_the_typed_cap_the_channel_cap_binds_everything(runs):
    sent = runs[False]
    assert _window_counts(sent, None).max() <= 1  # at most 2 messages in any 7 days
    assert len(runs[True][runs[True]["campaign"] == "deals"]) > 1.5 * len(
        sent[sent["campaign"] == "deals"]
    )
