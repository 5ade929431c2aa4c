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
