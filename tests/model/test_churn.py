"""Competing churn hazards: exponential survival for one cause; counts follow hazard ratios."""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim import simulate
from retention_sim.model.traits import daily_hazard

from ..conftest import all_causes_off, plain_scenario


def _with_causes(**annual):
    churn = all_causes_off()
    for name, p in annual.items():
        churn["causes"][name]["annual_probability"] = p
    return churn


def test_single_acausal_cause_gives_exponential_survival():
    n = 20_000
    p_year = 0.4
    sc = plain_scenario(churn=_with_causes(lifestyle=p_year))
    r = simulate(sc, seed=11, customers=n)
    alive = r.daily["customers"].to_numpy()
    h = daily_hazard(p_year)
    for day in (30, 91, 182, 273, 364):
        expected = np.exp(-h * (day + 1))  # the count is taken at the end of `day`
        se = np.sqrt(expected * (1 - expected) / n)
        assert abs(alive[day] / n - expected) < 4 * se, (day, alive[day] / n, expected)
    assert r.summary["churn_by_cause"]["lifestyle"] == n - alive[-1]


def test_hazard_scale_multiplies_every_base_hazard(default_scenario):
    """churn.hazard_scale (robustness varies it over a calibrated dropout's interval) scales
    each cause's base hazard exactly, and churns more customers in a run."""
    from retention_sim.model.traits import cause_base_hazards

    frailty = np.random.default_rng(0).gamma(2.0, 0.5, 1000)
    scaled = default_scenario.with_overrides({"churn.hazard_scale": 1.5})
    a = cause_base_hazards(default_scenario, frailty, np.random.default_rng(1))
    b = cause_base_hazards(scaled, frailty, np.random.default_rng(1))
    assert (a > 0).any() and np.allclose(b, 1.5 * a, rtol=1e-12)
    n = 4000
    lost = [
        n - simulate(sc, seed=2, customers=n, days=180).daily["customers"].to_numpy()[-1]
        for sc in (default_scenario, scaled)
    ]
    # about 1.5 times the churn; four binomial standard errors of the smaller count apart
    assert lost[1] - lost[0] > 4 * np.sqrt(lost[0]), lost


def test_churn_days_are_exponential_ks():
    from scipy import stats

    n = 5000
    sc = plain_scenario(churn=_with_causes(death=0.9))
    r = simulate(sc, seed=5, customers=n)
    days = (r.customers["churn_date"].dropna() - r.customers["acquired_date"].iloc[0]).dt.days
    h = daily_hazard(0.9)
    # discrete days: compare the day index + 0.5 with the exponential truncated at the horizon
    horizon = 365
    cdf_h = 1 - np.exp(-h * horizon)
    ks = stats.kstest(days + 0.5, lambda x: (1 - np.exp(-h * x)) / cdf_h)
    assert ks.pvalue > 0.001


def test_churn_counts_by_cause_follow_the_hazard_ratios():
    n = 20_000
    annual = {"death": 0.05, "relocation": 0.10, "lifestyle": 0.15}
    sc = plain_scenario(churn=_with_causes(**annual))
    r = simulate(sc, seed=12, customers=n)
    counts = r.summary["churn_by_cause"]
    total = sum(counts[c] for c in annual)
    assert total == r.summary["churned"]
    h = {c: daily_hazard(p) for c, p in annual.items()}
    hsum = sum(h.values())
    for c in annual:
        share = h[c] / hsum
        se = np.sqrt(share * (1 - share) / total)
        assert abs(counts[c] / total - share) < 4 * se, (c, counts[c] / total, share)
    for c in ("friends", "competitor", "dissatisfaction", "indifference", "annoyance"):
        assert counts[c] == 0


@pytest.mark.parametrize("cause", ["friends", "indifference", "dissatisfaction", "competitor"])
def test_behavioural_causes_fire_when_switched_on(cause):
    sc = plain_scenario(churn=_with_causes(**{cause: 0.3}))
    r = simulate(sc, seed=2, customers=2000)
    counts = r.summary["churn_by_cause"]
    assert counts[cause] > 0
    assert sum(counts.values()) == counts[cause]


def test_social_contagion_raises_friends_churn():
    churn = _with_causes(friends=0.05, lifestyle=0.3)
    lonely = plain_scenario(churn=churn, social={"mean_ties": 0})
    churn_c = _with_causes(friends=0.05, lifestyle=0.3)
    churn_c["causes"]["friends"]["per_churned_tie"] = 5.0
    social = plain_scenario(churn=churn_c, social={"mean_ties": 8})
    a = simulate(lonely, seed=4, customers=10_000).summary["churn_by_cause"]["friends"]
    b = simulate(social, seed=4, customers=10_000).summary["churn_by_cause"]["friends"]
    # with 8 ties and ~26% of them churning in the year, exposure adds well over 100% hazard
    assert b > 1.5 * a + 3 * np.sqrt(a)


def test_indifference_grows_with_the_clock():
    churn = _with_causes(indifference=0.1)
    churn["causes"]["indifference"].update(grace_days=0, growth_per_30_days=1.0, max_multiplier=20)
    flat = _with_causes(indifference=0.1)
    flat["causes"]["indifference"].update(growth_per_30_days=0.0)
    a = simulate(plain_scenario(churn=flat), seed=3, customers=5000).summary["churned"]
    b = simulate(plain_scenario(churn=churn), seed=3, customers=5000).summary["churned"]
    assert b > 2 * a


def test_hazards_are_never_negative_or_infinite_during_a_run(default_scenario):
    from retention_sim.config.policy import load_policy
    from retention_sim.model.simulation import assemble, build_world, run_world

    from ..conftest import ROOT

    pol = load_policy(ROOT / "params" / "policies" / "daily_blast.yaml", scenario=default_scenario)
    world = build_world(default_scenario, seed=3, customers=1500, days=60)
    run_world(
        world, assemble(world, pol)
    )  # fatigue, unresolved issues, demotions and exposure are all live
    from retention_sim.model.churn import hazards

    h = hazards(world, 60)
    assert np.isfinite(h).all() and (h >= 0).all()
    assert (h[~world.present] == 0).all() and h[world.present].sum() > 0
    assert h[:, -1].max() > 0  # over-contact: annoyance hazard is switched on for some
