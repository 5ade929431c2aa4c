"""Site or app visits (retention_sim.model.visits)."""

from __future__ import annotations

import math

import pytest

from retention_sim import simulate
from retention_sim.config.policy import load_policy

from ..conftest import ROOT


def _with_visits(scenario, per_year: float):
    data = scenario.model_dump(mode="json")
    for seg in data["population"]["segments"].values():
        seg["visits_per_year"] = per_year
    return type(scenario).model_validate(data)


def test_visits_happen_at_the_segment_rate(default_scenario):
    """Each present customer visits on a day with probability visits_per_year / 365: the
    day's count is binomial on the customers present."""
    sc = _with_visits(default_scenario, 52.0)
    r = simulate(sc, seed=2, customers=3000, days=60)
    # visits are drawn before the day's churn: present then = end-of-day customers + churned
    n = (r.daily["customers"] + r.daily["churned"]).to_numpy(dtype=float)
    p = 52.0 / 365.0
    visits = r.daily["visits"].to_numpy()
    z = (visits.sum() - p * n.sum()) / math.sqrt(p * (1 - p) * n.sum())
    assert abs(z) < 3, z
    assert r.summary["visits"] == visits.sum()


def test_without_visits_nothing_changes(default_scenario):
    """No visit rate and no fitted visit model: no draw, no column; with visits the rest of
    the run is bit-identical (visits have their own stream and change nothing else)."""
    bau = load_policy(ROOT / "params" / "policies" / "bau_default.yaml")
    plain = simulate(default_scenario, bau, seed=4, customers=500, days=45)
    assert "visits" not in plain.daily.columns and "visits" not in plain.summary
    with_v = simulate(_with_visits(default_scenario, 100.0), bau, seed=4, customers=500, days=45)
    assert with_v.daily["visits"].sum() > 0
    assert plain.daily.equals(with_v.daily.drop(columns="visits"))
    assert plain.transactions.equals(with_v.transactions)


@pytest.mark.parametrize("bad", [-1.0, 400.0])
def test_visit_rate_is_validated(default_scenario, bad):
    from retention_sim.errors import InputError

    data = default_scenario.model_dump(mode="json")
    next(iter(data["population"]["segments"].values()))["visits_per_year"] = bad
    from retention_sim import scenario_from_dict

    with pytest.raises(InputError, match="visits_per_year"):
        scenario_from_dict(data)


def test_policies_share_the_visit_luck(default_scenario):
    """Common random numbers: on day 0 (the same customers present, nothing sent yet before the
    visit draw) two policies see exactly the same visits."""
    sc = _with_visits(default_scenario, 30.0)
    bau = load_policy(ROOT / "params" / "policies" / "bau_default.yaml")
    a = simulate(sc, None, seed=9, customers=400, days=30).daily["visits"].to_numpy()
    b = simulate(sc, bau, seed=9, customers=400, days=30).daily["visits"].to_numpy()
    assert a[0] == b[0] and a.sum() > 0
