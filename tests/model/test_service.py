"""What the service desk does to customers: account managers shorten their customers' waits, and
long waits raise dissatisfaction churn (docs/model.md §9 and §7.3).

Each comparison runs one seed under two staffings, so both runs have the same customers and the
same luck (common random numbers, §2). In the first nobody churns, and both runs draw the same
requests (customers, days, arrival moments, service times). In the second each customer has the
same churn clock under either staffing; only the hazard that runs it down differs. The
differences are therefore paired, and their sampling errors are those of paired differences.
"""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim import simulate

from ..conftest import all_causes_off, plain_scenario

TOP_SHARE = 0.05


def _population(n: int) -> dict:
    return {
        "initial_customers": n,
        "arrivals_per_day": 0,
        "tenure": {"mean_years": 0},
        "segments": {
            "all": {
                "share": 1.0,
                "purchase_rate_per_year": {"mean": 4.0, "shape": 1.5},
                "spend": {"mean_per_purchase": 100.0, "p": 6, "q": 4},
                "frailty_shape": None,
            }
        },
    }


def _busy_desk(managers: int):
    """5,000 customers and no churn. Inquiries come at 5 a year each, about 68 a day, with
    12-minute exponential service. Two agents over 8 hours are about 85% busy (M/M/2 mean wait
    about 0.5 h). One manager, if any, serves the top 5% (250 customers), about 4% busy (M/M/1
    mean wait about 0.02 h)."""
    return plain_scenario(
        population=_population(5000),
        service={
            "agents": 2,
            "hours_per_day": 8,
            "service_time": {"distribution": "exponential", "mean_minutes": 12},
            "product_issue_rate_per_year": 0,
            "inquiry_rate_per_year": 5.0,
            "abandon_after_hours": 10_000,  # no abandonment: a wait is the whole time in queue
            "account_managers": {"count": managers, "top_share": TOP_SHARE},
        },
    )


def _service_log(scenario, seed: int):
    """Per-request log and account-manager flags of one run.

    This is the only place that uses the engine's internals: the public results give the
    desk's waits only in aggregate (``summary["service"]``, the daily mean), not per customer.
    """
    from retention_sim.model.simulation import build_world, run_world

    world = build_world(scenario, seed=seed)
    run_world(world)
    return world.service_log.arrays(), world.pop.has_account_manager.copy()


