"""Enrolment in the loyalty programme (docs/model.md §5, "Enrolment"): who is a member on day 0
and on arrival, the daily base rate, the messages that enrol, programme complexity, and what
a non-member does not get (points, tiers, reward effects).

The scenarios have no churn, no ties and no service demand, so customers do not interact and
the counts are sums of independent Bernoulli draws: each statistical check is a z-score against
the probability the docs give, with its standard error worked out from those draws.
"""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim import policy_from_dict, simulate
from retention_sim.config.policy import Audience
from retention_sim.model.build import build_world
from retention_sim.model.contacts.audience import audience_mask
from retention_sim.model.rfm import RfmSegments

from ..conftest import plain_scenario

PROGRAMME = {
    "enabled": True,
    "points_per_currency": 0.5,
    "point_value": 3.0,
    "redemption_points": 400,
    "tiers": [
        {"name": "member", "threshold_points": 0},
        {"name": "silver", "threshold_points": 300},
    ],
    "goal_gradient": 0.2,
    "post_reward_dip": 0.2,
}
QUIET = {"rate_per_year": 0.0, "per_message": 0.0, "per_programme_message": 0.0}
#: One channel everybody consented to, which never loses anyone (no unsubscribes).
EMAIL = {
    "email": {
        "consent_share": 1.0,
        "cost_per_message": 1.0,
        "open_rate": 0.2,
        "click_rate": 0.02,
        "unsubscribe_rate": 0.0,
        "complaint_rate": 0.0,
    }
}


def _scenario(enrolment, *, n=4000, per_day=0.0, years=0.0, loyalty=None, **sections):
    seg = {
        "share": 1.0,
        "purchase_rate_per_year": {"mean": 12.0, "shape": 1.5},
        "spend": {"mean_per_purchase": 100.0, "p": 6, "q": 4},
        "frailty_shape": None,
    }
    return plain_scenario(
        population={
            "initial_customers": n,
            "arrivals_per_day": per_day,
            "tenure": {"mean_years": years},
            "segments": {"all": seg},
        },
        loyalty={**PROGRAMME, **(loyalty or {}), "enrolment": enrolment},
        **sections,
    )


def _z(observed: float, p: np.ndarray | float, n: np.ndarray | float) -> float:
    """z of a sum of Binomial(n_k, p_k) counts against its expectation."""
    e = np.sum(np.asarray(n) * p)
    v = np.sum(np.asarray(n) * p * (1 - np.asarray(p)))
    return float((observed - e) / np.sqrt(v))


def test_a_share_of_the_base_and_of_the_arrivals_is_enrolled():
    e = {"initial_share": 0.3, "arrival_share": 0.8, "complexity": 0.25, **QUIET}
    sc = _scenario(e, n=6000, per_day=40.0, years=3.0)
    world = build_world(sc, seed=41, days=60)
    everyone = build_world(_scenario(None, n=6000, per_day=40.0, years=3.0), seed=41, days=60)
    pop, ref = world.pop, everyone.pop
    n0 = pop.n_initial
    base, arrivals = pop.enrolled[:n0], pop.enrolled[n0:]
    # binomial shares: the base's is initial_share; an arrival's is arrival_share × (1 − 0.25)
    assert abs(_z(base.sum(), 0.3, n0)) < 4
    assert abs(_z(arrivals.sum(), 0.8 * 0.75, arrivals.size)) < 4 and arrivals.size > 2000
    # non-members hold nothing; members keep what their history gave them (the population's
    # draws are the same with and without enrolment)
    out = ~pop.enrolled
    assert (pop.points[out] == 0).all() and (pop.tier[out] == 0).all()
    np.testing.assert_array_equal(pop.points[pop.enrolled], ref.points[pop.enrolled])
    np.testing.assert_array_equal(pop.tier[pop.enrolled], ref.tier[pop.enrolled])
    assert (ref.tier[:n0][~base] > 0).sum() > 100  # some non-members lost a tier
    assert ref.enrolled.all()


def test_non_members_earn_no_points_and_feel_no_reward_effect():
    e = {"initial_share": 0.5, "arrival_share": 0.5, **QUIET}
    flat = _scenario(e, n=0, per_day=20.0, loyalty={"goal_gradient": 0.0, "post_reward_dip": 0})
    steep = _scenario(e, n=0, per_day=20.0, loyalty={"goal_gradient": 2.0, "post_reward_dip": 0})
    a, b = simulate(flat, seed=42), simulate(steep, seed=42)
    cust = b.customers.sort_values("customer_id")
    member = cust["enrolled"].to_numpy()
    assert 0.45 < member.mean() < 0.55
    # points: the members' spend × points_per_currency, nothing for the others
    tx = b.transactions
    by_member = member[tx["customer_id"].to_numpy()]
    issued = b.daily["points_issued"].sum()
    assert issued == pytest.approx(tx["amount"][by_member].sum() * 0.5, rel=1e-12)
    assert (cust["points"].to_numpy()[~member] == 0).all()
    assert (cust["tier"].to_numpy()[~member] == "member").all()
    # the goal gradient moves members only: on the same seed a non-member buys exactly as
    # often with and without it (their multiplier is 1), members buy more (paired z ≈ 43)
    pa = a.customers.sort_values("customer_id")["purchases"].to_numpy()
    pb = cust["purchases"].to_numpy()
    np.testing.assert_array_equal(pa[~member], pb[~member])
    diff = (pb - pa)[member].astype(float)
    assert diff.mean() / (diff.std(ddof=1) / np.sqrt(diff.size)) > 10


