"""The compiled purchase draw against its NumPy reference, on random states.

Both read the same uniforms and must pick the same buyers, to the last bit of each
probability: the kernel only narrows the rows down, NumPy finishes their probabilities.
"""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim.model import kernels
from retention_sim.model.build import build_world
from retention_sim.model.simulation import assemble, run_world

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")


def _random_state(scenario: str, policy: str, seed: int, overrides: dict | None = None):
    """A run stopped after 20 days, then scrambled: presence, stages (pending rows too),
    satisfaction, points, the gift window's spend, recent rewards and gifts, today's buyers
    already booked, a purchase boost and a fitted hazard (negative too)."""
    from retention_sim import load_policy, load_scenario

    sc = load_scenario(SCENARIOS / f"{scenario}.yaml")
    if overrides:
        sc = sc.with_overrides(overrides)
    pol = load_policy(POLICIES / f"{policy}.yaml", scenario=sc)
    world = build_world(sc, seed=seed, customers=3000, days=21)
    mech = assemble(world, pol)
    run_world(world, mech)
    rng = np.random.default_rng(seed)
    pop, n = world.pop, world.pop.capacity
    day = 20
    world.present[:] = rng.random(n) < 0.8
    pop.stage[:] = rng.integers(-1, 7, n)
    pop.satisfaction[:] = rng.random(n)
    pop.points[:] = rng.exponential(400.0, n)
    pop.window_spend[:] = rng.exponential(3e6, n)
    pop.gift_day[:] = np.where(rng.random(n) < 0.3, day - 3, pop.gift_day)
    pop.last_reward_day[:] = np.where(rng.random(n) < 0.3, day - rng.integers(0, 30, n), -99)
    pop.last_purchase_day[:] = np.where(rng.random(n) < 0.05, day, pop.last_purchase_day)
    pop.purchase_rate[:] = rng.exponential(0.3, n)  # many buyers a day
    world.today.purchase_boost = 1.0 + rng.exponential(0.5, n)
    world.today.purchase_hazard = None
    world.today.basket_multiplier = None
    return world, mech.purchases, day, rng


CASES = [
    ("default", "bau_default", None),
    ("fashion_retail", "bau_fashion_retail", None),  # a spend gift, enrolment
    ("default", "bau_default", {"loyalty.enabled": False, "satisfaction.purchase_sensitivity": 0}),
]


@pytest.mark.parametrize(("scenario", "policy", "overrides"), CASES)
@pytest.mark.parametrize("seed", [1, 2])
def test_the_kernel_picks_the_buyers_the_reference_picks(scenario, policy, overrides, seed):
    world, purchases, day, rng = _random_state(scenario, policy, seed, overrides)
    u = rng.random(world.pop.capacity)
    ref = purchases.buyers_reference(day, u)
    got = purchases.buyers_compiled(day, u)
    assert ref.size > 300  # the state makes many buy
    np.testing.assert_array_equal(got, ref)
    # and without today's boost, with a fitted hazard instead (negative values clipped at 0)
    world.today.purchase_boost = None
    world.today.purchase_hazard = rng.normal(0.0, 0.05, world.pop.capacity)
    np.testing.assert_array_equal(
        purchases.buyers_compiled(day, u), purchases.buyers_reference(day, u)
    )


def _reference_probability(world, purchases, day):
    """The reference's probability of every row, operation for operation (for the test)."""
    from retention_sim.model.loyalty import reward_multiplier

    pop, sat = world.pop, world.scenario.satisfaction
    m = purchases.stage_multiplier[pop.stage] * reward_multiplier(world, None, day)
    m *= float(purchases.calendar[day])
    m *= np.exp(sat.purchase_sensitivity * (pop.satisfaction - sat.reference))
    m *= world.today.purchase_boost
    m *= pop.purchase_rate
    return -np.expm1(-m)


@pytest.mark.parametrize(("scenario", "policy"), [CASES[0][:2], CASES[1][:2]])
def test_the_kernel_computes_the_reference_probability_to_the_last_bit(scenario, policy):
    """Uniforms at each row's probability, and one unit in the last place below it: neither
    path buys at it, both buy every row that can below it (a row the kernel's bound left out
    would be missing; a probability one unit off would buy at it or not below it)."""
    world, purchases, day, _ = _random_state(scenario, policy, 3)
    p = _reference_probability(world, purchases, day)
    can = np.flatnonzero(world.present & (world.pop.last_purchase_day != day) & (p > 0))
    below = np.nextafter(p, 0.0)
    for buyers in (purchases.buyers_reference, purchases.buyers_compiled):
        assert buyers(day, p).size == 0
        np.testing.assert_array_equal(buyers(day, below), can)


def test_a_satisfaction_outside_the_unit_interval_is_still_exact():
    world, purchases, day, rng = _random_state("default", "bau_default", 4)
    world.pop.satisfaction[::7] = 1.5  # outside the bound's range: such rows are always kept
    u = rng.random(world.pop.capacity)
    np.testing.assert_array_equal(
        purchases.buyers_compiled(day, u), purchases.buyers_reference(day, u)
    )


def test_a_whole_run_is_the_same_with_the_kernel_and_with_the_reference(monkeypatch):
    from retention_sim import load_policy, load_scenario, simulate

    sc = load_scenario(SCENARIOS / "fashion_retail.yaml")
    pol = load_policy(POLICIES / "bau_fashion_retail.yaml", scenario=sc)
    monkeypatch.setenv(kernels.ENV, "numpy")
    ref = simulate(sc, pol, seed=5, customers=2000, days=200)
    monkeypatch.setenv(kernels.ENV, "numba")
    got = simulate(sc, pol, seed=5, customers=2000, days=200)
    assert ref.summary["purchases"] > 1000
    assert got.summary == ref.summary
