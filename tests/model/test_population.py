"""The starting base has mixed tenure and recency; arrivals follow the configured rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_sim.model import kernels
from retention_sim.model.population import build_population
from retention_sim.model.random_streams import Streams
from retention_sim.vocabulary import CHANNELS


def test_existing_base_has_mixed_tenure_and_recency(default_scenario):
    pop = build_population(
        default_scenario, Streams(1), n_initial=5000, arrivals_per_day=0, horizon_days=365
    )
    tenure = -pop.acquired_day[: pop.n_initial]
    assert tenure.min() >= 0 and tenure.max() > 5 * 365
    # exponential with mean 3 years truncated at 12, reshaped by survival: median well above 0
    assert 300 < np.median(tenure) < 3 * 365
    recency = -pop.last_purchase_day[: pop.n_initial]
    assert (recency <= tenure).all()
    assert (recency < 60).mean() > 0.1 and (recency > 365).mean() > 0.05
    assert (pop.n_purchases[: pop.n_initial] >= 1).all()


def test_survivors_are_less_frail_than_new_customers(default_scenario):
    pop = build_population(
        default_scenario, Streams(2), n_initial=20_000, arrivals_per_day=50, horizon_days=365
    )
    base = pop.frailty[: pop.n_initial].mean()
    arrivals = pop.frailty[pop.n_initial :].mean()
    se = pop.frailty[pop.n_initial :].std() / np.sqrt(pop.capacity - pop.n_initial)
    assert base < arrivals - 4 * se


def test_arrival_count_is_poisson(default_scenario):
    rate, days = 12.0, 365
    counts = []
    for seed in range(5):
        pop = build_population(
            default_scenario, Streams(seed), n_initial=10, arrivals_per_day=rate, horizon_days=days
        )
        counts.append(pop.capacity - pop.n_initial)
        assert np.all(np.diff(pop.acquired_day[pop.n_initial :]) >= 0)
    mean = rate * days
    assert all(abs(c - mean) < 4 * np.sqrt(mean) for c in counts)


def test_segment_shares_and_consent(default_scenario):
    n = 20_000
    pop = build_population(
        default_scenario, Streams(3), n_initial=0, arrivals_per_day=n / 365, horizon_days=365
    )
    m = pop.capacity
    shares = np.bincount(pop.segment, minlength=3) / m
    for k, seg in enumerate(default_scenario.population.segments.values()):
        assert abs(shares[k] - seg.share) < 4 * np.sqrt(seg.share * (1 - seg.share) / m)
    for c, ch in enumerate(CHANNELS):
        p = default_scenario.channels[ch].consent_share
        assert abs(pop.consent[:, c].mean() - p) < 4 * np.sqrt(p * (1 - p) / m)
    # the preferred channel is always one the customer consented to
    has = pop.preferred_channel >= 0
    assert pop.consent[np.flatnonzero(has), pop.preferred_channel[has]].all()
    assert (pop.consent.sum(axis=1)[~has] == 0).all()


def test_ties_are_symmetric_with_the_configured_mean_degree(default_scenario):
    pop = build_population(
        default_scenario, Streams(4), n_initial=20_000, arrivals_per_day=0, horizon_days=10
    )
    deg = np.diff(pop.tie_indptr)
    assert abs(deg.mean() - default_scenario.social.mean_ties) < 0.1
    src = np.repeat(np.arange(pop.capacity), deg)
    fwd = set(zip(src.tolist(), pop.tie_indices.tolist(), strict=True))
    assert all((b, a) in fwd for a, b in list(fwd)[:2000])


def test_an_untouched_history_integrates_the_indifference_clock(default_scenario):
    """With last_valued_touch: first_purchase, survivor selection charges the indifference
    hazard for the clock's growth over the whole tenure: ∫(m(u) − 1) du, here against a
    numerical integral of m."""
    from retention_sim.model.population import _untouched_extra

    ind = default_scenario.churn.causes.indifference
    t = np.array([0.0, 10.0, 30.0, 45.0, 200.0, 390.0, 1000.0])
    u = np.linspace(0.0, 1000.0, 2_000_001)
    m = np.minimum(
        ind.max_multiplier, 1 + ind.growth_per_30_days * np.maximum(0, u - ind.grace_days) / 30
    )
    cum = np.concatenate([[0.0], np.cumsum((m[1:] + m[:-1]) / 2 * np.diff(u))]) - u
    want = np.interp(t, u, cum)
    np.testing.assert_allclose(_untouched_extra(default_scenario, t), want, atol=1e-6)
    # and it changes who survives: long tenures, whose clocks ran longest, are kept less often
    from retention_sim import simulate

    untouched = default_scenario.with_overrides({"population.last_valued_touch": "first_purchase"})
    start = pd.Timestamp(default_scenario.calendar.start)

    def mean_tenure(sc):
        acquired = pd.to_datetime(
            simulate(sc, seed=3, customers=3000, days=1).customers["acquired_date"]
        )
        return float((start - acquired).dt.days.mean())

    assert mean_tenure(untouched) < 0.9 * mean_tenure(default_scenario)


@pytest.mark.parametrize("k", [1, 7, 50, 199, 200])
def test_top_k_is_the_stable_sort_s_first_k(k):
    from retention_sim.model.population import top_k

    rng = np.random.default_rng(k)
    values = np.round(rng.exponential(3.0, 200), 0)  # many ties, at the cut too
    expected = np.sort(np.argsort(-values, kind="stable")[:k])
    np.testing.assert_array_equal(top_k(values, k), expected)


@pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")
@pytest.mark.parametrize("mean_ties", [0.0, 0.5, 4.0])
def test_the_compiled_tie_graph_is_the_sorted_one(monkeypatch, mean_ties):
    from retention_sim.model.population import _random_ties

    graphs = []
    for impl in ("numpy", "numba"):
        monkeypatch.setenv(kernels.ENV, impl)
        graphs.append(_random_ties(np.random.default_rng(3), 5000, mean_ties))
    (p0, i0), (p1, i1) = graphs
    np.testing.assert_array_equal(p0, p1)
    np.testing.assert_array_equal(i0, i1)
    assert i0.dtype == i1.dtype and i0.size == p0[-1]