@pytest.mark.parametrize("complexity", [0.0, 0.6])
def test_non_members_join_at_the_base_rate_lowered_by_complexity(complexity):
    rate = 3.65  # about 1% a day
    e = {**QUIET, "initial_share": 0.2, "rate_per_year": rate, "complexity": complexity}
    r = simulate(_scenario(e, n=20_000), seed=43, days=120)
    members = r.daily["loyalty_members"].to_numpy()
    joined = r.daily["enrolments"].to_numpy()
    start = r.summary["loyalty_members_start"]
    np.testing.assert_array_equal(np.diff(np.concatenate([[start], members])), joined)
    # each day the non-members of the evening before join with p = 1 − exp(−rate·(1 − c)/365)
    p = -np.expm1(-rate * (1 - complexity) / 365)
    before = 20_000 - np.concatenate([[start], members[:-1]])
    z = _z(joined.sum(), p, before)
    assert abs(z) < 4, z  # measured 0.8 and 2.4; ignoring complexity would give −73
    assert joined.sum() > 2000 if complexity == 0 else joined.sum() > 1000
    assert r.summary["enrolments"] == joined.sum() and r.summary["enrolments_by_message"] == 0


def _weekly(content: str) -> dict:
    return {
        "name": f"weekly_{content}",
        "campaigns": [
            {
                "name": "news",
                "type": "notification",
                "channel": "email",
                "content": content,
                "cadence": {"every": "weekly", "weekday": "mon"},
            }
        ],
    }


@pytest.mark.parametrize(("content", "per"), [("info", 0.01), ("reward", 0.05)])
def test_a_delivered_message_enrols_a_non_member(content, per):
    """Every customer gets the Monday message (full consent, no guardrails, nobody leaves), so
    on a Monday the non-members of the evening before each join with per × (1 − complexity):
    ``per_message`` for an info message, ``per_programme_message`` for a reward message."""
    e = {
        "initial_share": 0.2,
        "rate_per_year": 0.0,
        "per_message": 0.01,
        "per_programme_message": 0.05,
        "complexity": 0.2,
    }
    sc = _scenario(e, n=10_000, channels=EMAIL)
    r = simulate(sc, policy_from_dict(_weekly(content), scenario=sc), seed=44, days=120)
    d = r.daily
    sent = d["messages_delivered"].to_numpy()
    mondays = np.flatnonzero(sent > 0)
    assert len(mondays) == 17 and (sent[mondays] == 10_000).all()
    by_message = d["enrolments_by_message"].to_numpy()
    assert set(np.flatnonzero(by_message)) <= set(mondays.tolist())
    members = d["loyalty_members"].to_numpy()
    before = 10_000 - np.concatenate([[r.summary["loyalty_members_start"]], members[:-1]])
    z = _z(by_message.sum(), per * 0.8, before[mondays])
    assert abs(z) < 4, z  # measured 0.5 and −1.3; the other content's probability: −58, +111
    assert by_message.sum() > 800


def test_the_base_rate_draws_are_the_same_under_every_policy():
    """Common random numbers: a customer's daily enrolment luck is keyed on them and the day,
    so a policy whose messages enrol nobody leaves the same members on the same days."""
    e = {"initial_share": 0.3, "rate_per_year": 2.0, "per_message": 0.0, "per_programme_message": 0}
    sc = _scenario(e, n=3000, channels=EMAIL)
    quiet = simulate(sc, seed=45, days=90)
    loud = simulate(sc, policy_from_dict(_weekly("info"), scenario=sc), seed=45, days=90)
    assert loud.summary["messages"]["delivered"] > 30_000
    np.testing.assert_array_equal(quiet.daily["loyalty_members"], loud.daily["loyalty_members"])
    np.testing.assert_array_equal(
        quiet.customers.sort_values("customer_id")["enrolled"],
        loud.customers.sort_values("customer_id")["enrolled"],
    )


def test_a_tier_audience_leaves_non_members_out():
    sc = _scenario({"initial_share": 0.5, **QUIET}, n=2000)
    world = build_world(sc, seed=46, days=10)
    pop = world.pop
    rows = np.arange(pop.capacity)
    kw = {"rfm": RfmSegments(pop.capacity), "members": np.zeros(pop.capacity, dtype=bool)}
    tier0 = audience_mask(pop, Audience(tiers=["member"]), rows, 0, **kw)
    # every non-member sits at tier 0 with no points, yet none is in the tier-0 audience
    assert (pop.tier[~pop.enrolled] == 0).all() and (~pop.enrolled).sum() > 900
    np.testing.assert_array_equal(tier0, (pop.tier == 0) & pop.enrolled)
    assert audience_mask(pop, Audience(), rows, 0, **kw).all()
