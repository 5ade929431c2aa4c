"""Touches per purchase cycle, checked against a hand count of the message and purchase logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_sim import load_scenario, simulate
from retention_sim.config.policy import load_policy


def hand_count(messages: pd.DataFrame, purchases: pd.DataFrame, n_initial: int):
    """Per completed in-run purchase cycle, the messages delivered in it, counted by hand.

    A day's purchases come before its contacts (DESIGN's day order), so a message delivered
    on a purchase day belongs to the cycle that purchase opens: a cycle from purchase day ``a``
    to the next purchase day ``b`` holds the deliveries of days ``a <= d < b``. Every
    customer's first purchase in the run opens its first counted cycle: for a new customer
    (row >= n_initial) that purchase is the arrival, and its cycle is the first repeat.
    """
    sent = messages[messages["outcome"].isin(["delivered", "opened", "clicked"])]
    by_customer = {c: np.sort(g["date"].to_numpy()) for c, g in sent.groupby("customer_id")}
    cycles, first = [], []
    for cust, g in purchases.groupby("customer_id"):
        days = np.sort(g["date"].to_numpy())
        sends = by_customer.get(cust, np.array([], dtype=days.dtype))
        for k, (a, b) in enumerate(zip(days[:-1], days[1:], strict=True)):
            n = int(((sends >= a) & (sends < b)).sum())
            cycles.append(n)
            if k == 0 and cust >= n_initial:
                first.append(n)
    return cycles, first


@pytest.fixture(scope="module")
def run():
    sc = load_scenario("default")
    pol = load_policy("bau_default", scenario=sc)
    return simulate(sc, pol, seed=5, customers=800, days=240, record_messages=True)


def test_touches_per_cycle_match_a_hand_count_of_the_logs(run):
    cycles, first = hand_count(
        run.extras["messages"], run.transactions, run.summary["customers_start"]
    )
    t = run.summary["touches"]
    assert t["purchase_cycles"] == len(cycles) > 500
    assert t["per_purchase_cycle"] == pytest.approx(np.mean(cycles), rel=1e-12)
    assert t["first_repeats"] == len(first) > 20
    assert t["before_first_repeat"] == pytest.approx(np.mean(first), rel=1e-12)
    assert np.mean(cycles) > 1  # the policy does touch customers between purchases
    delivered = run.summary["messages"]["delivered"]
    assert t["per_purchase"] == pytest.approx(delivered / run.summary["purchases"])


def test_without_contacts_no_cycle_has_a_touch():
    r = simulate(load_scenario("default"), None, seed=5, customers=500, days=120)
    t = r.summary["touches"]
    assert t["purchase_cycles"] > 0 and t["per_purchase_cycle"] == 0.0


def test_a_run_too_short_for_a_repeat_reports_nothing_to_average():
    r = simulate(load_scenario("default"), None, seed=5, customers=50, days=2)
    t = r.summary["touches"]
    assert t["first_repeats"] == 0 and t["before_first_repeat"] == 0.0  # finite, count beside
