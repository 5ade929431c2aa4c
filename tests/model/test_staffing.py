"""Staffing as a policy lever: agents and account managers in place of the scenario's, extra
agents in a period, each with its cost; sweepable."""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim import load_scenario, policy_from_dict, simulate
from retention_sim.config.policy import load_policy
from retention_sim.errors import InputError

SALE = {"start": "2026-03-01", "end": "2026-03-31", "extra_agents": 3}


@pytest.fixture(scope="module")
def busy():
    """One agent and heavy inquiry traffic: a desk that queues. Sized for its own base, so
    staff numbers are not scaled."""
    return load_scenario("default").with_overrides(
        {
            "population.initial_customers": 3000,
            "service.agents": 1,
            "service.inquiry_rate_per_year": 6.0,
        }
    )


def _with(busy, staffing):
    base = load_policy("bau_default", scenario=busy).model_dump(mode="json")
    return policy_from_dict({**base, "staffing": staffing}, scenario=busy)


def _run(busy, staffing, seed=1):
    return simulate(busy, _with(busy, staffing), seed=seed, days=120)


def test_no_staffing_is_the_policy_as_before(busy):
    plain = load_policy("bau_default", scenario=busy)
    assert _with(busy, {}).content_hash() == plain.content_hash()
    assert _with(busy, {"agents": 2}).content_hash() != plain.content_hash()


def test_more_agents_shorten_waits_and_cost_more(busy):
    one, three = _run(busy, {}), _run(busy, {"agents": 3, "account_managers": 0})
    sv1, sv3 = one.summary["service"], three.summary["service"]
    assert (sv1["agents"], sv3["agents"], sv3["account_managers"]) == (1, 3, 0)
    assert sv3["mean_wait_hours"] < 0.2 * sv1["mean_wait_hours"]
    cfg = busy.service
    assert three.daily["staff_cost"].iloc[0] == 3 * cfg.agent_cost_per_day
    assert one.daily["staff_cost"].iloc[0] == (
        cfg.agent_cost_per_day + cfg.account_managers.cost_per_day
    )


def test_extra_agents_in_a_sale_month_shorten_its_waits_and_are_paid_that_month(busy):
    r = _run(busy, {"periods": [SALE], "cost_per_extra_agent_day": 1_000_000})
    d = r.daily
    inside = (d.index >= "2026-03-01") & (d.index <= "2026-03-31")
    base = _run(busy, {}).daily
    # staff cost: the extra agents' day rate on exactly the period's days
    extra = d["staff_cost"] - base["staff_cost"]
    assert np.array_equal(extra.to_numpy(), np.where(inside, 3 * 1_000_000, 0.0))
    assert r.summary["service"]["extra_agent_days"] == 3 * 31
    wait_in = d["service_wait_hours_mean"][inside].mean()
    base_in = base["service_wait_hours_mean"][inside].mean()
    assert wait_in < 0.25 * base_in  # four agents instead of one
    # before the period the desk is the same desk: the same waits, day by day (up to the
    # requests still queued when the extra agents arrive: patience is 16 h, two working days)
    before = d.index < "2026-02-26"
    assert np.array_equal(
        d["service_wait_hours_mean"][before].to_numpy(),
        base["service_wait_hours_mean"][before].to_numpy(),
    )


def test_a_period_outside_the_run_is_refused(busy):
    with pytest.raises(InputError, match=r"staffing.periods\[0\].*outside the scenario's run"):
        _with(busy, {"periods": [{**SALE, "start": "2030-01-01", "end": "2030-01-07"}]})


def test_a_sweep_varies_the_agents(busy):
    from retention_sim.study.sweep import sweep, sweep_wide

    frame = sweep(
        busy,
        load_policy("bau_default", scenario=busy),
        {"policy:staffing.agents": [1, 3]},
        replications=2,
        customers=1500,
        days=60,
        backend="serial",
        progress=False,
        metrics=["service_mean_wait_hours", "profit"],
    )
    wide = sweep_wide(frame).set_index("policy:staffing.agents")
    waits = wide["service_mean_wait_hours_mean"]
    assert waits.loc[3] < 0.5 * waits.loc[1]


@pytest.mark.slow
def test_optimise_picks_the_agents_under_a_wait_guardrail(busy):
    """One agent queues for hours; every further agent costs its day rate. Under a guardrail on
    the mean wait the optimum is the fewest agents that hold it: one breaks it, so two."""
    from retention_sim.study.optimise import optimise

    opt = optimise(
        busy,
        load_policy("bau_default", scenario=busy),
        ["policy:staffing.agents=1..5"],
        objective="profit",
        guardrails={"service_mean_wait_hours": 1.0},
        replications=2,
        grid=5,
        days=60,
        backend="processes",
        workers=2,
        progress=False,
    )
    points = {int(p["policy:staffing.agents"]): p for p in opt.record["evaluated"]}
    assert sorted(points) == [1, 2, 3, 4, 5]
    assert not points[1]["feasible"] and all(points[a]["feasible"] for a in (2, 3, 4, 5))
    assert points[1]["mean"] > points[2]["mean"]  # one agent would be cheapest: the guardrail binds
    assert "policy:staffing.agents=2 ->" in opt.text
