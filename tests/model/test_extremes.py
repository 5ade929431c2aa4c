"""Extreme but valid inputs run and give sensible, finite results."""

from __future__ import annotations

import math

import numpy as np
import pytest

from retention_sim import simulate
from retention_sim.config.policy import load_policy

from ..conftest import ROOT, all_causes_off, plain_scenario

CHANNELS = ["email", "sms", "push", "zalo", "phone"]


@pytest.fixture(scope="module")
def bau(default_scenario):
    return load_policy(ROOT / "params" / "policies" / "bau_default.yaml", scenario=default_scenario)


def _finite(obj) -> bool:
    if isinstance(obj, dict):
        return all(_finite(v) for v in obj.values())
    if isinstance(obj, float):
        return math.isfinite(obj)
    return True


def _check(r):
    assert _finite(r.summary)
    assert np.isfinite(r.daily.select_dtypes("number").to_numpy()).all()
    s = r.summary
    assert s["customers_start"] + s["customers_acquired"] + s["reactivated"] == (
        s["customers_end"] + s["churned"]
    )
    return s


def test_zero_customers(default_scenario, bau):
    sc = default_scenario.with_overrides({"population.arrivals_per_day": 0})
    s = _check(simulate(sc, bau, seed=1, customers=0, days=30))
    assert s["customers_end"] == 0 and s["revenue"] == 0 and s["retention_rate"] == 0


def test_one_customer_and_one_day(default_scenario, bau):
    _check(simulate(default_scenario, bau, seed=1, customers=1, days=60))
    s = _check(simulate(default_scenario, bau, seed=1, customers=500, days=1))
    assert s["days"] == 1


def test_ten_year_horizon(default_scenario, bau):
    r = simulate(default_scenario, bau, seed=2, customers=200, days=3650)
    s = _check(r)
    assert s["customers_end"] > 0
    # tier reviews close each qualification window, at the end of days W-1, 2W-1, ...: each of
    # the ten demotes someone (measured: 8 to 19), and nobody is demoted in between
    window = default_scenario.loyalty.qualification_window_days
    daily = r.daily  # a logged column exists only once something was logged in it
    demoted = daily["tier_demotions"].to_numpy() if "tier_demotions" in daily else np.zeros(3650)
    reviews = np.arange(window - 1, 3650, window)
    assert reviews.size == 10 and (demoted[reviews] > 0).all()
    assert demoted.sum() == demoted[reviews].sum()


def test_no_consent_on_any_channel(default_scenario, bau):
    sc = default_scenario.with_overrides({f"channels.{c}.consent_share": 0 for c in CHANNELS})
    s = _check(simulate(sc, bau, seed=1, customers=500, days=60))
    assert s["messages"]["delivered"] == 0
    assert s["messages"]["refused"]["no_consent"] > 0 and s["contact_cost"] == 0


def test_caps_of_zero(default_scenario, bau):
    pol = bau.with_overrides({"guardrails.caps.0.max": 0})
    s = _check(simulate(default_scenario, pol, seed=1, customers=500, days=60))
    assert s["messages"]["delivered"] == 0 and s["messages"]["refused"]["capped"] > 0


def test_full_holdout(default_scenario, bau):
    s = _check(
        simulate(
            default_scenario,
            bau.with_overrides({"guardrails.holdout_share": 1.0}),
            seed=1,
            customers=500,
            days=60,
        )
    )
    assert s["messages"]["delivered"] == 0
    assert s["messages"]["refused_total"] == s["messages"]["refused"]["holdout"] > 0


def test_no_service_agents(default_scenario, bau):
    sc = default_scenario.with_overrides({"service.agents": 0, "service.account_managers.count": 0})
    s = _check(simulate(sc, bau, seed=1, customers=500, days=60))
    assert s["service"]["requests"] > 0 and s["service"]["abandoned_share"] == 1.0


@pytest.mark.parametrize("cause", ["death", "competitor", "indifference"])
def test_every_cause_but_one_switched_off(cause):
    churn = all_causes_off()
    churn["causes"][cause]["annual_probability"] = 0.3
    s = _check(simulate(plain_scenario(churn=churn), seed=1, customers=1000))
    assert s["churned"] == s["churn_by_cause"][cause] > 0
