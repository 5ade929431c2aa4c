"""Headline trade-offs: absolute, % of the baseline and per customer, with intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from retention_sim.study import statistics as st
from retention_sim.study.tradeoffs import HEADLINE_METRICS, headline_changes, metric_change

from .test_comparison import synthetic


def test_the_change_its_share_of_the_baseline_and_per_customer():
    rng = np.random.default_rng(5)
    base = rng.normal(1e9, 5e7, size=12)
    cand = base * 1.02 + rng.normal(0, 2e6, size=12)
    c = synthetic({"bau": base, "new": cand})
    ch = metric_change(c, "new", "profit", min_effect=0.01)
    iv = st.t_interval(cand - base)
    assert (ch.change, ch.low, ch.high) == pytest.approx((iv.mean, iv.low, iv.high))
    assert ch.relative == pytest.approx(iv.mean / base.mean())
    assert ch.relative_low < ch.relative < ch.relative_high
    assert ch.per_customer == pytest.approx(iv.mean / 1000)  # synthetic: 1,000 customers
    assert ch.better and not ch.worse and ch.threshold == pytest.approx(0.01 * base.mean())
    # a rate has no per-customer column
    assert math.isnan(metric_change(c, "new", "retention_rate").per_customer)
    assert [x.metric for x in headline_changes(c, "new")] == list(HEADLINE_METRICS)


def test_the_ratio_interval_covers_the_true_relative_change():
    # paired replications with a known ratio: baseline ~ N(100, 10), candidate = 1.05 x baseline
    # plus noise; the delta-method interval of d/b should cover 5% about 95% of the time
    rng = np.random.default_rng(6)
    trials, n = 2000, 8
    hits = 0
    for _ in range(trials):
        base = rng.normal(100.0, 10.0, size=n)
        cand = 1.05 * base + rng.normal(0.0, 1.0, size=n)
        ch = metric_change(synthetic({"b": base, "c": cand}), "c", "profit")
        hits += ch.relative_low <= 0.05 <= ch.relative_high
    se = math.sqrt(0.95 * 0.05 / trials)
    assert abs(hits / trials - 0.95) < 3 * se


def test_worse_needs_the_interval_and_the_threshold():
    rng = np.random.default_rng(7)
    base = rng.normal(500.0, 20.0, size=10)
    # churned up by 3%: clearly worse at a 1% threshold, not at 5%
    up = base * 1.03 + rng.normal(0, 1.0, size=10)
    c = synthetic({"bau": base, "new": up}, metric="churned")
    assert metric_change(c, "new", "churned", min_effect=0.01).worse
    at5 = metric_change(c, "new", "churned", min_effect=0.05)
    assert not at5.worse and not at5.possibly_worse
    # a noisy rise beyond the threshold that the interval does not settle is "possibly worse"
    z = rng.normal(size=10)
    d = 15.0 + 30.0 * (z - z.mean()) / z.std(ddof=1)  # +3% on average, sd 30
    noisy = synthetic({"bau": base, "new": base + d}, metric="churned")
    ch = metric_change(noisy, "new", "churned", min_effect=0.01)
    assert ch.low < 0 < ch.high and ch.change > ch.threshold
    assert ch.possibly_worse and not ch.worse
