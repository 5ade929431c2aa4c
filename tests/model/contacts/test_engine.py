"""Message mechanics, audited from the message log: guardrails hold, refusals are counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_sim import simulate
from retention_sim.config.policy import load_policy, policy_from_dict

from ...conftest import ROOT

POLICIES = ROOT / "params" / "policies"

AUDIT_POLICY = {
    "name": "audit",
    "campaigns": [
        {
            "name": "promo",
            "type": "notification",
            "channel": "email",
            "cadence": {"every_n_days": 2},
            "priority": 10,
        },
        {
            "name": "sms_promo",
            "type": "notification_with_offer",
            "channel": "sms",
            "cadence": "weekly",
            "offer": {"discount": 0.1},
            "priority": 20,
        },
        {"name": "thanks", "type": "thank_you", "channel": "preferred", "priority": 90},
        {"name": "bday", "type": "birthday", "channel": "zalo", "offer": {"gift_value": 1000}},
        {
            "name": "calls",
            "type": "proactive_call",
            "channel": "phone",
            "cadence": "monthly",
            "audience": {"stages": ["at_risk"]},
        },
    ],
    "guardrails": {
        "caps": [
            {"channel": "any", "max": 3, "window_days": 7, "window": "rolling"},
            {"channel": "email", "max": 6, "window_days": 30, "window": "calendar"},
        ],
        "min_gap_hours": {"sms": 72},
        "quiet_weekdays": ["sun"],
        "holdout_share": 0.1,
    },
    "monthly_budget": 2_000_000,
}


@pytest.fixture(scope="module")
def audit_run(default_scenario):
    pol = policy_from_dict(AUDIT_POLICY, scenario=default_scenario)
    return simulate(default_scenario, pol, seed=7, customers=3000, days=120, record_messages=True)


def test_log_agrees_with_the_summary(audit_run):
    log = audit_run.extras["messages"]
    m = audit_run.summary["messages"]
    delivered = log["outcome"].isin(["delivered", "opened", "clicked"])
    assert delivered.sum() == m["delivered"]
    for reason, n in m["refused"].items():
        assert (log["outcome"] == f"refused_{reason}").sum() == n
    assert m["refused"]["quiet_day"] > 0 and m["refused"]["holdout"] > 0
    assert m["refused"]["min_gap"] + m["refused"]["capped"] > 0


def test_no_rolling_cap_is_ever_exceeded(audit_run):
    log = audit_run.extras["messages"]
    sent = log[log["outcome"].isin(["delivered", "opened", "clicked"])]
    daily = sent.groupby(["customer_id", "date"]).size().unstack(fill_value=0)
    full = daily.reindex(
        columns=pd.date_range(daily.columns.min(), daily.columns.max()), fill_value=0
    )
    rolling = full.T.rolling(7, min_periods=1).sum().T
    assert rolling.to_numpy().max() <= 3


def test_calendar_month_email_cap(audit_run):
    log = audit_run.extras["messages"]
    email = log[
        (log["channel"] == "email") & log["outcome"].isin(["delivered", "opened", "clicked"])
    ]
    per_month = email.groupby(["customer_id", email["date"].dt.to_period("M")]).size()
    assert per_month.max() <= 6


def test_min_gap_quiet_days_consent_and_holdout(audit_run, default_scenario):
    log = audit_run.extras["messages"]
    sent = log[log["outcome"].isin(["delivered", "opened", "clicked"])]
    sms = sent[sent["channel"] == "sms"].sort_values(["customer_id", "date"])
    gaps = sms.groupby("customer_id")["date"].diff().dt.days.dropna()
    assert (gaps >= 3).all()
    assert (sent["date"].dt.day_of_week != 6).all()  # Sunday is quiet
    # holdout: every attempt on a holdout customer is refused for that reason
    held = set(log.loc[log["outcome"] == "refused_holdout", "customer_id"])
    assert held and not (set(sent["customer_id"]) & held)
    # consent and unsubscribes, replayed from the log
    cust = audit_run.customers.set_index("customer_id")
    assert len(cust) > 0
    unsub = log[log["unsubscribed"]].groupby(["customer_id", "channel"])["date"].min()
    after = sent.join(unsub.rename("unsub_date"), on=["customer_id", "channel"])
    assert not (after["date"] > after["unsub_date"]).any()


def test_budget_is_respected_and_counted(default_scenario):
    pol = policy_from_dict({**AUDIT_POLICY, "monthly_budget": 300_000}, scenario=default_scenario)
    r = simulate(default_scenario, pol, seed=7, customers=3000, days=60, record_messages=True)
    log = r.extras["messages"]
    assert r.summary["messages"]["refused"]["budget"] > 0
    cost = r.daily["contact_cost"]
    by_month = cost.groupby(cost.index.to_period("M")).sum()
    assert (by_month <= 300_000 + 1e-6).all()
    assert (log["outcome"] == "refused_budget").sum() == r.summary["messages"]["refused"]["budget"]


def test_same_seed_same_messages_and_holdout_is_policy_independent(default_scenario):
    pol = policy_from_dict(AUDIT_POLICY, scenario=default_scenario)
    a = simulate(default_scenario, pol, seed=3, customers=1000, days=30, record_messages=True)
    b = simulate(default_scenario, pol, seed=3, customers=1000, days=30, record_messages=True)
    assert a.extras["messages"].equals(b.extras["messages"])
    other = policy_from_dict(
        {**AUDIT_POLICY, "campaigns": AUDIT_POLICY["campaigns"][:1]}, scenario=default_scenario
    )
    c = simulate(default_scenario, other, seed=3, customers=1000, days=30, record_messages=True)
    held = lambda r: set(  # noqa: E731
        r.extras["messages"].query("outcome == 'refused_holdout'")["customer_id"]
    )
    assert held(c) <= held(a) and len(held(c)) > 0


def test_outbound_calls_lengthen_the_service_queue(default_scenario):
    calls = policy_from_dict(
        {
            "name": "calls",
            "campaigns": [
                {
                    "name": "c",
                    "type": "proactive_call",
                    "channel": "phone",
                    "cadence": {"every_n_days": 3},
                    "audience": {"stages": ["at_risk", "lapsed"]},
                }
            ],
        },
        scenario=default_scenario,
    )
    quiet = simulate(default_scenario, None, seed=4, customers=5000, days=120)
    busy = simulate(default_scenario, calls, seed=4, customers=5000, days=120)
    assert busy.summary["messages"]["by_channel"]["phone"]["opened"] > 100
    assert (
        busy.summary["service"]["mean_wait_hours"] > 2 * quiet.summary["service"]["mean_wait_hours"]
    )


def test_birthday_messages_out_respond_generic_promotions(default_scenario):
    pol = policy_from_dict(
        {
            "name": "b",
            "campaigns": [
                {"name": "promo", "type": "notification", "channel": "email", "cadence": "monthly"},
                {"name": "bday", "type": "birthday", "channel": "email", "content": "info"},
            ],
        },
        scenario=default_scenario,
    )
    m = simulate(default_scenario, pol, seed=5, customers=10_000).summary["messages"]["by_campaign"]
    b, p = m["bday"], m["promo"]
    rate = lambda x: x["clicked"] / x["delivered"]  # noqa: E731
    se = np.sqrt(
        rate(b) * (1 - rate(b)) / b["delivered"] + rate(p) * (1 - rate(p)) / p["delivered"]
    )
    assert rate(b) > 2 * rate(p) and rate(b) - rate(p) > 4 * se


def test_policy_presets_run(default_scenario):
    for name in (
        "no_contact",
        "daily_blast",
        "playbook_software",
        "playbook_fashion",
        "playbook_loyalty_app",
    ):
        pol = load_policy(POLICIES / f"{name}.yaml", scenario=default_scenario)
        s = simulate(default_scenario, pol, seed=1, customers=500, days=60).summary
        assert s["policy"] == name
        assert (s["messages"]["delivered"] > 0) == (name != "no_contact")


def test_referrals_arrive_tied_and_leave_the_rest_of_the_base_unchanged(default_scenario):
    ref = policy_from_dict(
        {
            "name": "ref",
            "programmes": {"referral": {"reward_value": 50_000, "referrals_per_year": 0.5}},
        },
        scenario=default_scenario,
    )
    none = policy_from_dict({"name": "none"}, scenario=default_scenario)
    a = simulate(default_scenario, ref, seed=6, customers=2000, days=180)
    b = simulate(default_scenario, none, seed=6, customers=2000, days=180)
    referrals = int(a.daily["referrals"].sum())
    assert referrals > 100
    assert a.summary["customers_acquired"] == b.summary["customers_acquired"] + referrals
    # referral rewards, plus the loyalty rewards the referred customers then redeem
    assert a.summary["reward_cost"] - b.summary["reward_cost"] >= 50_000 * referrals
    n0 = a.summary["customers_start"]
    cols = ["customer_id", "segment", "acquired_date"]
    assert a.customers[cols].head(n0).equals(b.customers[cols].head(n0))


def test_membership_fees_renewals_and_member_discounts(default_scenario):
    pol = policy_from_dict(
        {
            "name": "m",
            "programmes": {
                "membership": {"fee_per_year": 100_000, "join_share": 0.3, "discount": 0.05}
            },
        },
        scenario=default_scenario,
    )
    r = simulate(default_scenario, pol, seed=2, customers=2000, days=400)
    joined = r.daily["members_joined"].sum()
    assert joined > 0 and r.summary["discount_cost"] > 0
    lapsed = r.daily["membership_lapsed"].sum()
    assert 0 < lapsed < joined  # some renew at day 365, not all
    renewals = joined - lapsed - (joined - r.summary["messages"]["members_end"] - lapsed)
    assert r.summary["membership_fees"] >= 100_000 * (joined + max(renewals, 0)) * 0.99


def test_churned_customers_can_be_won_back(default_scenario):
    pol = policy_from_dict(
        {
            "name": "wb",
            "campaigns": [
                {
                    "name": "wb",
                    "type": "win_back",
                    "channel": "email",
                    "after_days": 200,
                    "repeat_every_days": 30,
                    "audience": {"stages": ["lapsed", "churned"]},
                    "offer": {"discount": 0.2},
                }
            ],
        },
        scenario=default_scenario,
    )
    r = simulate(default_scenario, pol, seed=1, customers=5000)
    s = r.summary
    assert s["reactivated"] > 0
    assert s["stage_transitions"]["churned"]["won_back"] == s["reactivated"]
    assert s["customers_start"] + s["customers_acquired"] + s["reactivated"] == (
        s["customers_end"] + s["churned"]
    )