def test_account_managers_shorten_their_customers_waits():
    seed, batch_days, days = 1, 15, 365
    with_sc, without_sc = _busy_desk(managers=1), _busy_desk(managers=0)
    log_with, flagged = _service_log(with_sc, seed)
    log_without, flagged_without = _service_log(without_sc, seed)
    assert flagged.sum() == round(TOP_SHARE * 5000) and not flagged_without.any()

    # the log read here is what the public summary reports
    for sc, log, managers in ((with_sc, log_with, 1), (without_sc, log_without, 0)):
        svc = simulate(sc, seed=seed).summary["service"]
        assert svc["account_managers"] == managers and svc["agents"] == 2
        assert svc["requests"] == log["day"].size
        assert svc["mean_wait_hours"] == pytest.approx(log["wait_hours"].mean(), rel=1e-9)

    # same requests in both runs (only requests still in service at the horizon can differ)
    def requests(log):
        keep = log["day"] < days - 1
        return sorted(
            zip(log["customer_id"][keep].tolist(), log["day"][keep].tolist(), strict=True)
        )

    assert requests(log_with) == requests(log_without)

    def top_batch_means(log):
        top = flagged[log["customer_id"]]
        batch = log["day"] // batch_days
        return np.array(
            [log["wait_hours"][top & (batch == b)].mean() for b in range(days // batch_days)]
        )

    with_m, without_m = top_batch_means(log_with), top_batch_means(log_without)
    # Sampling error: waits are correlated within a busy period (hours at 85% load), so
    # 15-day batch means of the top customers' waits (24 batches, about 50 requests each) are
    # nearly independent. The paired batch differences give the standard error.
    d = without_m - with_m
    se = d.std(ddof=1) / np.sqrt(d.size)
    z = d.mean() / se if se > 0 else 0.0  # se 0: identical waits in both runs
    assert z > 4, (with_m.mean(), without_m.mean(), se)
    # measured (seed 1): 0.48 h without managers, 0.015 h with; se 0.057 h; z 7.9


def _dissatisfaction_only(agents: int, *, wait_penalty: float, per_unresolved: float):
    """4,000 customers, dissatisfaction the only churn cause. Every product issue (3 a year
    each, all reported) needs 20 minutes of an agent. That is about 11 h of work a day: one
    8-hour agent is overloaded (waits reach the 16-hour patience, a fifth of the issues are
    abandoned and stay unresolved), twenty are hardly ever busy.

    ``recovery_gain`` is 0, so a quick answer adds nothing to satisfaction. Waiting then reaches
    dissatisfaction churn only through the wait penalty and unresolved issues. Indifference (which
    quick answers also touch) is off, so no other cause competes for the same customers.
    """
    churn = all_causes_off()
    churn["causes"]["dissatisfaction"] = {
        "annual_probability": 0.10,
        "satisfaction_sensitivity": 4.0,
        "per_unresolved_issue": per_unresolved,
    }
    return plain_scenario(
        population=_population(4000),
        churn=churn,
        service={
            "agents": agents,
            "hours_per_day": 8,
            "service_time": {"distribution": "exponential", "mean_minutes": 20},
            "product_issue_rate_per_year": 3.0,
            "contact_share": 1.0,
            "inquiry_rate_per_year": 0,
            "quick_resolution_hours": 2,
            "recovery_gain": 0.0,
            "wait_penalty_per_hour": wait_penalty,
            "abandon_after_hours": 16,
            "unresolved_days": 60,
        },
    )


def _few_and_many(seed: int, **channel):
    few = simulate(_dissatisfaction_only(1, **channel), seed=seed)
    many = simulate(_dissatisfaction_only(20, **channel), seed=seed)
    cf, cm = few.customers, many.customers
    assert cf["customer_id"].equals(cm["customer_id"])  # the same customers in both runs
    left_f = (cf["churn_cause"] == "dissatisfaction").to_numpy()
    left_m = (cm["churn_cause"] == "dissatisfaction").to_numpy()
    assert left_f.sum() == few.summary["churn_by_cause"]["dissatisfaction"]
    assert left_m.sum() == many.summary["churn_by_cause"]["dissatisfaction"]
    return few, many, left_f, left_m


@pytest.mark.parametrize(
    "channel",
    [
        {"wait_penalty": 0.01, "per_unresolved": 1.5},  # the defaults: both channels
        {"wait_penalty": 0.01, "per_unresolved": 0.0},  # satisfaction lost while waiting only
        {"wait_penalty": 0.0, "per_unresolved": 1.5},  # abandoned issues left unresolved only
    ],
    ids=["both", "wait_penalty", "unresolved_issues"],
)
def test_waiting_raises_dissatisfaction_churn(channel):
    few, many, left_f, left_m = _few_and_many(7, **channel)
    sf, sm = few.summary["service"], many.summary["service"]
    # what the staffing does to the desk: long waits and abandonment, or neither
    assert sf["mean_wait_hours"] > 8 and sf["abandoned_share"] > 0.1
    assert sm["mean_wait_hours"] < 0.1 and sm["abandoned_share"] == 0
    # Paired comparison (McNemar): b customers churn for dissatisfaction only with one agent,
    # c only with twenty. The paired difference b - c has standard error sqrt(b + c).
    b = int((left_f & ~left_m).sum())
    c = int((~left_f & left_m).sum())
    z = (b - c) / np.sqrt(max(b + c, 1))
    assert z > 4, (left_f.sum(), left_m.sum(), b, c)
    # measured (seed 7), one agent vs twenty: both 961 vs 583 (z 19), wait penalty only 844 vs
    # 583 (z 16), unresolved issues only 690 vs 583 (z 10); c = 0 in all three


def test_waiting_leaves_dissatisfaction_churn_alone_once_both_channels_are_cut():
    """The negative control of the test above: with no wait penalty and no unresolved-issue
    term, the desk cannot change anyone's dissatisfaction hazard. The same customers then
    churn on the same days under either staffing, although the desk still has long waits."""
    few, many, left_f, left_m = _few_and_many(7, wait_penalty=0.0, per_unresolved=0.0)
    assert few.summary["service"]["abandoned_share"] > 0.1
    assert left_f.sum() > 100 and np.array_equal(left_f, left_m)
    assert few.customers["churn_date"].equals(many.customers["churn_date"])
