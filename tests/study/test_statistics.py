"""Paired intervals, Holm, probability of being better, sample sizes: checked against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from retention_sim.study import statistics as st


def test_t_interval_matches_scipy():
    x = np.random.default_rng(1).normal(10.0, 3.0, size=7)
    iv = st.t_interval(x, 0.95)
    low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert iv.mean == pytest.approx(x.mean())
    assert (iv.low, iv.high) == pytest.approx((low, high))
    assert iv.halfwidth == pytest.approx((high - low) / 2)
    assert iv.n == 7 and iv.sd == pytest.approx(x.std(ddof=1))


def test_t_interval_with_too_few_values_is_nan():
    assert math.isnan(st.t_interval([1.0]).low)
    assert st.t_interval([1.0]).mean == 1.0
    assert st.t_interval([]).n == 0


def test_paired_difference_is_the_interval_of_the_differences():
    rng = np.random.default_rng(2)
    base = rng.normal(100, 20, size=6)
    cand = base + rng.normal(1.0, 0.5, size=6)
    assert st.paired_difference(cand, base) == st.t_interval(cand - base)
    with pytest.raises(ValueError):
        st.paired_difference(cand[:5], base)


def test_unpaired_difference_is_welch():
    rng = np.random.default_rng(3)
    a, b = rng.normal(5, 1, size=8), rng.normal(4, 2, size=6)
    iv = st.unpaired_difference(a, b)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high))


def test_pairing_efficiency_reflects_the_shared_noise():
    rng = np.random.default_rng(4)
    shared = rng.normal(0, 100, size=10)  # common random numbers: the same luck in both arms
    base = shared + rng.normal(0, 1, size=10)
    cand = shared + 2 + rng.normal(0, 1, size=10)
    eff = st.pairing_efficiency(cand, base)
    # unpaired spread ~ sqrt(2)*100, paired ~ sqrt(2)*1: the ratio is of the order of 100
    assert eff > 20
    whole = np.arange(10.0) * 37  # exact arithmetic: every paired difference is exactly 1
    assert st.pairing_efficiency(whole + 1.0, whole) == math.inf


def test_probability_better_is_the_t_posterior_mass_above_zero():
    d = np.random.default_rng(5).normal(0.3, 1.0, size=9)
    p_greater = stats.ttest_1samp(d, 0.0, alternative="greater").pvalue
    assert st.probability_better(d) == pytest.approx(1 - p_greater)
    assert st.probability_better(d, lower_is_better=True) == pytest.approx(p_greater)
    assert st.probability_better([1.0, 1.0, 1.0]) == 1.0
    assert st.probability_better([0.0, 0.0]) == 0.5


def test_paired_p_value_matches_scipy():
    d = np.random.default_rng(6).normal(0.5, 1.0, size=5)
    assert st.paired_p_value(d) == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue)


def test_holm_by_hand():
    # sorted: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06
    assert st.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert st.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    out = st.holm([0.02, math.nan, 0.01])
    assert math.isnan(out[1]) and out[[0, 2]] == pytest.approx([0.02, 0.02])
    assert st.holm([0.2]) == pytest.approx([0.2])


def test_holm_never_rejects_more_than_bonferroni_allows_and_is_monotone():
    rng = np.random.default_rng(7)
    for _ in range(200):
        p = rng.uniform(0, 0.2, size=4)
        adj = st.holm(p)
        assert np.all(adj >= p - 1e-15)
        assert np.all(adj <= np.minimum(1, 4 * p) + 1e-15)
        order = np.argsort(p)
        assert np.all(np.diff(adj[order]) >= -1e-15)


def test_adjusted_interval_excludes_zero_exactly_when_holm_rejects():
    rng = np.random.default_rng(8)
    for _ in range(300):
        diffs = [rng.normal(rng.uniform(0, 1.5), 1.0, size=6) for _ in range(3)]
        p = np.array([st.paired_p_value(d) for d in diffs])
        adj = st.holm(p)
        for d, pi, ai in zip(diffs, p, adj, strict=True):
            iv = st.adjusted_interval(d, pi, ai)
            assert (iv.low > 0 or iv.high < 0) == (ai < 0.05)
            assert iv.halfwidth >= st.t_interval(d).halfwidth - 1e-12


def test_adjusted_interval_for_one_candidate_is_the_plain_interval():
    d = np.random.default_rng(9).normal(1, 1, size=5)
    p = st.paired_p_value(d)
    assert st.adjusted_interval(d, p, st.holm([p])[0]) == st.t_interval(d)


def test_replications_for_halfwidth_is_the_smallest_n_that_fits():
    for sd, h in [(1.0, 0.5), (10.0, 1.0), (3.0, 2.9), (1.0, 0.01)]:
        n = st.replications_for_halfwidth(sd, h)
        assert stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) <= h
        if n > 2:
            assert stats.t.ppf(0.975, n - 2) * sd / math.sqrt(n - 1) > h
    assert st.replications_for_halfwidth(0.0, 1.0) == 2


def test_t_interval_covers_the_true_mean_about_95_percent():
    rng = np.random.default_rng(10)
    trials, n = 4000, 5
    x = rng.normal(3.0, 2.0, size=(trials, n))
    hits = sum(iv.low <= 3.0 <= iv.high for iv in map(st.t_interval, x))
    se = math.sqrt(0.95 * 0.05 / trials)
    assert abs(hits / trials - 0.95) < 4 * se


def test_wilson_interval():
    low, high = st.wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert st.wilson_interval(10, 10)[1] == 1.0
    low, high = st.wilson_interval(5, 10)
    assert low == pytest.approx(1 - high) and low < 0.5 < high


def test_t_quantile_matches_scipy_stats():
    for q, df in [(0.975, 1), (0.975, 4), (0.995, 19), (0.9, 7.5)]:
        assert st.t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-10)


# ----------------------------------------------------------------------------- rates in [0, 1]
RATE_CASES = [(0.003, 3000, 3), (0.003, 500, 10), (0.98, 300, 3), (0.5, 100, 4)]


@pytest.mark.parametrize("p, customers, n", RATE_CASES)
def test_rate_interval_stays_in_0_1_and_covers_at_least_95_percent(p, customers, n):
    # per-replication rates drawn as binomial shares; the t interval leaves [0, 1] in a quarter
    # to a third of the first and third cases (measured), the logit interval never does
    rng = np.random.default_rng(20)
    trials = 4000
    x = rng.binomial(customers, p, size=(trials, n)) / customers
    ivs = [st.rate_interval(row) for row in x]
    assert all(0.0 <= iv.low <= iv.mean <= iv.high <= 1.0 for iv in ivs)
    hits = sum(iv.low <= p <= iv.high for iv in ivs)
    se = math.sqrt(0.95 * 0.05 / trials)
    # measured coverage 94.7-96.2%; the delta method is an approximation, so only
    # under-coverage beyond the sampling error fails
    assert hits / trials > 0.95 - 2 * se


def test_rate_interval_edges_and_errors():
    assert st.rate_interval([0.0, 0.0, 0.0])[:3] == (0.0, 0.0, 0.0)
    iv = st.rate_interval([0.2, 0.2])
    assert (iv.low, iv.high) == (0.2, 0.2)
    assert math.isnan(st.rate_interval([0.3]).low)
    with pytest.raises(ValueError):
        st.rate_interval([0.5, 1.2])
    # far from the edges it agrees with the t interval
    x = np.random.default_rng(3).normal(0.5, 0.001, size=20)
    assert st.rate_interval(x).low == pytest.approx(st.t_interval(x).low, rel=1e-4)


def test_probability_above_is_the_tail_beyond_the_interval_bound():
    x = np.random.default_rng(4).normal(0.004, 0.0005, size=8).clip(0, 1)
    iv = st.rate_interval(x)
    # the limit at the upper bound is exceeded with probability (1 - level) / 2, on both scales
    assert st.probability_above(x, iv.high, rate=True) == pytest.approx(0.025, abs=1e-9)
    tv = st.t_interval(x)
    assert st.probability_above(x, tv.high) == pytest.approx(0.025, abs=1e-9)
    assert st.probability_above(x, x.mean()) == pytest.approx(0.5)
    assert st.probability_above([1.0, 1.0], 0.5) == 1.0
    assert st.probability_above([1.0, 1.0], 2.0) == 0.0


def test_format_probability_never_prints_certainty_from_a_handful_of_runs():
    assert st.format_probability(1.0, 3) == "> 83.3%"
    assert st.format_probability(0.99999, 20) == "> 97.5%"
    assert st.format_probability(0.0, 20) == "< 2.5%"
    assert st.format_probability(0.6, 20) == "60.0%"
    assert st.format_probability(0.9999999, 10**6) == "> 99.9%"
    assert st.format_probability(math.nan, 5) == "n/a"
