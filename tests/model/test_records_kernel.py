"""The day's records and fatigue totals: the compiled pass against its NumPy reference.

Both take the sums in row order, so they agree to the last bit; the counts are integers.
"""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim.model import kernels
from retention_sim.model.build import build_world
from retention_sim.model.records import _stocks_compiled, stocks_reference
from retention_sim.model.simulation import assemble, run_world

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")


def _random_state(scenario: str, policy: str, seed: int):
    from retention_sim import load_policy, load_scenario

    sc = load_scenario(SCENARIOS / f"{scenario}.yaml")
    pol = load_policy(POLICIES / f"{policy}.yaml", scenario=sc)
    world = build_world(sc, seed=seed, customers=3000, days=21)
    mech = assemble(world, pol)
    run_world(world, mech)
    rng = np.random.default_rng(seed)
    pop, n = world.pop, world.pop.capacity
    world.present[:] = rng.random(n) < 0.7
    pop.stage[:] = rng.integers(-1, 7, n)
    pop.satisfaction[:] = rng.random(n)
    pop.unresolved[:] = rng.integers(0, 4, n)
    pop.tier[:] = rng.integers(0, len(pop.tier_names), n)
    pop.enrolled[:] = rng.random(n) < 0.6
    pop.fatigue[:] = rng.exponential(1.0, pop.fatigue.shape).astype(np.float32)
    return world, mech


@pytest.mark.parametrize(("scenario", "policy"), [("default", "bau_default"),
                                                  ("fashion_retail", "bau_fashion_retail")])  # fmt: skip
@pytest.mark.parametrize("enrolled", [False, True])
def test_the_stocks_kernel_counts_what_the_reference_counts(scenario, policy, enrolled):
    world, _ = _random_state(scenario, policy, 1)
    ref = stocks_reference(world, enrolled)
    got = _stocks_compiled(world, enrolled)
    np.testing.assert_array_equal(got[0], ref[0])  # per stage
    assert got[1:6] == ref[1:6]  # present, of the base, satisfaction sum (bits), issues, members
    np.testing.assert_array_equal(got[6], ref[6])  # per tier
    assert ref[5] < ref[1] if enrolled else ref[5] == ref[1]


def test_the_fatigue_totals_are_the_reference_s():
    world, mech = _random_state("default", "bau_default", 2)
    out = {}
    for impl in ("numpy", "numba"):
        mech.fatigue.compiled = impl == "numba"
        world.log.day = 20
        mech.fatigue.totals(20)
        day = {k: world.log.column(k)[20] for k in ("fatigue_mean", "over_tolerance_share")}
        out[impl] = (world.today.fatigue_total.copy(), day)
    np.testing.assert_array_equal(out["numba"][0], out["numpy"][0])
    assert out["numba"][0].dtype == np.float32
    assert out["numba"][1] == out["numpy"][1]


def test_a_whole_run_records_the_same_days(monkeypatch):
    from retention_sim import load_policy, load_scenario, simulate

    sc = load_scenario(SCENARIOS / "fashion_retail.yaml")
    pol = load_policy(POLICIES / "bau_fashion_retail.yaml", scenario=sc)
    monkeypatch.setenv(kernels.ENV, "numpy")
    ref = simulate(sc, pol, seed=5, customers=2000, days=120)
    monkeypatch.setenv(kernels.ENV, "numba")
    got = simulate(sc, pol, seed=5, customers=2000, days=120)
    assert got.summary == ref.summary
    assert got.daily.equals(ref.daily)


def test_the_compiled_drift_is_the_reference_s():
    from retention_sim.model.satisfaction import drift

    world, _ = _random_state("default", "bau_default", 3)
    start = world.pop.satisfaction.copy()
    after = {}
    for impl in ("numpy", "numba"):
        world.kernels = impl == "numba"
        world.pop.satisfaction[:] = start
        drift(world)
        after[impl] = world.pop.satisfaction.copy()
    np.testing.assert_array_equal(after["numba"], after["numpy"])
    moved = after["numpy"] != start
    assert moved[world.present].mean() > 0.99 and not moved[~world.present].any()
