"""Listening: a survey catches dissatisfaction early and lowers dissatisfaction churn among the
unhappy respondents, at the cost of desk load."""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim import load_scenario, policy_from_dict, simulate
from retention_sim.config.policy import load_policy
from retention_sim.errors import InputError

CSAT = {
    "name": "csat",
    "type": "survey",
    "channel": "preferred",
    "cadence": {"every_n_days": 30},
    "survey": {"response_rate": dict.fromkeys(["email", "sms", "push", "zalo", "phone"], 0.3)},
    "priority": 30,
}


def _world(agents: int):
    """Many silent product issues (only 20% reported) and a desk sized for its own base."""
    sc = load_scenario("default").with_overrides(
        {
            "population.initial_customers": 4000,
            "service.agents": agents,
            "service.product_issue_rate_per_year": 2.0,
            "service.contact_share": 0.2,
        }
    )
    bau = load_policy("bau_default", scenario=sc)
    data = bau.model_dump(mode="json")
    survey = {**CSAT, "survey": {**CSAT["survey"], "unhappy_below": 0.7}}
    with_survey = policy_from_dict(
        {**data, "name": "bau_survey", "campaigns": [*data["campaigns"], survey]}, scenario=sc
    )
    return sc, bau, with_survey


@pytest.mark.slow
def test_a_survey_lowers_dissatisfaction_churn_of_unhappy_respondents_at_a_desk_cost():
    sc, bau, with_survey = _world(agents=8)
    only_without = only_with = 0
    for seed in (0, 1):
        a = simulate(sc, bau, seed=seed, days=365)
        b = simulate(sc, with_survey, seed=seed, days=365)
        unhappy = b.extras["survey_unhappy"]
        assert unhappy.size > 1000  # the survey found them: answers below 0.7
        # the same customers in both worlds (common random numbers): a paired count
        cause_a = a.customers.set_index("customer_id")["churn_cause"].reindex(unhappy)
        cause_b = b.customers.set_index("customer_id")["churn_cause"].reindex(unhappy)
        da, db = cause_a == "dissatisfaction", cause_b == "dissatisfaction"
        only_without += int((da & ~db).sum())
        only_with += int((~da & db).sum())
        # the cost: cases on the desk, and everyone's product issues wait longer
        sa, sb = a.summary["service"], b.summary["service"]
        assert sb["by_kind"]["case"]["requests"] > 1000
        assert sb["by_kind"]["issue"]["mean_wait_hours"] > sa["by_kind"]["issue"]["mean_wait_hours"]
    # McNemar: customers saved outnumber those lost by more than twice the noise
    z = (only_without - only_with) / np.sqrt(only_without + only_with)
    assert z > 2, (only_without, only_with)


def test_a_survey_needs_its_block_and_only_a_survey_has_one():
    sc = load_scenario("default")
    bad = {**CSAT}
    bad.pop("survey")
    with pytest.raises((InputError, ValueError), match="survey block"):
        policy_from_dict({"name": "p", "campaigns": [bad]}, scenario=sc)
    note = {**CSAT, "type": "notification"}
    with pytest.raises((InputError, ValueError), match="survey block"):
        policy_from_dict({"name": "p", "campaigns": [note]}, scenario=sc)


def test_answers_follow_the_response_rate():
    sc = load_scenario("default")
    one = {**CSAT, "channel": "email", "cadence": {"dates": ["2026-01-05"]}}
    pol = policy_from_dict({"name": "p", "campaigns": [one]}, scenario=sc)
    r = simulate(sc, pol, seed=2, customers=4000, days=10)
    delivered = r.summary["messages"]["delivered"]
    answered = r.daily["survey_responses"].sum()
    se = np.sqrt(0.3 * 0.7 / delivered)
    assert abs(answered / delivered - 0.3) < 4 * se
