"""Value-based audiences: deciles of the model's predicted next-year margin, or of spend."""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim import load_scenario, policy_from_dict, simulate
from retention_sim.model.build import build_world
from retention_sim.model.value import deciles, predicted_value

START = np.datetime64("2026-01-01")


def _campaign(audience: dict) -> dict:
    return {
        "name": "v",
        "campaigns": [
            {
                "name": "once",
                "type": "notification",
                "channel": "email",
                "cadence": {"dates": ["2026-01-01"]},
                "audience": audience,
            }
        ],
    }


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("default")


def _day0(scenario, audience):
    """Who the one-off message of day 0 was meant for (delivered or refused), and the world."""
    pol = policy_from_dict(_campaign(audience), scenario=scenario)
    r = simulate(scenario, pol, seed=4, customers=3000, days=2, record_messages=True)
    log = r.extras["messages"]
    sent = set(log.loc[log["date"] == START, "customer_id"])
    world = build_world(scenario, seed=4, customers=3000, days=2)
    return sent, world


def test_the_top_value_decile_is_the_tenth_with_the_highest_predicted_margin(scenario):
    sent, world = _day0(scenario, {"value_decile": {"min": 10}})
    rows = world.present_rows()
    value = predicted_value(world, rows)
    top = set(rows[deciles(value) == 10].tolist())
    assert sent == top  # every attempt (delivered or refused) is to a top-decile customer
    assert len(top) == pytest.approx(rows.size / 10, abs=1)
    cut = np.quantile(value, 0.9)
    assert all(value[np.searchsorted(rows, c)] >= cut for c in sent)


def test_a_spend_decile_range_selects_by_spend_to_date(scenario):
    sent, world = _day0(scenario, {"spend_decile": {"max": 3}})
    rows = world.present_rows()
    spend = world.pop.spend_total[rows]
    low = set(rows[deciles(spend) <= 3].tolist())
    assert sent == low and 0.29 * rows.size < len(low) < 0.31 * rows.size


def test_deciles_are_ranks_in_tenths():
    d = deciles(np.arange(100.0)[::-1])
    assert list(np.bincount(d)[1:]) == [10] * 10 and d[0] == 10 and d[-1] == 1


def test_no_value_filter_is_the_audience_as_before(scenario):
    a = policy_from_dict(_campaign({}), scenario=scenario)
    b = policy_from_dict(_campaign({"value_decile": None}), scenario=scenario)
    assert a.content_hash() == b.content_hash()
