"""What each policy does, in words, from its campaigns."""

from __future__ import annotations

from retention_sim.config.policy import load_policy
from retention_sim.reporting.describe import describe_campaign, policies_table

from ..conftest import ROOT

POL = ROOT / "params" / "policies"


def test_campaign_lines_name_channel_timing_audience_and_offer(default_scenario):
    bau = load_policy(POL / "bau_default.yaml", scenario=default_scenario)
    lines = {c.name: describe_campaign(c) for c in bau.campaigns}
    assert lines["weekly_promo"].startswith("weekly_promo: notification by email every 7 days")
    assert "to stages active, loyal, at_risk, won_back" in lines["weekly_promo"]
    assert lines["win_back_sms"].endswith("15% off for 21 days")
    assert "after 180 days without a purchase" in lines["win_back_sms"]
    assert lines["welcome_series"].startswith("welcome_series: a journey of 3 steps")


def test_policies_table_one_row_per_campaign_and_no_contact(default_scenario):
    bau = load_policy(POL / "bau_default.yaml", scenario=default_scenario)
    t = policies_table({"bau_default": bau, "none": None})
    assert len(t) == len(bau.campaigns) + 1
    assert t.iloc[0]["description"] == bau.description
    assert t.iloc[-1]["description"] == "no marketing contact"


def test_the_cadence_recommendation_names_ties_the_clearly_worse_and_the_unsafe():
    import pandas as pd

    from retention_sim.reporting.describe import cadence_recommendation

    f = "policy:campaigns.0.cadence.every_n_days"
    curve = pd.DataFrame(
        {
            "point": [0, 1, 2, 3],
            f: [1, 3, 7, 30],
            "best": [False, False, True, False],
            "ties_best": [False, True, False, False],
            "profit_mean": [90.0, 98.0, 100.0, 80.0],
            "profit_low": [85.0, 93.0, 95.0, 75.0],
            "profit_high": [95.0, 103.0, 105.0, 85.0],
            "diff_vs_best_low": [2.0, -5.0, 0.0, -25.0],
            "diff_vs_best_high": [8.0, 1.0, 0.0, -15.0],
        }
    )
    text = cadence_recommendation(curve, f, segment="regular", channel="email", currency="VND")
    assert "an email message every **7 days**: profit 100 VND (95% interval 95 to 105)" in text
    assert "not separated from every 3 days" in text
    assert "Clearly worse (paired intervals): every 30 days." in text
    assert "More profit, but a guardrail is not shown to hold: every 1 days." in text
    none = curve.assign(best=False)
    assert "nothing to recommend" in cadence_recommendation(
        none, f, segment="regular", channel="email", currency="VND"
    )
