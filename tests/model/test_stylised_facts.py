"""Stylised facts of contact under the default scenario (fixed seeds, sampling-error tolerances).

Calibrations (the defaults were tuned to produce them; see docs/model.md §11):

- churn by cause under business-as-usual matches the seed study within 3 points;
- profit against days between promotional emails is an inverted U;
- a welcome journey lifts the 90-day retention of new customers.

Mechanism checks (against the same customers without the mechanism, or against the model):

- e-mail opens fall with fatigue as the response model says;
- over-contact adds unsubscribes and annoyance churn, no contact adds indifference churn;
- win-back brings back more lapsed customers than no win-back, and only a minority.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_sim import simulate
from retention_sim.config.policy import load_policy
from retention_sim.study.execution import Runner, RunTask

from ..conftest import ROOT

POLICIES = ROOT / "params" / "policies"
SEED_SHARES = {
    "death": 0.01,
    "relocation": 0.04,
    "friends": 0.05,
    "lifestyle": 0.08,
    "competitor": 0.15,
    "dissatisfaction": 0.20,
    "indifference": 0.47,
}


@pytest.fixture(scope="module")
def bau(default_scenario):
    return load_policy(POLICIES / "bau_default.yaml", scenario=default_scenario)


@pytest.fixture(scope="module")
def bau_runs(default_scenario, bau):
    return [simulate(default_scenario, bau, seed=s) for s in (101, 102)]


@pytest.mark.slow
def test_churn_by_cause_matches_the_seed_study(bau_runs):
    counts = {c: sum(r.summary["churn_by_cause"][c] for r in bau_runs) for c in SEED_SHARES}
    total = sum(r.summary["churned"] for r in bau_runs)
    assert total > 5000  # so that one share's sampling error is under one point
    for cause, target in SEED_SHARES.items():
        assert abs(counts[cause] / total - target) < 0.03, (cause, counts[cause] / total)
    annoyance = sum(r.summary["churn_by_cause"]["annoyance"] for r in bau_runs) / total
    assert annoyance < 0.03


def test_fatigue_lowers_email_opens_as_the_response_model_predicts(default_scenario):
    """Opens per delivered email fall under a daily cadence compared with a fortnightly one,
    by the factor ``exp(-fatigue_open_sensitivity * fatigue / tolerance)`` of docs/model.md §12.

    The published open rate is not used. The fortnightly run (almost no fatigue) measures the
    same customers' open rate. Each daily email's fatigue is rebuilt from the message log: every
    earlier delivered email adds ``fatigue_weight`` and decays by ``0.5^(1/half_life)`` a day.
    """
    from retention_sim import policy_from_dict

    email = default_scenario.channels["email"]
    sensitivity = default_scenario.responses.fatigue_open_sensitivity
    start = pd.Timestamp(default_scenario.calendar.start)

    def delivered(every_n_days):
        policy = policy_from_dict(
            {
                "name": f"email_every_{every_n_days}_days",
                "campaigns": [
                    {
                        "name": "promo",
                        "type": "notification",
                        "channel": "email",
                        "content": "info",
                        "cadence": {"every_n_days": every_n_days},
                    }
                ],
            },
            scenario=default_scenario,
        )
        r = simulate(
            default_scenario, policy, seed=51, customers=4000, days=120, record_messages=True
        )
        m = r.extras["messages"]
        m = m[m["outcome"].isin(["delivered", "opened", "clicked"])]
        m = m.assign(day=(m["date"] - start).dt.days).sort_values(["customer_id", "day"])
        day = m["day"].to_numpy(float)
        # fatigue before each email: sum over the customer's earlier emails of w * keep^(gap)
        keep = 0.5 ** (1.0 / email.fatigue_half_life_days)
        x = email.fatigue_weight * keep ** (-day)
        earlier = m.assign(x=x).groupby("customer_id")["x"].cumsum().to_numpy() - x
        tolerance = r.customers.set_index("customer_id")["fatigue_tolerance"]
        ratio = keep**day * earlier / tolerance.loc[m["customer_id"]].to_numpy()
        opened = m["outcome"].isin(["opened", "clicked"]).to_numpy()
        return opened, np.exp(-sensitivity * ratio)

    open_d, factor_d = delivered(1)
    open_f, factor_f = delivered(14)
    n_d, n_f = open_d.size, open_f.size
    base = open_f.mean() / factor_f.mean()  # open probability at zero fatigue
    p = base * factor_d  # predicted open probability of each daily email
    expected, observed = p.sum(), open_d.sum()
    # Sampling error: opens are independent draws given the deliveries (fatigue grows with each
    # delivery, opened or not). Var(observed) = sum p(1 - p). The estimate `base` carries the
    # fortnightly run's binomial error, relative variance (1 - q) / (n_f q), q its open share.
    # Both runs use the same counter-based draws, which correlates them positively, so treating
    # them as independent overstates the error.
    q = open_f.mean()

    def se(p, expected):
        return np.sqrt((p * (1 - p)).sum() + expected**2 * (1 - q) / (n_f * q))

    # 1. opens fall: the daily run opens fewer than its emails would at the fortnightly rate
    z_fall = (q * n_d - observed) / se(np.full(n_d, q), q * n_d)
    assert z_fall > 4, (observed / n_d, q, z_fall)
    # 2. by the amount the fatigue factor predicts
    z_model = (observed - expected) / se(p, expected)
    assert abs(z_model) < 3, (observed, expected, z_model, factor_d.mean())
    # measured (seed 51): 254,643 daily emails open at 13.6% against 21.9% fortnightly; mean
    # factor 0.598, 34,596 opens for 34,089 predicted (z_model 1.2, z_fall 32). A sensitivity of
    # 0.45 or 0.55 in place of 0.5 would give z_model -2.5 or +5.0.


@pytest.mark.slow
def test_profit_is_an_inverted_u_in_email_frequency(default_scenario, bau):
    gaps = (1, 3, 7, 14, 30, 90)
    seeds = (11, 12, 13)
    tasks = [
        RunTask(
            policy_name=f"every_{g}",
            replication=k,
            seed=s,
            scenario=default_scenario,
            policy=bau.with_overrides({"campaigns.0.cadence.every_n_days": g}),
            customers=10_000,
        )
        for k, s in enumerate(seeds)
        for g in gaps
    ]  # the same runs as simulate(..., seed=s) one by one, on the two-worker pool
    with Runner("processes", workers=2, progress=False) as runner:
        runs = runner.run(tasks)
    profit = np.array([r["metrics"]["profit"] for r in runs]).reshape(len(seeds), len(gaps))
    mean = profit.mean(axis=0)
    best = int(np.argmax(mean))
    assert 0 < best < len(gaps) - 1, dict(zip(gaps, mean, strict=True))
    # paired over seeds (common random numbers): the peak beats both ends clearly
    for end in (0, len(gaps) - 1):
        d = profit[:, best] - profit[:, end]
        assert d.mean() > 3 * d.std(ddof=1) / np.sqrt(len(seeds)), (gaps[end], d)


@pytest.mark.slow
def test_over_contact_and_no_contact(default_scenario, bau):
    blast = load_policy(POLICIES / "daily_blast.yaml", scenario=default_scenario)
    none = load_policy(POLICIES / "no_contact.yaml", scenario=default_scenario)
    kw = dict(seed=21, customers=10_000)
    b, x, n = (simulate(default_scenario, p, **kw).summary for p in (bau, blast, none))
    assert x["messages"]["unsubscribes"] > 3 * b["messages"]["unsubscribes"]
    ann_b, ann_x = b["churn_by_cause"]["annoyance"], x["churn_by_cause"]["annoyance"]
    assert ann_x > ann_b + 4 * np.sqrt(ann_x + ann_b)
    ind_b, ind_n = b["churn_by_cause"]["indifference"], n["churn_by_cause"]["indifference"]
    assert ind_n > ind_b + 4 * np.sqrt(ind_n + ind_b)


def _new_customer_retention(r, start, days=90, window=270):
    c = r.customers
    new = c[
        (c["acquired_date"] >= start) & (c["acquired_date"] < start + pd.Timedelta(days=window))
    ]
    gone = new["churn_date"].notna() & ((new["churn_date"] - new["acquired_date"]).dt.days < days)
    return int((~gone).sum()), len(new)


@pytest.mark.slow
def test_welcome_journey_lifts_early_retention(default_scenario, bau):
    sc = default_scenario.with_overrides({"population.arrivals_per_day": 200})
    without = bau.model_copy(
        update={"campaigns": [c for c in bau.campaigns if c.type != "journey"]}
    )
    start = pd.Timestamp(sc.calendar.start)
    kept_w = kept_o = n = 0
    for seed in (31, 32):
        a, na = _new_customer_retention(simulate(sc, bau, seed=seed, customers=5000), start)
        b, nb = _new_customer_retention(simulate(sc, without, seed=seed, customers=5000), start)
        assert na == nb  # common random numbers: the same arrivals under both policies
        kept_w, kept_o, n = kept_w + a, kept_o + b, n + na
    pw, po = kept_w / n, kept_o / n
    se = np.sqrt(pw * (1 - pw) / n + po * (1 - po) / n)
    assert pw - po > 3 * se, (pw, po, se)


@pytest.mark.slow
def test_win_back_reactivates_a_minority(default_scenario, bau):
    """The SMS win-back brings lapsed customers back beyond what they would do anyway, yet
    only a minority of them.

    Treatment: business as usual; control: the same policy without ``win_back_sms``, same
    seed, so the same customers with the same luck (common random numbers). The targeted
    customers are those the campaign first reaches at least 30 days before the horizon ends;
    a customer "comes back" with a purchase in the 30 days after that first message (a lapsed
    customer who buys is won back, docs/model.md §4), in either run, over the same window.

    Tolerance: each targeted customer gives a paired difference d_i in {-1, 0, 1}; the
    customers are (nearly) independent, so mean(d) has standard error sd(d) / sqrt(n), and the
    lift must exceed three of them. The treated share must stay below one half by three
    binomial standard errors. Measured (seed 41, 10,000 customers): 656 customers targeted,
    23.2% come back against 18.1% without the campaign, +5.0 points (SE 0.85, z = 5.9; 33
    customers come back only with the message, none only without it). With the SMS open rate
    at 0 the difference is exactly 0 (18.2% in both runs), so the test fails.
    """
    without = bau.model_copy(
        update={"campaigns": [c for c in bau.campaigns if c.name != "win_back_sms"]}
    )
    assert len(without.campaigns) == len(bau.campaigns) - 1
    kw = dict(seed=41, customers=10_000)
    r = simulate(default_scenario, bau, record_messages=True, **kw)
    control = simulate(default_scenario, without, **kw)
    log = r.extras["messages"]
    reached = log[
        (log["campaign"] == "win_back_sms")
        & log["outcome"].isin(["delivered", "opened", "clicked"])
    ]
    first = reached.groupby("customer_id")["date"].min().rename("sent")
    last_day = r.daily.index.max()
    first = first[first + pd.Timedelta(days=30) <= last_day]

    def came_back(result):
        tx = result.transactions.merge(first, left_on="customer_id", right_index=True)
        within = (tx["date"] > tx["sent"]) & (tx["date"] <= tx["sent"] + pd.Timedelta(days=30))
        return first.index.isin(tx.loc[within, "customer_id"]).astype(float)

    treated, untreated = came_back(r), came_back(control)
    n = treated.size
    d = treated - untreated
    se_d = d.std(ddof=1) / np.sqrt(n)
    share = treated.mean()
    assert n > 300
    assert d.mean() > 3 * se_d, (share, untreated.mean(), d.mean(), se_d)
    assert share + 3 * np.sqrt(share * (1 - share) / n) < 0.5, share
