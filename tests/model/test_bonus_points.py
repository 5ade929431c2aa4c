"""Extra points on special days (docs/model.md §5, "Special days"): the birthday month and sale
days multiply a member's points; the extra points are redeemable but do not count toward tiers.

The run has only arrivals and no contact policy, so every purchase is in
``result.transactions``; each customer's birthday is read from the same seed's population
(built before the run, so it is the run's). The bonus is then replayed exactly.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from retention_sim import simulate
from retention_sim.model.build import build_world
from retention_sim.model.calendar import event_days

from ..conftest import plain_scenario

TIERS = [{"name": "member", "threshold_points": 0}, {"name": "silver", "threshold_points": 500}]
SALE = {"name": "Big sale", "start": "2026-03-01", "days": 10, "purchase_multiplier": 1.0}


def _scenario(special: dict | None):
    segment = {
        "share": 1.0,
        "purchase_rate_per_year": {"mean": 12.0, "shape": 1.5},
        "spend": {"mean_per_purchase": 100.0, "p": 6, "q": 4},
        "frailty_shape": None,
    }
    return plain_scenario(
        calendar={"start": "2026-01-01", "horizon_days": 365, "events": [SALE]},
        population={
            "initial_customers": 0,
            "arrivals_per_day": 20.0,
            "tenure": {"mean_years": 0},
            "birthday_known_share": 0.7,
            "segments": {"all": segment},
        },
        loyalty={
            "enabled": True,
            "points_per_currency": 0.5,
            "point_value": 3.0,
            "redemption_points": 400,
            "tiers": TIERS,
            "special_days": special,
        },
    )


def test_sale_days_are_the_days_the_named_events_cover():
    sc = _scenario({"sale_multiplier": 2.0, "sale_events": ["Big sale"]})
    days = event_days(sc, ["Big sale"], 450)  # 1 March 2026 is day 59, 1 March 2027 day 424
    assert np.flatnonzero(days).tolist() == list(range(59, 69)) + list(range(424, 434))
    assert not event_days(sc, [], 450).any()


def test_birthday_month_and_sale_days_multiply_the_points():
    special = {
        "birthday_month_multiplier": 2.0,
        "sale_multiplier": 3.0,
        "sale_events": ["Big sale"],
    }
    sc = _scenario(special)
    seed = 61
    r = simulate(sc, seed=seed)
    pop = build_world(sc, seed=seed).pop  # the run's customers, before the run
    tx = r.transactions
    day = (tx["date"] - r.daily.index[0]).dt.days.to_numpy()
    cid, amount = tx["customer_id"].to_numpy(), tx["amount"].to_numpy()
    doy = pop.birthday_doy[cid]
    known = doy >= 0
    born_month = np.array(
        [(dt.date(2001, 1, 1) + dt.timedelta(days=int(k))).month if k >= 0 else 0 for k in doy]
    )
    month = np.array([(dt.date(2026, 1, 1) + dt.timedelta(days=int(d))).month for d in day])
    m = np.where(known & (born_month == month), 2.0, 1.0) * np.where((day >= 59) & (day < 69), 3, 1)
    base = amount * 0.5
    bonus = np.bincount(day, base * (m - 1), minlength=len(r.daily))
    assert (m == 6).sum() > 20 and (m == 2).sum() > 1000 and (m == 3).sum() > 400
    np.testing.assert_allclose(r.daily["bonus_points"].to_numpy(), bonus, rtol=1e-9, atol=1e-9)
    issued = np.bincount(day, base * m, minlength=len(r.daily))
    np.testing.assert_allclose(r.daily["points_issued"].to_numpy(), issued, rtol=1e-9, atol=1e-9)
    assert r.summary["bonus_points"] == np.float64(r.daily["bonus_points"].sum())
    # tiers stay on spend: after the year's review each tier is the one the spend reaches
    # (with the extra points counted, 152 more customers would be silver, beside 1,550)
    cust = r.customers.sort_values("customer_id")
    spend_points = np.bincount(cid, base, minlength=len(cust))
    silver = spend_points >= 500
    np.testing.assert_array_equal(cust["tier"].to_numpy() == "silver", silver)
    with_bonus = np.bincount(cid, base * m, minlength=len(cust)) >= 500
    assert (with_bonus & ~silver).sum() > 100
