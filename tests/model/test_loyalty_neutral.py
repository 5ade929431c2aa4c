"""The loyalty programme's optional mechanics at neutral settings change no number.

Everyone enrolled and nobody joining, multipliers of 1, a perk that does nothing and costs
nothing: the run must be the run without those sections, bit for bit, under a contact policy
too (the engine's enrolment hook, tier audiences and bonus points all run). Only the counts the
sections add (members, enrolments, bonus points, perk holders) are new.
"""

from __future__ import annotations

import pandas as pd

from retention_sim import load_policy, simulate

NEUTRAL = {
    "loyalty.enrolment": {
        "initial_share": 1.0,
        "arrival_share": 1.0,
        "rate_per_year": 0.0,
        "per_message": 0.0,
        "per_programme_message": 0.0,
    },
    "loyalty.special_days": {"sale_events": ["Black Friday"]},
    "loyalty.tenure_perk": {"after_days": 365, "churn_cause": None, "cost_per_year": 0.0},
}
ADDED = {"loyalty_members", "enrolments", "bonus_points", "perk_holders"}


def test_neutral_settings_reproduce_the_run_without_them(default_scenario):
    neutral = default_scenario.with_overrides(NEUTRAL)
    assert neutral.content_hash() != default_scenario.content_hash()
    runs = []
    for sc in (default_scenario, neutral):
        pol = load_policy("bau_default", scenario=sc)
        runs.append(simulate(sc, pol, seed=81, customers=1500, days=120, record_messages=True))
    a, b = runs
    assert set(b.daily.columns) - set(a.daily.columns) == ADDED
    pd.testing.assert_frame_equal(a.daily, b.daily[a.daily.columns])
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    pd.testing.assert_frame_equal(a.customers, b.customers[a.customers.columns])
    pd.testing.assert_frame_equal(a.extras["messages"], b.extras["messages"])
    assert b.customers["enrolled"].all() and b.summary["enrolments"] == 0
    assert b.summary["bonus_points"] == 0 and b.summary["perk_holders_end"] > 0
    same = {k: v for k, v in b.summary.items() if k in a.summary and k != "scenario_hash"}
    assert same == {k: v for k, v in a.summary.items() if k != "scenario_hash"}
