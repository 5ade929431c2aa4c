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
    calibrate(
        CDNOW,
        until="1997-09-30",
        split="lifestyle",  # one cause's column from history, the others from the segment
        scenario_out=out / "s.yaml",
        customers_out=out / "c.csv",
    )
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
    split = sc.churn.dropout_split
    replaced = [CAUSES.index(c) for c in split] if split else [CAUSES.index(observed.DROPOUT_CAUSE)]
    for key in traits.TRAIT_NAMES:
        col = getattr(pop, key)[rows]
        if key in observed.FROM_HISTORY:
            assert not np.all(col == SENTINEL_FLOAT), key
            continue
        if key == "base_hazard":  # the fitted dropout hazard replaces its causes' columns
            col = np.delete(col, replaced, axis=1)
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


def test_calibration_fields_place_the_fitted_posterior_on_the_observed_rows(tmp_path):
    """dropout_split shares the drawn dropout among causes, purchase_rate_factor scales the
    drawn rate, last_valued_touch starts the indifference clock at arrival; the draws
    themselves (common random numbers) are the same."""
    cal = calibrate(CDNOW, until="1997-09-30", split="lifestyle")
    h = observed.validate_history(cal.customers)
    plain = cal.scenario
    split = {"indifference": 0.7, "lifestyle": 0.2, "competitor": 0.1}
    shaped = plain.with_overrides(
        {
            "churn.dropout_split": split,
            "population.purchase_rate_factor": 0.5,
            "population.last_valued_touch": "first_purchase",
        }
    )
    a = build_world(plain, seed=4, days=30, history=h).pop
    b = build_world(shaped, seed=4, days=30, history=h).pop
    n = a.n_initial
    assert b.n_initial == n
    mu = a.base_hazard[:n, CAUSES.index("lifestyle")]
    for cause, share in split.items():
        assert np.allclose(b.base_hazard[:n, CAUSES.index(cause)], mu * share, rtol=1e-12)
    lam_a = -np.expm1(-a.purchase_rate[:n])  # the daily purchase probability λ
    lam_b = -np.expm1(-b.purchase_rate[:n])
    small = lam_a < 0.5  # below the 0.95 cap either way
    assert np.allclose(lam_b[small], 0.5 * lam_a[small], rtol=1e-9)
    assert np.array_equal(b.last_valued_touch_day[:n], b.acquired_day[:n])
    assert (a.last_valued_touch_day[:n] > a.acquired_day[:n]).any()
    # hazard_scale (a calibrated dropout's interval, for robustness) scales every hazard
    c = build_world(shaped.with_overrides({"churn.hazard_scale": 1.3}), seed=4, days=30, history=h)
    assert np.allclose(c.pop.base_hazard[:n], 1.3 * b.base_hazard[:n], rtol=1e-12)
    assert (b.base_hazard[:n] > 0).any()
