"""Perks for long tenure (docs/model.md §5, "Tenure perk"): who holds one, its daily cost, the
extra points, and the lower hazard of its churn cause.

The base has mixed tenure (so customers pass the perk's tenure during the run), no arrivals and
no contact policy; a customer's tenure on day ``d`` is ``d − acquired_day``, read from the
customers table, so holders, costs and extra points can be counted exactly from the outputs.
"""

from __future__ import annotations

import numpy as np

from retention_sim import simulate
from retention_sim.model.build import build_world
from retention_sim.model.churn import hazards
from retention_sim.model.world import NO_POLICY_DAY
from retention_sim.vocabulary import CAUSES

from ..conftest import all_causes_off, plain_scenario

PERK = {
    "after_days": 730,
    "points_multiplier": 1.5,
    "churn_cause": "competitor",
    "hazard_multiplier": 0.5,
    "cost_per_year": 365.0,  # 1 a day per holder
}


def _scenario(perk: dict | None, *, competitor: float = 0.0):
    churn = all_causes_off()
    churn["causes"]["competitor"]["annual_probability"] = competitor
    return plain_scenario(
        population={
            "initial_customers": 5000,
            "arrivals_per_day": 0,
            "tenure": {"mean_years": 3.0, "max_years": 10},
            "segments": {
                "all": {
                    "share": 1.0,
                    "purchase_rate_per_year": {"mean": 12.0, "shape": 1.5},
                    "spend": {"mean_per_purchase": 100.0, "p": 6, "q": 4},
                    "frailty_shape": None,
                }
            },
        },
        churn=churn,
        loyalty={
            "enabled": True,
            "points_per_currency": 0.5,
            "point_value": 3.0,
            "redemption_points": 400,
            "tiers": [{"name": "member", "threshold_points": 0}],
            "tenure_perk": perk,
        },
        stages={"loyal_min_tier": None},
    )


def _tenure_start(result) -> np.ndarray:
    cust = result.customers.sort_values("customer_id")
    return (cust["acquired_date"] - result.daily.index[0]).dt.days.to_numpy()


def test_holders_cost_and_extra_points_follow_tenure():
    r = simulate(_scenario(PERK), seed=71, days=180)
    acquired = _tenure_start(r)
    days = np.arange(len(r.daily))
    holders = (days[:, None] - acquired[None, :] >= 730).sum(axis=1).astype(float)
    assert holders[0] > 1000 and holders[-1] - holders[0] > 200  # customers pass 2 years
    d = r.daily
    np.testing.assert_array_equal(d["perk_holders"].to_numpy(), holders)
    np.testing.assert_array_equal(d["perk_cost"].to_numpy(), holders * 1.0)
    redeemed = d["rewards_redeemed"].to_numpy() * 400 * 3.0
    np.testing.assert_allclose(d["reward_cost"].to_numpy(), redeemed + holders, rtol=1e-12)
    assert r.summary["perk_holders_end"] == holders[-1]
    assert r.summary["perk_cost"] == holders.sum()
    # holders' purchases earn 1.5 × the points: the extra half is the bonus
    tx = r.transactions
    day = (tx["date"] - d.index[0]).dt.days.to_numpy()
    cid, amount = tx["customer_id"].to_numpy(), tx["amount"].to_numpy()
    held = day - acquired[cid] >= 730
    bonus = np.bincount(day, np.where(held, amount * 0.5 * 0.5, 0.0), minlength=len(d))
    np.testing.assert_allclose(d["bonus_points"].to_numpy(), bonus, rtol=1e-9, atol=1e-9)
    assert bonus.sum() > 10_000


def test_the_perk_lowers_the_hazard_of_its_cause_for_holders_only():
    perk, plain = (
        build_world(_scenario(p, competitor=0.3), seed=72, days=30) for p in (PERK, None)
    )
    out = []
    for world in (perk, plain):
        world.today.constant.update(NO_POLICY_DAY)
        world.today.new_day()
        world.today.competitor_pressure = 1.0
        out.append(hazards(world, 10))
    h_perk, h_plain = out
    k = CAUSES.index("competitor")
    holds = 10 - perk.pop.acquired_day >= 730
    assert 1000 < holds[: perk.pop.n_initial].sum() < 4000
    np.testing.assert_array_equal(h_perk[holds, k], h_plain[holds, k] * 0.5)
    np.testing.assert_array_equal(h_perk[~holds, k], h_plain[~holds, k])
    others = [j for j in range(len(CAUSES)) if j != k]
    np.testing.assert_array_equal(h_perk[:, others], h_plain[:, others])


def test_holders_of_a_perfect_perk_never_leave_for_its_cause():
    """With the competitor hazard × 0, nobody who held the perk on their churn day leaves for
    a competitor; without the perk hundreds of them do (same seed, the same clocks)."""
    shield = {**PERK, "hazard_multiplier": 0.0}
    runs = [simulate(_scenario(p, competitor=0.3), seed=73) for p in (shield, None)]
    counts = []
    for r in runs:
        cust = r.customers.sort_values("customer_id")
        gone = cust["churn_cause"].to_numpy() == "competitor"
        churn_day = (cust["churn_date"] - r.daily.index[0]).dt.days.to_numpy()
        tenure = churn_day - _tenure_start(r)
        counts.append(((tenure >= 730) & gone).sum())
    assert counts[0] == 0 and counts[1] > 200, counts
