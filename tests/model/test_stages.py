from __future__ import annotations

import numpy as np

from retention_sim.config.policy import load_policy
from retention_sim.model.simulation import assemble, build_world, run_world
from retention_sim.model.stages import classify
from retention_sim.vocabulary import Stage

from ..conftest import ROOT


def test_kept_thresholds_give_the_stages_a_full_reclassification_gives(default_scenario):
    """stage_step keeps each customer's at-risk/lapsed thresholds between days and refreshes
    them for the day's buyers; after a year of purchases, returns, win-backs and arrivals the
    stages must equal a from-scratch classification of every present customer."""
    pol = load_policy(ROOT / "params" / "policies" / "bau_default.yaml", scenario=default_scenario)
    world = build_world(default_scenario, seed=4, customers=3000, days=400)
    run_world(world, assemble(world, pol))
    rows = world.present_rows()
    stages = world.pop.stage[rows]
    assert np.array_equal(stages, classify(world, rows, world.horizon - 1))
    # the run went through every live stage, so the comparison covers them all
    for s in (Stage.NEW, Stage.ACTIVE, Stage.LOYAL, Stage.AT_RISK, Stage.LAPSED, Stage.WON_BACK):
        assert (stages == s).any(), s
