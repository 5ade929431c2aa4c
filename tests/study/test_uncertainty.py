"""The stated uncertainty that robustness draws plausible worlds from."""

from __future__ import annotations

import pytest

from retention_sim.study.uncertainty import ASSUMED_WIDTH, BEHAVIOURAL, default_uncertainty


def test_assumptions_get_half_to_one_and_a_half_published_twenty_percent(default_scenario):
    u = default_uncertainty(default_scenario)
    assert set(u) <= set(BEHAVIOURAL) and len(u) >= 8
    v = default_scenario.churn.causes.indifference.annual_probability
    assert u["churn.causes.indifference.annual_probability"] == pytest.approx(
        (v * (1 - ASSUMED_WIDTH), v * (1 + ASSUMED_WIDTH))
    )
    # the e-mail open rate is published (Mailchimp 2019): +/-20%
    o = default_scenario.channels["email"].open_rate
    assert u["channels.email.open_rate"] == pytest.approx((0.8 * o, 1.2 * o))
    # a multiplier never drops below 1
    assert u["responses.dormant_wakeup_multiplier"][0] >= 1.0


def test_fitted_coefficients_vary_by_two_standard_errors():
    from retention_sim.study.uncertainty import _fitted

    response = {
        "conversion": {
            "baseline": [{"name": "recency", "estimate": -0.5, "se": 0.1}],
            "treatments": {"mens": {"effect": {"estimate": 0.0066, "se": 0.0009}}},
        },
        "spend": {"shape": {"estimate": 2.0, "se": None}},
    }
    out: dict = {}
    _fitted(response, "response", out)
    assert out == {
        "response.conversion.baseline.0.estimate": pytest.approx((-0.7, -0.3)),
        "response.conversion.treatments.mens.effect.estimate": pytest.approx((0.0048, 0.0084)),
    }
