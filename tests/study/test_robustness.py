"""robustness(): sampled worlds, share of worlds won, the most influential parameter."""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim import InputError, robustness
from retention_sim.config.policy import load_policy
from retention_sim.study.robustness import latin_hypercube

from ..conftest import ROOT

POLICIES = ROOT / "params" / "policies"
KW = {"customers": 300, "days": 60, "backend": "serial", "progress": False}


@pytest.fixture(scope="module")
def bau(default_scenario):
    return load_policy(POLICIES / "bau_default.yaml", scenario=default_scenario)


def test_latin_hypercube_has_one_point_per_stratum():
    u = latin_hypercube(8, 3, np.random.default_rng(0))
    assert u.shape == (8, 3) and (u >= 0).all() and (u < 1).all()
    for j in range(3):
        assert sorted(np.floor(u[:, j] * 8).astype(int)) == list(range(8))


def test_message_cost_drives_the_profit_difference(default_scenario, bau):
    """The email price changes only the contact bill, never behaviour: with the same seeds in
    every world, the profit difference bau − no contact falls strictly with it, while the annual
    discount rate (used for CLV only) does not touch profit at all."""
    uncertain = {
        "channels.email.cost_per_message": (0.0, 20_000.0),
        "economics.annual_discount_rate": (0.05, 0.2),
    }
    r = robustness(default_scenario, bau, None, uncertain, draws=6, replications=1, seed=3, **KW)
    w = r.worlds
    assert len(w) == 6 and list(w.columns[:3]) == [
        "world",
        "channels.email.cost_per_message",
        "economics.annual_discount_rate",
    ]
    assert w["channels.email.cost_per_message"].between(0, 20_000).all()
    assert np.allclose(w["difference"], w["candidate"] - w["baseline"])
    assert r.share_better == w["better"].mean()
    assert r.share_low <= r.share_better <= r.share_high
    assert r.most_influential == "channels.email.cost_per_message"
    top = r.sensitivity.iloc[0]
    assert top["parameter"] == r.most_influential and top["spearman"] == pytest.approx(-1.0)
    assert "most sensitive to channels.email.cost_per_message" in r.text
    assert "the higher it is, the worse bau_default does against no_contact" in r.text
    assert f"in {int(w['better'].sum())} of 6 sampled worlds" in r.text
    # the baseline (no contact) pays no email bill: its profit is the same in every world
    assert w["baseline"].nunique() == 1
    # the difference is exactly linear in the price (behaviour does not change), so the price
    # at which the verdict flips follows from any two worlds
    c, d = w["channels.email.cost_per_message"].to_numpy(), w["difference"].to_numpy()
    root = c[0] - d[0] * (c[1] - c[0]) / (d[1] - d[0])
    if 0.0 <= root <= 20_000.0:
        assert top["flips_at"] == pytest.approx(root, rel=1e-6)
        assert "the verdict flips at channels.email.cost_per_message" in r.text
    else:
        assert np.isnan(top["flips_at"]) and "no flip is seen" in r.text


def test_integer_fields_are_rounded_and_bad_ranges_refused(default_scenario, bau):
    r = robustness(
        default_scenario,
        bau,
        None,
        {"service.agents": (1, 6)},
        draws=3,
        replications=1,
        **{**KW, "days": 10},
    )
    vals = r.worlds["service.agents"]
    assert (vals == vals.round()).all() and vals.between(1, 6).all()
    for bad in [
        {"service.agents": (5, 1)},
        {"no.such.field": (0, 1)},
        {"policy:guardrails.holdout_share": (0, 0.1)},
        {"name": (0, 1)},
        {},
    ]:
        with pytest.raises(InputError):
            robustness(default_scenario, bau, None, bad, draws=3, replications=1, **KW)
    with pytest.raises(InputError):
        robustness(default_scenario, bau, None, {"service.agents": (1, 2)}, draws=2, **KW)
