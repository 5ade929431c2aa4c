"""Competitor churn: tier protection, the demotion effect, scheduled and random campaigns.

Competitor is the only churn cause in these runs. The population has no frailty
(``frailty_shape: null``), no ties and no service demand, so every present customer's
competitor hazard on day d is h × pressure(d) × tier multiplier × demotion multiplier, with
h = −ln(1 − annual_probability)/365 (docs/model.md §7.2–7.4). Clocks are Exp(1), so a customer
at risk on day d churns that day with probability 1 − exp(−hazard). Counts of churners are sums
of independent Bernoullis, and each tolerance below is 4 standard errors of such a sum. Seeds
are fixed.

Only the public interface is used (``simulate`` and the result frames).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from retention_sim import simulate

from ..conftest import all_causes_off, plain_scenario

# Every purchase reaches gold, so the starting base (a cohort acquired on day 0 with one
# purchase in the current window, §3.2) starts at gold, and a buyer is back at gold at once.
ALL_GOLD = [
    {"name": "member", "threshold_points": 0},
    {"name": "silver", "threshold_points": 1e-9},
    {"name": "gold", "threshold_points": 2e-9},
]


def _competitor_only(**competitor) -> dict:
    churn = all_causes_off()
    churn["causes"]["competitor"].update(competitor)
    return churn


def _daily_hazard(annual: float) -> float:
    return -np.log1p(-annual) / 365.0


def _at_risk(result, n0: int) -> np.ndarray:
    """Customers present at each day's churn step: the previous day's end count (no arrivals)."""
    end = result.daily["customers"].to_numpy()
    return np.concatenate([[n0], end[:-1]])


def test_gold_tier_protects_against_competitor_churn():
    n, days, annual = 20_000, 300, 0.3  # 300 days: no tier review (the window is 365 days)

    def run(gold):
        sc = plain_scenario(
            churn=_competitor_only(
                annual_probability=annual,
                tier_multiplier={"member": 1.0, "silver": 1.0, "gold": gold},
            ),
            loyalty={"enabled": True, "points_per_currency": 1.0, "tiers": ALL_GOLD},
        )
        return simulate(sc, seed=17, customers=n, days=days)

    h = _daily_hazard(annual)
    for gold in (0.2, 1.0):
        r = run(gold)
        # the design holds: the whole base is gold from day 0, nobody is demoted
        assert r.daily["tier_gold"].iloc[0] + r.daily["churned"].iloc[0] == n
        assert r.summary["tier_demotions"] == 0
        churned = r.summary["churn_by_cause"]["competitor"]
        p = -np.expm1(-gold * h * days)  # P(churn within the run) at hazard gold × h
        se = np.sqrt(n * p * (1 - p))  # binomial
        # measured: 1,114 against 1,139 expected (z −0.8) at 0.2; 5,013 against 5,082
        # (z −1.1) at 1.0. Ignoring the multiplier would give about 5,082 at 0.2 (z ≈ +120).
        assert abs(churned - n * p) < 4 * se, (gold, churned, n * p, se)


def test_a_recent_demotion_raises_competitor_churn():
    """demotion_multiplier 1.5 (the default) against 1.0, on the same seed.

    Windows of 60 days. The base starts at gold (ALL_GOLD). A customer who does not buy during a
    window is demoted to member at its review (days 59, 119, …). For the next 180 days their
    competitor hazard is × 1.5, and buying again restores gold but not the hazard. Tier
    multipliers are all 1, so only the demotion effect moves the hazard.
    """
    n, annual, w, memory = 20_000, 0.1, 60, 180

    def scenario(mult):
        return plain_scenario(
            churn=_competitor_only(
                annual_probability=annual, demotion_multiplier=mult, demotion_memory_days=memory
            ),
            loyalty={
                "enabled": True,
                "points_per_currency": 1.0,
                "tiers": ALL_GOLD,
                "qualification_window_days": w,
            },
        )

    base = simulate(scenario(1.0), seed=7, customers=n)
    demoted = simulate(scenario(1.5), seed=7, customers=n)
    assert demoted.daily["tier_gold"].iloc[0] + demoted.daily["churned"].iloc[0] == n
    assert demoted.summary["tier_demotions"] > 10_000

    # 1. Paired. Common random numbers give each customer the same clock and the same purchases
    # up to churn in both runs. The multiplier only raises hazards, so every churner of `base`
    # also churns under `demoted`, no later. The extra churners are a sum of independent
    # Bernoullis: SE ≈ √(discordant customers). Rough size: about 3.6 million customer-days in
    # the 180 days after a demotion × h (2.9e-4) × 0.5 ≈ 520. Measured: 1,945 → 2,459
    # (+514), z ≈ 23.
    n_base = base.summary["churn_by_cause"]["competitor"]
    n_dem = demoted.summary["churn_by_cause"]["competitor"]
    gone_base = base.customers.sort_values("customer_id")["churn_date"].notna().to_numpy()
    gone_dem = demoted.customers.sort_values("customer_id")["churn_date"].notna().to_numpy()
    discordant = int(np.sum(gone_base != gone_dem))
    assert discordant > 0 and (n_dem - n_base) / np.sqrt(discordant) > 4, (n_base, n_dem)

    # 2. Compensator. From the transactions, replay who is demoted when (§5: at the review of a
    # window without purchases, if still present). The expected number of competitor churners
    # is A = Σ over customer-days at risk of 1 − exp(−h·m), with variance V = Σ p(1 − p).
    # Measured: 2,459 against 2,502 (z −0.85). With the multiplier ignored the same
    # customer-days predict 1,980 (z +10.8).
    r = demoted
    start = r.daily.index[0]
    tx_day = (r.transactions["date"] - start).dt.days.to_numpy()
    tx_cid = r.transactions["customer_id"].to_numpy()
    cust = r.customers.sort_values("customer_id")
    churn_day = (cust["churn_date"] - start).dt.days.fillna(np.inf).to_numpy()
    h = _daily_hazard(annual)
    bought = np.zeros(n, dtype=bool)
    gold = np.ones(n, dtype=bool)
    demoted_day = np.full(n, -(10**6))
    a_mult, v_mult, a_flat = 0.0, 0.0, 0.0
    bounds = np.searchsorted(tx_day, np.arange(len(r.daily) + 1))
    for d in range(len(r.daily)):
        at_risk = churn_day >= d
        recent = (d - demoted_day[at_risk]) < memory
        p = -np.expm1(-h * np.where(recent, 1.5, 1.0))
        a_mult += p.sum()
        v_mult += (p * (1 - p)).sum()
        a_flat += -np.expm1(-h) * at_risk.sum()
        rows = tx_cid[bounds[d] : bounds[d + 1]]
        bought[rows] = True
        gold[rows] = True
        if (d + 1) % w == 0:
            down = gold & ~bought & (churn_day > d)  # churned today: gone before the review
            gold[down] = False
            demoted_day[down] = d
            bought[:] = False
    assert abs(n_dem - a_mult) < 4 * np.sqrt(v_mult), (n_dem, a_mult, v_mult)
    assert (n_dem - a_flat) / np.sqrt(v_mult) > 4, (n_dem, a_flat)


def test_a_scheduled_competitor_event_multiplies_churn_inside_its_window():
    n, annual, mult = 20_000, 0.2, 3.0
    start, length = dt.date(2026, 4, 1), 45
    sc = plain_scenario(
        churn=_competitor_only(
            annual_probability=annual,
            scheduled_events=[
                {
                    "name": "rival launch",
                    "start": start.isoformat(),
                    "days": length,
                    "multiplier": mult,
                }
            ],
        )
    )
    r = simulate(sc, seed=9, customers=n)
    dates = r.daily.index.date
    inside = (dates >= start) & (dates < start + dt.timedelta(days=length))
    assert inside.sum() == length
    pressure = r.daily["competitor_pressure"].to_numpy()
    assert (pressure[inside] == mult).all() and (pressure[~inside] == 1.0).all()
    churned = r.daily["churn_competitor"].to_numpy()
    risk = _at_risk(r, n)
    rate_in = churned[inside].sum() / risk[inside].sum()
    rate_out = churned[~inside].sum() / risk[~inside].sum()
    h = _daily_hazard(annual)
    expected = np.expm1(-mult * h) / np.expm1(-h)  # ratio of daily probabilities, ≈ mult
    # The log of a ratio of two Poisson-like rates has SE √(1/N_in + 1/N_out). Measured:
    # 1,546 churners in 45 days, 3,326 in the other 320. The ratio is 3.12 against 3.00
    # expected (z +1.3), and its log is 37 SE away from no effect.
    se = np.sqrt(1 / churned[inside].sum() + 1 / churned[~inside].sum())
    z = (np.log(rate_in / rate_out) - np.log(expected)) / se
    assert abs(z) < 4, (rate_in / rate_out, expected, z)
    assert np.log(rate_in / rate_out) / se > 4


def test_random_competitor_campaigns_raise_churn_on_their_days():
    n, annual, mult = 20_000, 0.2, 3.0
    sc = plain_scenario(
        churn=_competitor_only(
            annual_probability=annual, events_per_year=6, event_days=21, event_multiplier=mult
        )
    )
    r = simulate(sc, seed=13, customers=n)
    pressure = r.daily["competitor_pressure"].to_numpy()
    running = np.log(pressure) / np.log(mult)  # campaigns running each day
    assert np.allclose(running, np.round(running)) and (running > 0).sum() >= 21
    # Compensator on the logged pressure: the expected churners are Σ_d risk_d·(1 − exp(−h·π_d)),
    # the variance is the matching Σ p(1 − p). Measured (2 campaigns, 42 days): 4,804 against
    # 4,793 (z +0.2). Without the pressure the prediction is 3,904 (z +13).
    h = _daily_hazard(annual)
    risk = _at_risk(r, n)
    p = -np.expm1(-h * pressure)
    expected, se = (risk * p).sum(), np.sqrt((risk * p * (1 - p)).sum())
    churned = r.summary["churn_by_cause"]["competitor"]
    assert abs(churned - expected) < 4 * se, (churned, expected, se)
    flat = risk.sum() * -np.expm1(-h)
    assert (churned - flat) / se > 4, (churned, flat)


def test_random_competitor_campaigns_arrive_at_the_configured_rate():
    years, per_year, length, mult = 20, 6, 21, 3.0
    sc = plain_scenario(
        churn=_competitor_only(events_per_year=per_year, event_days=length, event_multiplier=mult)
    )
    r = simulate(sc, seed=0, customers=20, days=365 * years)
    running = np.log(r.daily["competitor_pressure"].to_numpy()) / np.log(mult)
    # Each campaign is seen by exactly `length` daily steps, so campaign-days / length counts
    # the campaigns (a last one cut by the horizon counts in part). The count is
    # Poisson(per_year × years = 120), SD √120 ≈ 11. Measured: 113 (z −0.6).
    campaigns = running.sum() / length
    assert abs(campaigns - per_year * years) < 4 * np.sqrt(per_year * years), campaigns
