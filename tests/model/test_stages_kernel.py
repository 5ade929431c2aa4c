"""The compiled stage kernel against its NumPy reference, on random states.

Both refresh the thresholds of the day's buyers and reclassify every present customer; they
must leave the same stages, the same thresholds (bit for bit) and the same transition counts.
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

_DAY = 20


def _random_state(seed: int, overrides: dict | None = None):
    """A run stopped after 20 days (the thresholds cached), then scrambled: purchase histories
    (many rows bought today), acquisitions, win-backs, tiers, who is present and the stages."""
    from retention_sim import load_policy, load_scenario

    sc = load_scenario(SCENARIOS / "default.yaml")
    if overrides:
        sc = sc.with_overrides(overrides)
    pol = load_policy(POLICIES / "bau_default.yaml", scenario=sc)
    world = build_world(sc, seed=seed, customers=3000, days=_DAY + 1)
    mech = assemble(world, pol)
    run_world(world, mech)
    assert mech.stages._thresholds is not None
    rng = np.random.default_rng(seed)
    pop, n = world.pop, world.pop.capacity
    first = rng.integers(-900, _DAY + 1, n)
    last = np.minimum(first + rng.integers(0, 700, n), _DAY)
    last[rng.random(n) < 0.3] = _DAY  # bought today: their thresholds are refreshed
    pop.first_purchase_day[:] = first
    pop.last_purchase_day[:] = last
    pop.n_purchases[:] = rng.integers(1, 12, n)
    pop.acquired_day[:] = np.where(rng.random(n) < 0.3, rng.integers(-80, _DAY + 1, n), first)
    pop.won_back_day[:] = np.where(rng.random(n) < 0.3, rng.integers(-150, _DAY + 1, n), -(2**30))
    pop.tier[:] = rng.integers(0, len(pop.tier_names), n)
    world.present[:] = rng.random(n) < 0.8
    pop.stage[:] = rng.integers(-1, 7, n)
    return world, mech.stages


def _snapshot(world, stages):
    return (
        world.pop.stage.copy(),
        stages._thresholds[0].copy(),
        stages._thresholds[1].copy(),
        world.transitions.copy(),
    )


def _restore(world, stages, snap):
    world.pop.stage[:] = snap[0]
    stages._thresholds[0][:] = snap[1]
    stages._thresholds[1][:] = snap[2]
    world.transitions[:] = snap[3]


LOYALTY = [
    {"stages.loyal_min_tier": None, "stages.loyal_min_purchases": None},
    {"stages.loyal_min_tier": "silver", "stages.loyal_min_purchases": None},
    {"stages.loyal_min_tier": None, "stages.loyal_min_purchases": 5},
    {"stages.loyal_min_tier": "gold", "stages.loyal_min_purchases": 8},
]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("overrides", LOYALTY, ids=lambda o: "-".join(map(str, o.values())))
def test_the_kernel_classifies_as_the_reference_does(seed, overrides):
    world, stages = _random_state(seed, overrides)
    start = _snapshot(world, stages)
    stages.step_reference(_DAY)
    ref = _snapshot(world, stages)
    _restore(world, stages, start)
    stages.step_compiled(_DAY)
    got = _snapshot(world, stages)

    assert (ref[1] != start[1]).sum() > 100  # many thresholds were refreshed
    assert (ref[0] != start[0]).sum() > 500  # and many stages changed
    for name, a, b in zip(("stage", "at risk", "lapsed", "transitions"), got, ref, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_the_first_day_computes_every_threshold_in_both():
    world, stages = _random_state(3)
    start = _snapshot(world, stages)
    stages._thresholds = None
    stages.step_reference(_DAY)
    ref = _snapshot(world, stages)
    _restore(world, stages, start)
    stages._thresholds = None
    stages.step_compiled(_DAY)
    for a, b in zip(_snapshot(world, stages), ref, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_whole_run_is_the_same_with_the_kernel_and_with_the_reference(monkeypatch):
    from retention_sim import load_policy, load_scenario, simulate

    sc = load_scenario(SCENARIOS / "default.yaml")
    pol = load_policy(POLICIES / "bau_default.yaml", scenario=sc)
    monkeypatch.setenv(kernels.ENV, "numpy")
    ref = simulate(sc, pol, seed=5, customers=2000, days=200)
    monkeypatch.setenv(kernels.ENV, "numba")
    got = simulate(sc, pol, seed=5, customers=2000, days=200)
    assert ref.summary["churned"] > 100
    assert got.summary == ref.summary
    assert got.daily.equals(ref.daily)
