"""Campaign mechanisms audited from the public outputs (message log, transactions, customers).

- ``tier_up``: ``reached`` on the day of the upgrade, ``near`` once the window's points reach
  ``near_share`` of the next threshold, each at most once per qualification period;
- journeys: ``stop_on_purchase`` drops the steps after a purchase, and only then;
- the ``predicted_next_purchase`` trigger fires on the customer's own cycle minus ``lead_days``
  and raises new customers' second purchases against the same customers without it.

The audits replay each customer's history from ``result.transactions`` and compare the set of
message attempts (every outcome, refusals included) with the set the documented rule gives.
They are exact: no sampling error enters, so there is no tolerance, and one misplaced,
missing or extra message fails. The minimum counts only make sure that each case the rule
distinguishes occurs often enough in the fixed-seed run to be tested.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from retention_sim import policy_from_dict, simulate

from ...conftest import plain_scenario


def _population(n0: int, arrivals: float, rate: float, mean_years: float = 0.0) -> dict:
    return {
        "initial_customers": n0,
        "arrivals_per_day": arrivals,
        "tenure": {"mean_years": mean_years},
        "segments": {
            "all": {
                "share": 1.0,
                "purchase_rate_per_year": {"mean": rate, "shape": 1.5},
                "spend": {"mean_per_purchase": 100.0, "p": 6, "q": 4},
                "frailty_shape": None,
            }
        },
    }


def _attempts(result, campaign: str) -> set[tuple[int, int]]:
    """(customer_id, day) of every logged attempt of ``campaign``, whatever its outcome."""
    log = result.extras["messages"]
    log = log[log["campaign"] == campaign]
    start = pd.Timestamp(result.summary["start_date"])
    days = (log["date"] - start).dt.days
    pairs = list(zip(log["customer_id"].tolist(), days.tolist(), strict=True))
    assert len(pairs) == len(set(pairs)), f"{campaign}: a customer messaged twice on one day"
    return set(pairs)


def _purchase_days(result) -> dict[int, np.ndarray]:
    start = pd.Timestamp(result.summary["start_date"])
    tx = result.transactions
    days = (tx["date"] - start).dt.days.to_numpy()
    out: dict[int, list[int]] = {}
    for cid, d in zip(tx["customer_id"].tolist(), days.tolist(), strict=True):
        out.setdefault(cid, []).append(d)
    return {k: np.array(v) for k, v in out.items()}


def _diff(expected: set, got: set) -> str:
    return (
        f"missing {sorted(expected - got)[:5]} ({len(expected - got)}), "
        f"unexpected {sorted(got - expected)[:5]} ({len(got - expected)})"
    )


# ------------------------------------------------------------------------------------ tier_up
WINDOW = 120  # three qualification periods and a part in the year: repeats can be audited
THRESHOLDS = (0.0, 300.0, 700.0)  # member, silver, gold, in points (1 point per currency unit)
NEAR_SHARE = 0.75


@pytest.fixture(scope="module")
def tier_run():
    # Every customer is an arrival, so their whole points history is in the transactions
    # (an arrival starts at tier 0 with no points; the base's history is not logged).
    sc = plain_scenario(
        population=_population(0, 20, rate=8.0),
        loyalty={
            "enabled": True,
            "points_per_currency": 1.0,
            "qualification_window_days": WINDOW,
            "tiers": [
                {"name": n, "threshold_points": t}
                for n, t in zip(("member", "silver", "gold"), THRESHOLDS, strict=True)
            ],
        },
    )
    pol = policy_from_dict(
        {
            "name": "tiers",
            "campaigns": [
                {"name": "reached", "type": "tier_up", "notify_on": ["reached"]},
                {
                    "name": "near",
                    "type": "tier_up",
                    "channel": "sms",
                    "notify_on": ["near"],
                    "near_share": NEAR_SHARE,
                },
            ],
        },
        scenario=sc,
    )
    return simulate(sc, pol, seed=3, record_messages=True)


def _replay_tiers(result):
    """Tier history replayed from the transactions (docs/model.md §5 and §12).

    Points are earned at purchase and counted in the calendar window ``day // WINDOW``; a
    customer is upgraded as soon as the window's points reach a higher threshold; at the end
    of each window (the review after the daily step of day ``(q + 1) * WINDOW - 1``) the tier
    becomes the one that window's points earn, and the count restarts from zero.
    """
    th = np.array(THRESHOLDS)
    nxt = np.append(th[1:], np.inf)
    start = pd.Timestamp(result.summary["start_date"])
    horizon = int(result.summary["days"])
    tx = result.transactions
    days = (tx["date"] - start).dt.days.tolist()
    by_customer: dict[int, dict[int, list[tuple[int, float]]]] = {}
    for cid, d, a in zip(tx["customer_id"].tolist(), days, tx["amount"].tolist(), strict=True):
        by_customer.setdefault(cid, {}).setdefault(d // WINDOW, []).append((d, a))
    reached, near = set(), set()
    stats, upgrades, demotions = Counter(), Counter(), Counter()
    last_review = horizon // WINDOW - 1  # windows whose review falls inside the horizon
    for cid, windows in by_customer.items():
        tier = 0  # an arrival starts at the first tier; its first purchase is logged
        first = min(windows)
        for q in range(first, max(max(windows), last_review) + 1):
            pts, told_reached, told_near = 0.0, False, False
            for d, amount in windows.get(q, []):
                pts += amount
                new = int(np.searchsorted(th, pts, side="right") - 1)
                if new > tier:
                    tier = new
                    upgrades[d] += 1
                    if told_reached:
                        stats["second_upgrade_in_period"] += 1
                    else:
                        reached.add((cid, d))
                        told_reached = True
                        stats[f"reached_tier_{new}"] += 1
                if not told_near and NEAR_SHARE * nxt[tier] <= pts < nxt[tier]:
                    near.add((cid, d))
                    told_near = True
                    stats[f"near_tier_{tier + 1}"] += 1
            if q <= last_review:
                earned = int(np.searchsorted(th, pts, side="right") - 1)
                if earned < tier:
                    demotions[(q + 1) * WINDOW - 1] += 1
                    tier = earned
    return reached, near, stats, upgrades, demotions


def test_tier_up_messages_follow_the_points_history(tier_run):
    assert tier_run.summary["customers_start"] == 0  # arrivals only: no unlogged history
    reached, near, stats, upgrades, demotions = _replay_tiers(tier_run)
    # the replay agrees with the model's own daily upgrade and demotion counts
    daily = tier_run.daily
    day = np.arange(len(daily))
    for column, replayed in (("tier_upgrades", upgrades), ("tier_demotions", demotions)):
        col = daily[column].to_numpy()
        logged = {int(d): int(col[d]) for d in day[col > 0]}
        assert logged == dict(replayed), column
    assert sum(demotions.values()) > 100
    # reached: on the day of the (first, in its period) upgrade; near: the first day in the
    # period on which the window's points are in [near_share x next threshold, next threshold)
    got_r, got_n = _attempts(tier_run, "reached"), _attempts(tier_run, "near")
    assert got_r == reached, _diff(reached, got_r)
    assert got_n == near, _diff(near, got_n)
    # every case is exercised: both tiers reached and neared, upgrades silenced by an earlier
    # one in the same period
    for case in ("reached_tier_1", "reached_tier_2", "near_tier_1", "near_tier_2"):
        assert stats[case] > 100, (case, stats)
    assert stats["second_upgrade_in_period"] > 50, stats


def test_tier_up_messages_at_most_once_per_qualification_period(tier_run):
    start = pd.Timestamp(tier_run.summary["start_date"])
    log = tier_run.extras["messages"]
    period = (log["date"] - start).dt.days // WINDOW
    per = log.groupby(["campaign", "customer_id", period]).size()
    assert per.max() == 1
    # ... but once in each period: many customers are told again in a later period
    periods = per.groupby(level=["campaign", "customer_id"]).size()
    assert (periods.loc["reached"] >= 2).sum() > 100
    assert (periods.loc["near"] >= 2).sum() > 100


# ------------------------------------------------------------------------------------ journeys
STEPS = (0, 7, 30, 60, 120)


@pytest.fixture(scope="module")
def journey_runs():
    sc = plain_scenario(population=_population(500, 10, rate=6.0, mean_years=1.0))
    out = {}
    for stop in (True, False):
        pol = policy_from_dict(
            {
                "name": f"welcome_{stop}",
                "campaigns": [
                    {
                        "name": "welcome",
                        "type": "journey",
                        "start": "new_customer",
                        "stop_on_purchase": stop,
                        "steps": [{"after_days": d, "channel": "email"} for d in STEPS],
                    }
                ],
            },
            scenario=sc,
        )
        out[stop] = simulate(sc, pol, seed=11, record_messages=True)
    return out


def _journey_expectation(result):
    """Every step of every customer acquired in the horizon, and whether a purchase came first.

    A step due on day d0 + k is "after a purchase" when the customer bought on a day in
    (d0, d0 + k]: purchases come before contacts in the daily order, so a purchase on the
    step's own day precedes the step.
    """
    start = pd.Timestamp(result.summary["start_date"])
    horizon = int(result.summary["days"])
    c = result.customers
    acquired = (c["acquired_date"] - start).dt.days
    new = c.loc[acquired >= 0, "customer_id"].to_numpy()
    d0s = acquired[acquired >= 0].to_numpy()
    buys = _purchase_days(result)
    clean, after_purchase = set(), set()
    for cid, d0 in zip(new.tolist(), d0s.tolist(), strict=True):
        b = buys.get(cid, np.zeros(0, dtype=int))
        for k in STEPS:
            if d0 + k >= horizon:
                continue
            bought = bool(((b > d0) & (b <= d0 + k)).any())
            (after_purchase if bought else clean).add((cid, d0 + k))
    return clean, after_purchase


def test_stop_on_purchase_drops_the_steps_after_a_purchase(journey_runs):
    clean, after_purchase = _journey_expectation(journey_runs[True])
    got = _attempts(journey_runs[True], "welcome")
    assert got == clean, _diff(clean, got)
    assert len(after_purchase) > 1000  # many steps come after a repeat purchase...
    assert len(clean) > 1000  # ... and many do not


def test_without_stop_on_purchase_every_step_is_sent(journey_runs):
    clean, after_purchase = _journey_expectation(journey_runs[False])
    got = _attempts(journey_runs[False], "welcome")
    assert got == clean | after_purchase, _diff(clean | after_purchase, got)
    assert len(after_purchase) > 1000
    # the same arrivals under both settings (common random numbers)
    a, b = (journey_runs[s].customers["acquired_date"] for s in (True, False))
    assert a.equals(b)


# ------------------------------------------------------------------- predicted_next_purchase
RATE = 6.0  # a one-purchase customer's cycle is the segment's typical 365 / 6 = 60.8 days
LEADS = {"remind_early": 10, "remind_on_day": 0}


@pytest.fixture(scope="module")
def trigger_run():
    sc = plain_scenario(population=_population(1000, 5, rate=RATE))
    pol = policy_from_dict(
        {
            "name": "predicted",
            "campaigns": [
                {
                    "name": name,
                    "type": "notification",
                    "channel": ch,
                    "cadence": {"trigger": "predicted_next_purchase", "lead_days": lead},
                }
                for (name, lead), ch in zip(LEADS.items(), ("email", "sms"), strict=True)
            ],
        },
        scenario=sc,
    )
    return simulate(sc, pol, seed=5, record_messages=True)


def test_predicted_next_purchase_fires_on_the_own_cycle_minus_lead_days(trigger_run):
    """After each purchase the customer's cycle is (last - first) / (n - 1) over all their
    purchases so far (365 / segment mean rate with one purchase, at least 1 day); the message
    goes out ``max(round(cycle) - lead_days, 1)`` days later unless a purchase comes first."""
    r = trigger_run
    horizon = int(r.summary["days"])
    n0 = r.summary["customers_start"]
    buys = _purchase_days(r)
    c = r.customers.set_index("customer_id")
    start = pd.Timestamp(r.summary["start_date"])
    # the history public outputs do not show: a base with tenure 0 made one purchase on day 0
    # (before the logged ones), an arrival's first purchase is logged
    history = {
        cid: (np.zeros(1, dtype=int) if cid < n0 else np.zeros(0, dtype=int)) for cid in c.index
    }
    assert (c.loc[: n0 - 1, "acquired_date"] == start).all()
    n_logged = pd.Series({cid: buys.get(cid, np.zeros(0)).size for cid in c.index})
    assert (c["purchases"] == n_logged + (c.index < n0)).all()
    for name, lead in LEADS.items():
        expected, cases = set(), Counter()
        for cid in c.index:
            days = np.sort(np.concatenate([history[cid], buys.get(cid, np.zeros(0, dtype=int))]))
            for j, last in enumerate(days.tolist()):
                cycle = (last - days[0]) / j if j >= 1 else 365.0 / RATE
                due = int(np.rint(max(cycle, 1.0))) - lead
                fire = last + max(due, 1)
                nxt = days[j + 1] if j + 1 < days.size else horizon
                if fire < nxt:  # a purchase on the due day itself resets the count first
                    expected.add((cid, fire))
                    cases["one purchase" if j == 0 else "own cycle"] += 1
                    cases["1-day floor"] += due < 1
        got = _attempts(r, name)
        assert got == expected, (name, _diff(expected, got))
        # both cycle rules are exercised, and (with lead_days 10) the floor of one day
        assert cases["one purchase"] > 500 and cases["own cycle"] > 1000, (name, cases)
        assert lead == 0 or cases["1-day floor"] > 50, (name, cases)


@pytest.mark.slow
def test_predicted_next_purchase_raises_second_purchases(default_scenario):
    """Seed article 001 reports up to +25% second purchases from messages timed on the
    predicted next purchase. Measured here: the default scenario with a 2,000-customer base
    and 200 arrivals a day (72,733 new customers in the year), an SMS info notification 7
    days before the predicted purchase, seed 1, against the same customers and seed with no
    campaign. Share of the year's new customers who buy a second time before the year ends:
    59.751% against 59.685%, a paired difference of +0.066 points (SE 0.010, z = 6.5: 51
    customers buy again only with the reminder, 3 only without it), a relative lift of
    +0.11% (95% interval +0.08% to +0.14%); seeds 2-4 give +0.09%, +0.13%, +0.14% (z 5.5 to
    6.8). Nowhere near +25%: in the model an opened info message changes no purchase
    probability; only a click (4% of SMS messages) adds a 7-day purchase lift, and an opened
    message resets the indifference clock (less indifference churn).

    Tolerance: customer i contributes the paired difference d_i = second_i(remind) -
    second_i(none) in {-1, 0, 1}; the pairs are (nearly) independent, so mean(d) has standard
    error sd(d) / sqrt(n). The test asserts only that the lift is positive by more than three
    of them. With k discordant pairs, nearly all going one way, z is about sqrt(k): the run
    has 54, so z = 6.5 leaves a wide margin over 3; the 25% is not asserted.
    """
    sc = default_scenario.with_overrides({"population.arrivals_per_day": 2000})
    remind = policy_from_dict(
        {
            "name": "remind",
            "campaigns": [
                {
                    "name": "next_purchase",
                    "type": "notification",
                    "channel": "sms",
                    "cadence": {"trigger": "predicted_next_purchase", "lead_days": 7},
                }
            ],
        },
        scenario=sc,
    )
    none = policy_from_dict({"name": "none"}, scenario=sc)
    start = pd.Timestamp(sc.calendar.start)
    second = {}
    for name, pol in (("remind", remind), ("none", none)):
        r = simulate(sc, pol, seed=1, customers=2000, days=365)
        c = r.customers
        arrived = c["customer_id"] >= r.summary["customers_start"]  # rows after the base
        new = c.loc[arrived, ["customer_id", "acquired_date"]]
        assert (new["acquired_date"] >= start).all()
        tx = r.transactions.merge(new, on="customer_id")
        again = set(tx.loc[tx["date"] > tx["acquired_date"], "customer_id"])
        second[name] = pd.Series(
            new["customer_id"].isin(again).to_numpy(float), index=new["customer_id"]
        )
        if name == "remind":
            assert r.summary["messages"]["by_campaign"]["next_purchase"]["delivered"] > 10_000
    a, b = second["remind"], second["none"]
    assert a.index.equals(b.index)  # the same new customers (common random numbers)
    d = (a - b).to_numpy()
    n = d.size
    se = d.std(ddof=1) / np.sqrt(n)
    assert n > 50_000
    assert d.mean() > 3 * se, (a.mean(), b.mean(), d.mean(), se)
