"""Guardrails judged on their interval: held, uncertain or broken, and the one set of defaults."""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim import InputError
from retention_sim.study import statistics as st
from retention_sim.study.guardrails import (
    DEFAULT_GUARDRAILS,
    check_guardrail,
    merge_guardrails,
    parse_guardrails,
)


def test_a_guardrail_holds_only_when_its_upper_bound_is_inside_the_limit():
    rng = np.random.default_rng(1)
    x = rng.normal(0.0036, 0.0004, size=6)
    base = np.zeros(6)
    iv = st.rate_interval(x)
    assert iv.mean < 0.004 < iv.high  # the premise: estimate inside, upper bound outside
    g = check_guardrail("unsubscribe_rate", "max", 0.004, x, base)
    assert (g.value, g.upper) == pytest.approx((iv.mean, iv.high))
    assert not g.held and g.state == "uncertain"
    assert 0.025 < g.probability_broken < 0.5
    # a limit above the upper bound holds; one below the estimate is broken
    assert check_guardrail("unsubscribe_rate", "max", iv.high * 1.001, x, base).state == "held"
    broken = check_guardrail("unsubscribe_rate", "max", iv.mean * 0.99, x, base)
    assert broken.state == "broken" and broken.probability_broken > 0.5


def test_an_increase_guardrail_is_judged_on_the_paired_difference():
    rng = np.random.default_rng(2)
    base = rng.normal(100.0, 10.0, size=10)
    cand = base + rng.normal(5.0, 1.0, size=10)
    g = check_guardrail("complaints", "max_increase", 6.0, cand, base)
    iv = st.t_interval(cand - base)
    assert (g.value, g.upper) == pytest.approx((iv.mean, iv.high))
    assert g.held == (iv.high <= 6.0)
    assert g.probability_broken == pytest.approx(st.probability_above(cand - base, 6.0))


def test_defaults_in_one_place_merged_with_overrides():
    assert merge_guardrails(None) == DEFAULT_GUARDRAILS
    m = merge_guardrails({"unsubscribe_rate": 0.002, "over_fatigue_share": None})
    assert m == {"unsubscribe_rate": 0.002, "complaint_rate": DEFAULT_GUARDRAILS["complaint_rate"]}
    assert merge_guardrails({"churned": 50}, defaults=False) == {"churned": 50}
    with pytest.raises(InputError, match="unknown guardrail metric 'happiness'"):
        merge_guardrails({"happiness": 1})
    with pytest.raises(InputError, match="must be a number"):
        parse_guardrails({"churned": True})


def test_the_report_notebook_and_the_api_share_the_defaults():
    from retention_sim.reporting import report

    assert report.DEFAULT_GUARDRAILS is DEFAULT_GUARDRAILS
