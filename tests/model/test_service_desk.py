"""The service desk queue matches the M/M/c (Erlang C) mean wait when configured as one."""

from __future__ import annotations

import math

import numpy as np

from retention_sim.model.simulation import build_world, run_world

from ..conftest import plain_scenario


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of an M/M/c queue (same time unit as 1/lam)."""
    a = lam / mu
    rho = a / c
    s = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (s + top)
    return p_wait / (c * mu - lam)


def test_mean_wait_matches_erlang_c():
    n, c, mean_min, hours = 20_000, 3, 12.0, 8.0
    lam_per_hour = 0.8 * c * 60 / mean_min  # utilisation 0.8
    rate_per_year = lam_per_hour * hours * 365 / n
    sc = plain_scenario(
        population={
            "initial_customers": n,  # the desk is sized for this base (staff scale with it)
            "tenure": {"mean_years": 0},
            "segments": {
                "all": {
                    "share": 1.0,
                    "purchase_rate_per_year": {"mean": 4.0, "shape": 1.5},
                    "spend": {"mean_per_purchase": 100.0},
                    "frailty_shape": None,
                }
            },
        },
        service={
            "agents": c,
            "hours_per_day": hours,
            "service_time": {"distribution": "exponential", "mean_minutes": mean_min},
            "product_issue_rate_per_year": 0,
            "inquiry_rate_per_year": rate_per_year,
            "abandon_after_hours": 10_000,
        },
    )
    world = build_world(sc, seed=31, customers=n, days=730)
    mechanisms = run_world(world)
    a = world.service_log.arrays()
    day, wait = a["day"], a["wait_hours"]
    keep = day >= 30  # drop the warm-up month
    expected = erlang_c_wait(lam_per_hour, 60 / mean_min, c)
    # batch means over 30-day batches: waits are autocorrelated, batches nearly independent
    batches = np.array(
        [wait[keep & (day // 30 == b)].mean() for b in range(1, int(day.max()) // 30)]
    )
    se = batches.std(ddof=1) / np.sqrt(batches.size)
    assert abs(batches.mean() - expected) < 4 * se, (batches.mean(), expected, se)
    assert a["served"].all()
    assert mechanisms.desk.n_agents == c
    # the arrival rate is what was configured
    per_day = np.bincount(day, minlength=730)
    assert abs(per_day.mean() - lam_per_hour * hours) < 4 * np.sqrt(lam_per_hour * hours / 730)


def test_no_agents_means_requests_are_abandoned_and_satisfaction_falls():
    base = {
        "hours_per_day": 8,
        "product_issue_rate_per_year": 2.0,
        "inquiry_rate_per_year": 0,
        "contact_share": 1.0,
    }
    staffed = plain_scenario(service={**base, "agents": 20})
    empty = plain_scenario(service={**base, "agents": 0})
    from retention_sim import simulate

    a = simulate(staffed, seed=3, customers=3000)
    b = simulate(empty, seed=3, customers=3000)
    assert a.summary["service"]["abandoned_share"] == 0
    assert b.summary["service"]["abandoned_share"] == 1
    assert b.daily["unresolved_issues"].iloc[-1] > 0 == a.daily["unresolved_issues"].iloc[-1]
    assert b.summary["satisfaction_mean_end"] < a.summary["satisfaction_mean_end"]


def test_staff_scale_with_the_base(default_scenario):
    from retention_sim import simulate

    full = default_scenario.service.agents
    small = simulate(
        default_scenario,
        seed=1,
        customers=default_scenario.population.initial_customers // 4,
        days=5,
    )
    big = simulate(
        default_scenario,
        seed=1,
        customers=default_scenario.population.initial_customers * 3,
        days=5,
    )
    assert small.summary["service"]["agents"] == max(1, round(full / 4))
    assert big.summary["service"]["agents"] == 3 * full


def test_unresolved_issues_count_for_exactly_unresolved_days():
    """Silent issues opened on day d count in the daily steps of days d .. d+k-1 and are closed
    on day d+k; abandoned requests likewise from the moment they give up (no churn here, so
    every customer stays present and the daily count is a moving sum)."""
    from retention_sim import simulate

    k = 5
    silent = plain_scenario(
        service={
            "agents": 1,
            "product_issue_rate_per_year": 3.0,
            "inquiry_rate_per_year": 0,
            "contact_share": 0.0,  # nobody reports: every issue is silent
            "unresolved_days": k,
        }
    )
    r = simulate(silent, seed=8, customers=3000, days=60)
    opened = r.daily["product_issues"].to_numpy()
    counted = r.daily["unresolved_issues"].to_numpy()
    moving = np.convolve(opened, np.ones(k))[: opened.size]
    assert opened.sum() > 100 and np.array_equal(counted, moving)

    none = plain_scenario(service={**silent.service.model_dump(), "unresolved_days": 0})
    r0 = simulate(none, seed=8, customers=3000, days=60)
    assert r0.daily["product_issues"].sum() > 100 and (r0.daily["unresolved_issues"] == 0).all()

    abandoned = plain_scenario(
        service={
            "agents": 0,  # every reported issue is abandoned after its patience
            "hours_per_day": 8,
            "abandon_after_hours": 4,  # half a working day
            "product_issue_rate_per_year": 3.0,
            "inquiry_rate_per_year": 0,
            "contact_share": 1.0,
            "unresolved_days": k,
        }
    )
    r = simulate(abandoned, seed=8, customers=3000, days=60)
    opened = r.daily["product_issues"].to_numpy()
    counted = r.daily["unresolved_issues"].to_numpy()
    # an issue raised on day d at d + U(0,1) gives up half a day later, at t in [d+.5, d+1.5),
    # and counts on the k daily steps from ceil(t): surely on days d+2 .. d+k, possibly on
    # d+1 and d+k+1
    assert counted[0] == 0 and opened.sum() > 100
    surely = np.convolve(opened, np.ones(k - 1))  # [j-2]: raised on days j-k .. j-2
    possibly = np.convolve(opened, np.ones(k + 1))  # [j-1]: raised on days j-k-1 .. j-1
    j = np.arange(2, opened.size)
    assert (counted[j] >= surely[j - 2]).all() and (counted[j] <= possibly[j - 1]).all()
    assert (counted[j] > surely[j - 2]).any() and (counted[j] < possibly[j - 1]).any()
