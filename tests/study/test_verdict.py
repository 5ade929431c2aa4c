"""Verdicts that show trade-offs: adopt, trade-off, equivalent, reject, inconclusive."""

from __future__ import annotations

import json

import numpy as np
import pytest

from retention_sim import InputError
from retention_sim.study.verdict import verdict_record

from .test_comparison import synthetic

N = 10


def _exact(mean: float, sd: float, seed: int) -> np.ndarray:
    """N values with exactly this mean and sample sd."""
    z = np.random.default_rng(seed).normal(size=N)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def _study(*, profit_gain: float, churn_gain: float, churn_sd: float = 1.0, **extra):
    base_profit = _exact(1e9, 5e7, 1)
    base_churn = _exact(500.0, 20.0, 2)
    others = {
        "bau": {"churned": base_churn},
        "new": {"churned": base_churn + _exact(churn_gain, churn_sd, 3), **extra},
    }
    arms = {"bau": base_profit, "new": base_profit + _exact(profit_gain, 2e6, 4)}
    return synthetic(arms, others=others)


def test_a_profit_gain_that_loses_customers_reads_as_a_trade_off():
    c = _study(profit_gain=2e7, churn_gain=25.0)  # +2% profit, +5% customers lost
    v = c.verdict(guardrails={})
    assert v.decision == "trade-off" and v.worse == ("churned",)
    first = v.text.splitlines()[0]
    assert first.startswith("Verdict: TRADE-OFF: new improves profit on bau, at a cost: customers")
    assert "customers lost +25.0 (95% interval" in first and "+5.00% of the baseline" in first
    assert "Adopt it only if that loss is acceptable." in first
    # a loss that the interval shows but within the 1% threshold (+0.6%) is a plain adopt
    small = _study(profit_gain=2e7, churn_gain=3.0)
    assert small.verdict(guardrails={}).decision == "adopt"
    assert small.verdict(guardrails={}, min_effect=0).decision == "trade-off"


def test_a_loss_the_interval_does_not_settle_is_a_caution_in_the_adopting_sentence():
    c = _study(profit_gain=2e7, churn_gain=25.0, churn_sd=60.0)
    v = c.verdict(guardrails={})
    assert v.decision == "adopt" and v.cautions == ("churned",) and not v.worse
    assert v.text.startswith(
        "Verdict: ADOPT new instead of bau, with a caution, possibly worse: customers lost +25.0"
    )
    # a plain adopt when no headline metric moves the wrong way
    clean = _study(profit_gain=2e7, churn_gain=-5.0)
    assert clean.verdict(guardrails={}).text.startswith("Verdict: ADOPT new instead of bau.")


def test_the_first_lines_list_every_headline_metric():
    v = _study(profit_gain=2e7, churn_gain=25.0).verdict(guardrails={})
    lines = v.text.splitlines()
    assert lines[1] == "Change against the baseline (95% intervals):"
    heads = [line.split(":")[0].strip() for line in lines[2:8]]
    assert heads == [
        "Profit",
        "Retention rate",
        "Churned",
        "Unsubscribes",
        "Complaints",
        "Contact cost",
    ]
    assert "+2.00% of the baseline" in lines[2] and "+20,000 VND per customer" in lines[2]


def test_a_near_tie_is_equivalent_and_min_effect_zero_turns_the_rule_off():
    c = _study(profit_gain=2e6, churn_gain=0.0)  # +0.2% of profit, tightly estimated
    v = c.verdict(guardrails={})
    assert v.decision == "equivalent" and "EQUIVALENT" in v.text
    assert v.threshold == pytest.approx(0.01 * 1e9)
    assert c.verdict(guardrails={}, min_effect=0).decision == "adopt"
    with pytest.raises(InputError):
        c.verdict(min_effect=-0.1)


def test_a_guardrail_not_shown_to_hold_blocks_adoption_without_rejecting():
    unsub = _exact(0.0037, 0.0006, 9)
    c = _study(profit_gain=2e7, churn_gain=-5.0, unsubscribe_rate=unsub)
    v = c.verdict(guardrails={"unsubscribe_rate": 0.004})
    (g,) = v.guardrails
    assert g.value < 0.004 < g.upper and g.state == "uncertain"
    assert v.decision == "inconclusive" and "not shown to hold" in v.text
    assert c.verdict(guardrails={"unsubscribe_rate": 0.006}).decision == "adopt"
    assert c.verdict(guardrails={"unsubscribe_rate": 0.003}).decision == "reject"


def test_default_guardrails_apply_when_none_are_given():
    c = _study(profit_gain=2e7, churn_gain=-5.0, unsubscribe_rate=np.full(N, 0.01))
    v = c.verdict()
    assert v.decision == "reject" and "guardrail broken: unsubscribe rate" in v.text
    assert [g.metric for g in v.guardrails] == [
        "unsubscribe_rate",
        "complaint_rate",
        "over_fatigue_share",
    ]
    assert c.verdict(guardrails={}).decision == "adopt"


def test_several_candidates_a_trade_off_and_a_tie():
    base = _exact(1e9, 5e7, 1)
    churn = _exact(500.0, 20.0, 2)
    arms = {
        "bau": base,
        "costly": base + _exact(3e7, 2e6, 4),
        "tie": base + _exact(5e5, 2e6, 5),
    }
    others = {
        "bau": {"churned": churn},
        "costly": {"churned": churn + _exact(30.0, 1.0, 6)},
        "tie": {"churned": churn},
    }
    v = synthetic(arms, others=others).verdict(guardrails={})
    assert v.decision == "trade-off" and v.candidate == "costly"
    assert v.by_candidate["tie"].decision == "equivalent"
    assert v.text.startswith("Verdict: TRADE-OFF: no candidate improves profit on bau without")
    rec = json.loads(json.dumps(verdict_record(v), default=float))
    assert rec["by_candidate"]["costly"]["worse"] == ["churned"]
    assert [c["metric"] for c in rec["by_candidate"]["costly"]["changes"]][0] == "profit"
    assert rec["by_candidate"]["tie"]["decision"] == "equivalent"
    # ties and rejections only: equivalent overall
    tie_only = synthetic(
        {"bau": base, "tie": arms["tie"], "bad": base - _exact(5e7, 2e6, 7)},
        others={"bau": {"churned": churn}, "tie": {"churned": churn}, "bad": {"churned": churn}},
    )
    assert tie_only.verdict(guardrails={}).decision == "equivalent"


def test_rate_intervals_of_a_study_stay_inside_0_1():
    # three replications of a rare event: the t interval would reach below zero
    unsub = np.array([0.0001, 0.004, 0.0002])
    c = synthetic(
        {"bau": np.ones(3), "new": np.ones(3)}, others={"new": {"unsubscribe_rate": unsub}}
    )
    s = c.summary(["unsubscribe_rate", "retention_rate"])
    pol = s[s["kind"] == "policy"]
    assert (pol["low"] >= 0).all() and (pol["high"] <= 1).all()
    iv = c.interval("new", "unsubscribe_rate")
    assert 0 < iv.low < unsub.mean() < iv.high < 1
