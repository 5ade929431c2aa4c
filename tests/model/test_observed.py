"""Observed customers take every trait of their segment, except what their history says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_sim import load_scenario, scenario_from_dict
from retention_sim.calibration.calibrate import calibrate
from retention_sim.model import observed, traits
from retention_sim.model.simulation import build_world
from retention_sim.vocabulary import CAUSES

from ..conftest import ROOT

CDNOW = ROOT / "retention_sim" / "data" / "cdnow_sample.csv"
SENTINEL_INT, SENTINEL_FLOAT = 111, 3.25


@pytest.fixture(scope="module")
def two_segments(tmp_path_factory):
    out = tmp_path_factory.mktemp("observed")
    calibrate(CDNOW, until="1997-09-30", scenario_out=out / "s.yaml", customers_out=out / "c.csv")
    data = load_scenario(out / "s.yaml").model_dump(mode="json")
    seg = data["population"]["segments"]["calibrated"]
    data["population"]["segments"] = {
        "calibrated": {**seg, "share": 0.5},
        "other": {**seg, "share": 0.5},
    }
    # nobody consents to anything in a real draw, so a sentinel True is unmistakable
    for ch in data["channels"].values():
        ch["consent_share"] = 0.0
    sc = scenario_from_dict(data)
    h = pd.read_csv(out / "c.csv", dtype={"customer_id": str})
    h["segment"] = np.where(np.arange(len(h)) % 2 == 0, "calibrated", "other")
    return sc, observed.validate_history(h)


def test_draw_traits_returns_exactly_the_declared_traits(default_scenario):
    got = traits.draw_traits(default_scenario, np.random.default_rng(0), 5)
    assert set(got) == set(traits.TRAIT_NAMES)
    assert set(observed.FROM_HISTORY) <= set(traits.TRAIT_NAMES)


def test_every_trait_not_in_the_history_comes_from_the_segment_draw(two_segments, monkeypatch):
    """Replace the segment draw by sentinels: every trait of every observed customer that the
    history does not set must carry them (a trait left with its synthetic value would not)."""
    sc, h = two_segments
    real = traits.draw_traits

    def sentinel_draw(scenario, rng, n):
        out = {}
        for k, v in real(scenario, rng, n).items():
            if v.dtype == bool:
                out[k] = np.ones_like(v)
            elif np.issubdtype(v.dtype, np.integer):
                out[k] = np.full_like(v, SENTINEL_INT)
            else:
                out[k] = np.full_like(v, SENTINEL_FLOAT)
        return out

    monkeypatch.setattr(observed, "draw_traits", sentinel_draw)
    world = build_world(sc, seed=1, days=5, history=h)
    pop = world.pop
    rows = np.arange(pop.n_initial)
    assert rows.size > 100
    dropout = CAUSES.index(observed.DROPOUT_CAUSE)
    for key in traits.TRAIT_NAMES:
        col = getattr(pop, key)[rows]
        if key in observed.FROM_HISTORY:
            assert not np.all(col == SENTINEL_FLOAT), key
            continue
        if key == "base_hazard":  # the fitted dropout hazard replaces one cause's column
            col = np.delete(col, dropout, axis=1)
        want = (
            True
            if col.dtype == bool
            else (SENTINEL_INT if np.issubdtype(col.dtype, np.integer) else SENTINEL_FLOAT)
        )
        assert np.all(col == np.asarray(want, dtype=col.dtype)), key
    # each customer is in the segment the file names
    names = np.array(pop.segment_names)[pop.segment[rows]]
    labels = h["segment"].to_numpy()[pop.extra["observed_rows"]]
    assert (names == labels).all()
