"""The Bain check: lower churn hazards lift one-year retention by the points asked; profit
follows."""

from __future__ import annotations

import pytest

from retention_sim import load_scenario
from retention_sim.config.policy import load_policy
from retention_sim.errors import InputError
from retention_sim.study.retention_economics import retention_profit_effect


@pytest.fixture(scope="module")
def default():
    sc = load_scenario("default")
    return sc, load_policy("bau_default", scenario=sc)


@pytest.mark.slow
def test_five_points_of_retention_come_from_lower_hazards_and_raise_profit(default):
    sc, pol = default
    e = retention_profit_effect(sc, pol, customers=800, replications=2, horizons=(365,))
    assert e.retention_lifted - e.retention == pytest.approx(0.05, abs=0.002)
    assert 0.3 < e.hazard_scale < 1.0
    # more customers kept, same behaviour otherwise: profit rises, by more than its noise
    assert e.profit_change[365] > 2 * e.profit_change_se[365] > 0
    assert set(e.record()) >= {"hazard_scale", "profit_change", "retention_lifted"}


def test_a_lift_beyond_reach_is_refused(default):
    sc, pol = default
    with pytest.raises(InputError, match="cannot rise"):
        retention_profit_effect(sc, pol, points=0.5, customers=200, replications=1)
