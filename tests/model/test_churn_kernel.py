"""The compiled churn kernel against its NumPy reference, on random states.

Both take the day's hazards off the same clocks and must churn the same rows for the same
causes, and leave every clock the same to the last bit (the dissatisfaction cause's ``exp`` is
NumPy's in both: the kernel receives it computed).
"""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim.model import kernels
from retention_sim.model.build import build_world
from retention_sim.model.churn import hazards
from retention_sim.model.simulation import assemble, run_world
from retention_sim.vocabulary import CAUSES

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")

_DIS = CAUSES.index("dissatisfaction")


def _random_state(seed: int, overrides: dict | None = None):
    """A run stopped after 20 days, then scrambled: who is present, satisfaction, open issues,
    exposure, demotions, touches, wake-ups, fatigue; clocks close to zero, so that many run out
    today, several causes for one row, and some exactly tie."""
    from retention_sim import load_policy, load_scenario

    sc = load_scenario(SCENARIOS / "default.yaml")
    if overrides:
        sc = sc.with_overrides(overrides)
    pol = load_policy(POLICIES / "bau_default.yaml", scenario=sc)
    world = build_world(sc, seed=seed, customers=3000, days=21)
    mech = assemble(world, pol)
    run_world(world, mech)
    rng = np.random.default_rng(seed)
    pop, n = world.pop, world.pop.capacity
    world.present[:] = rng.random(n) < 0.8
    pop.satisfaction[:] = rng.random(n)
    pop.unresolved[:] = rng.integers(0, 3, n)
    pop.exposure[:] = rng.exponential(1.0, n) * (rng.random(n) < 0.3)
    pop.demoted_day[:] = np.where(rng.random(n) < 0.2, 15, pop.demoted_day)
    pop.last_valued_touch_day[:] = rng.integers(-400, 20, n)
    pop.onboarded[:] = rng.random(n) < 0.5
    pop.stage[world.present] = rng.integers(0, 5, int(world.present.sum()))
    world.today.woken = rng.random(n) < 0.1
    world.today.fatigue_total = (rng.exponential(1.0, n) * 3).astype(np.float32)
    day = 20
    h = hazards(world, day)
    clocks = rng.random((n, len(CAUSES))) * h * 2.0  # about half of the live clocks run out
    clocks[h == 0] = 1.0  # (a clock starts at an Exp(1) draw: never exactly 0)
    tie = rng.random(n) < 0.02  # two causes needing the same share of the day: the lower wins
    clocks[tie, 0], clocks[tie, 3] = 0.5 * h[tie, 0], 0.5 * h[tie, 3]
    clocks[~world.present] = np.where(
        rng.random((int((~world.present).sum()), 1)) < 0.5, np.inf, 1.0
    )
    pop.churn_clock[:] = np.asfortranarray(clocks)
    return world, mech.churn, day, h


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_kernel_churns_the_rows_the_reference_churns(seed):
    world, churn, day, h = _random_state(seed)
    start = world.pop.churn_clock.copy()
    rows_r, cause_r = churn.clocks_reference(day)
    after_r = world.pop.churn_clock.copy()
    world.pop.churn_clock[:] = start
    rows_c, cause_c = churn.clocks_compiled(day)
    after_c = world.pop.churn_clock.copy()

    assert rows_r.size > 100  # the state makes many run out
    np.testing.assert_array_equal(rows_c, rows_r)
    np.testing.assert_array_equal(cause_c, cause_r)
    np.testing.assert_array_equal(after_c, after_r)  # every clock, to the last bit


def test_the_kernel_applies_a_tenure_perk_as_the_reference_does():
    perk = {"loyalty.tenure_perk": {"after_days": 30, "churn_cause": "competitor",
                                    "hazard_multiplier": 0.3}}  # fmt: skip
    world, churn, day, _ = _random_state(4, perk)
    assert churn.perk is not None
    start = world.pop.churn_clock.copy()
    ref = churn.clocks_reference(day)
    after_r = world.pop.churn_clock.copy()
    world.pop.churn_clock[:] = start
    got = churn.clocks_compiled(day)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    k = CAUSES.index("competitor")
    np.testing.assert_array_equal(world.pop.churn_clock[:, k], after_r[:, k])


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


def test_the_switch_names_what_it_accepts(monkeypatch):
    monkeypatch.setenv(kernels.ENV, "fortran")
    with pytest.raises(ValueError, match="RETENTION_SIM_KERNELS must be 'numba' or 'numpy'"):
        kernels.compiled()
    monkeypatch.setenv(kernels.ENV, "numpy")
    assert not kernels.compiled()


def test_a_numba_that_does_not_import_runs_the_references(monkeypatch):
    import sys

    monkeypatch.setenv(kernels.ENV, "numba")
    monkeypatch.setattr(kernels, "_IMPORTS", [])
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    assert not kernels.compiled()  # (monkeypatch restores numba and the memo afterwards)
