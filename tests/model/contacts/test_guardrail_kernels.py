"""The compiled guardrails, window counters, delivery tally and purchase boost against their
NumPy references, on random states, and whole runs with and without the kernels.

From the same state, each pair must give the same results (the rows each check refuses, in
the order the refusals are told; each message's number of the day; the purchase multipliers
to the last bit) and leave the same state (every counter, bucket and sum to the last bit).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_sim import load_policy, load_scenario, policy_from_dict, simulate
from retention_sim.model import kernels
from retention_sim.model.build import build_world
from retention_sim.model.contacts.guardrails import REFUSAL_REASONS
from retention_sim.model.contacts.responses import Responses
from retention_sim.model.simulation import assemble, run_world
from retention_sim.vocabulary import CHANNELS, NEVER

from ...conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")

#: Every guardrail, biting: caps (rolling, calendar, on one type), a gap, a quiet day, holdout,
#: frequency classes that skip the saturated, a budget; a deferring campaign, the preferred
#: channel, and a membership (the purchase boost).
BITING = {
    "name": "biting",
    "campaigns": [
        {"name": "daily_email", "type": "notification", "channel": "email",
         "cadence": {"every_n_days": 1}, "priority": 10},
        {"name": "sms_offer", "type": "notification_with_offer", "channel": "sms",
         "cadence": {"every_n_days": 2}, "offer": {"discount": 0.1, "valid_days": 10},
         "priority": 20, "on_refusal": "defer", "max_delay_days": 2},
        {"name": "push_offer", "type": "notification", "channel": "push", "content": "offer",
         "cadence": "weekly", "priority": 30},
        {"name": "thanks", "type": "thank_you", "channel": "preferred", "priority": 90},
        {"name": "bday", "type": "birthday", "channel": "zalo", "offer": {"gift_value": 1000}},
    ],
    "guardrails": {
        "caps": [
            {"channel": "any", "max": 5, "window_days": 7, "window": "rolling"},
            {"channel": "email", "max": 12, "window_days": 30, "window": "calendar"},
            {"channel": "any", "max": 2, "window_days": 7, "message_type": "offer"},
            {"channel": "sms", "max": 3, "window_days": 30},
        ],
        "min_gap_hours": {"sms": 72},
        "quiet_weekdays": ["sun"],
        "holdout_share": 0.1,
        "skip_saturated": True,
    },
    "frequency": {"saturated_at": 10, "undersaturated_below": 3, "min_open_share": 0.15},
    "monthly_budget": 3_000_000,
    "programmes": {"membership": {"fee_per_year": 200_000, "join_share": 0.2}},
}  # fmt: skip

DAY = 20  # a Wednesday (the default scenario starts on Thursday 1 January 2026)


def _run(seed: int, policy: dict | str = BITING):
    """A run of 3000 customers stopped after 20 days, kernels off."""
    sc = load_scenario(SCENARIOS / "default.yaml")
    if isinstance(policy, str):
        pol = load_policy(POLICIES / f"{policy}.yaml", scenario=sc)
    else:
        pol = policy_from_dict(policy, scenario=sc)
    world = build_world(sc, seed=seed, customers=3000, days=DAY + 1)
    mech = assemble(world, pol)
    run_world(world, mech)
    return world, mech


def _scramble(world, g, rng):
    """Consent, unsubscribes, holdout, last sends (some today), messages today, every window
    count around its cap and every bucket, frequency counts around their thresholds, a
    channel the scenario lacks, and a budget that runs out within a send."""
    pop, n = world.pop, world.pop.capacity
    shape = pop.consent.shape
    pop.consent[:] = rng.random(shape) < 0.85
    pop.unsubscribed[:] = rng.random(shape) < 0.05
    g.holdout[:] = rng.random(n) < 0.05
    g.has_channel[CHANNELS.index("phone")] = False
    g.last_sent[:] = np.where(rng.random(shape) < 0.6, rng.integers(DAY - 4, DAY + 1, shape), NEVER)
    g.sent_count[:] = rng.integers(0, 3, shape)
    cap_max = g.cap_max[:, None]
    g.windows.count[:] = rng.integers(0, cap_max + 2, g.windows.count.shape)
    g.windows.buckets[:] = rng.integers(0, 3, g.windows.buckets.shape)
    f = g.frequency.bank
    f.count[0] = rng.integers(0, 14, n)
    f.count[1] = rng.integers(0, f.count[0] + 1)
    f.buckets[:] = rng.integers(0, 2, f.buckets.shape)
    g.budget_spent = g.budget - 100 * float(rng.integers(200, 400))


def _send(world, rng, size=2500):
    """Unique rows in random order, on random channels (-1: none, as ``preferred`` gives)."""
    rows = rng.choice(world.pop.capacity, size=size, replace=False)
    ch = rng.integers(-1, len(CHANNELS), size)
    return rows, ch


def _screens(g, rows, ch, day, content):
    """The reference's and the kernel's allowed masks and the refusals each told (reason and
    rows, in order; the reference tells empty ones too, which change nothing)."""
    out = []
    for screen in (g.screen_reference, g.screen_compiled):
        told: list[tuple[int, np.ndarray]] = []
        ok = screen(rows, ch, day, lambda m, r, told=told: told.append((r, m.copy())), content)
        out.append((ok, [(r, np.flatnonzero(m)) for r, m in told if m.any()]))
    return out


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("content", ["info", "offer", None])
def test_the_screen_kernel_refuses_what_the_reference_refuses(seed, content):
    world, mech = _run(seed)
    g = mech.contacts.guardrails
    rng = np.random.default_rng(seed)
    _scramble(world, g, rng)
    rows, ch = _send(world, rng)
    (ok_r, told_r), (ok_c, told_c) = _screens(g, rows, ch, DAY, content)
    np.testing.assert_array_equal(ok_c, ok_r)
    assert [r for r, _ in told_c] == [r for r, _ in told_r]
    for (_, a), (_, b) in zip(told_c, told_r, strict=True):
        np.testing.assert_array_equal(a, b)
    reasons = {REFUSAL_REASONS[r] for r, _ in told_r}
    caps = 1 if content == "offer" else 3  # the typed cap limits offers, the others the rest
    assert reasons == set(REFUSAL_REASONS) - {"quiet_day"}  # every check refuses some
    assert sum(r == REFUSAL_REASONS.index("capped") for r, _ in told_r) == caps
    assert 100 < ok_r.sum() < rows.size - 100


def test_on_a_quiet_day_the_kernel_refuses_what_the_reference_refuses():
    world, mech = _run(3)
    g = mech.contacts.guardrails
    rng = np.random.default_rng(3)
    _scramble(world, g, rng)
    rows, ch = _send(world, rng)
    sunday = 17
    (ok_r, told_r), (ok_c, told_c) = _screens(g, rows, ch, sunday, "info")
    assert not ok_r.any() and not ok_c.any()
    assert [(r, m.tolist()) for r, m in told_c] == [(r, m.tolist()) for r, m in told_r]
    assert REFUSAL_REASONS[told_r[-1][0]] == "quiet_day"


def _state(g):
    f = g.frequency.bank
    arrays = (g.last_sent, g.sent_count, g.windows.count, g.windows.buckets, f.count, f.buckets)
    return [a.copy() for a in arrays] + [g.budget_spent]


def _restore(g, state):
    f = g.frequency.bank
    arrays = (g.last_sent, g.sent_count, g.windows.count, g.windows.buckets, f.count, f.buckets)
    for a, s in zip(arrays, state, strict=False):
        a[:] = s
    g.budget_spent = state[-1]


@pytest.mark.parametrize("content", ["info", "offer", "reward"])
def test_the_count_kernel_counts_what_the_reference_counts(content):
    world, mech = _run(4)
    g = mech.contacts.guardrails
    rng = np.random.default_rng(4)
    _scramble(world, g, rng)
    rows, ch = _send(world, rng, 3000)
    rows, ch = rows[ch >= 0], ch[ch >= 0]  # delivered messages have a channel
    start = _state(g)
    nth_r = g.count_reference(DAY, rows, ch, 1234.5, content)
    after_r = _state(g)
    _restore(g, start)
    nth_c = g.count_compiled(DAY, rows, ch, 1234.5, content)
    after_c = _state(g)
    assert nth_c.dtype == nth_r.dtype == np.int64
    np.testing.assert_array_equal(nth_c, nth_r)
    assert nth_r.max() >= 2  # some customers had messages on that channel today
    for a, b in zip(after_c, after_r, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(after_r[2], start[2]) and not np.array_equal(after_r[4], start[4])


def test_the_roll_kernel_rolls_the_windows_as_the_reference_does():
    world, mech = _run(5)
    g = mech.contacts.guardrails
    rng = np.random.default_rng(5)
    _scramble(world, g, rng)
    banks = (g.windows, g.frequency.bank)
    start = [(b.count.copy(), b.buckets.copy()) for b in banks]
    periods = [c.period for c in g.windows.counters]
    ends = []
    for compiled in (False, True):
        for b, (count, buckets) in zip(banks, start, strict=True):
            b.count[:], b.buckets[:], b.compiled = count, buckets, compiled
        for c, p in zip(g.windows.counters, periods, strict=True):
            c.period = p
        day_rng = np.random.default_rng(6)
        for day in range(DAY + 1, DAY + 45):  # past a calendar month's end
            for b in banks:
                b.new_day(day)
                for c in b.counters:
                    c.add(day, day_rng.choice(b.count.shape[1], 500, replace=False))
        ends.append([(b.count.copy(), b.buckets.copy()) for b in banks])
    for (count_r, buckets_r), (count_c, buckets_c) in zip(*ends, strict=True):
        np.testing.assert_array_equal(count_c, count_r)
        np.testing.assert_array_equal(buckets_c, buckets_r)


@pytest.mark.parametrize("seed", [7, 8])
def test_the_boost_kernel_gives_the_references_multipliers_to_the_last_bit(seed):
    world, mech = _run(seed)
    engine = mech.contacts
    offers, membership = engine.offers, engine.membership
    rng = np.random.default_rng(seed)
    n = world.pop.capacity
    offers.offer_until[:] = rng.integers(DAY - 5, DAY + 5, n)
    offers.offer_discount[:] = rng.choice([0.0, 0.05, 0.1, 0.15, 0.3], n) * rng.random(n)
    offers.click_until[:] = rng.integers(DAY - 3, DAY + 3, n)
    world.pop.discount_sensitivity[:] = rng.exponential(1.0, n).astype(np.float32)
    membership.members[:] = rng.random(n) < 0.3
    # lifts whose products round (the scenario's 4.0 and 1.0 are exact in any type)
    offers.resp = offers.resp.model_copy(
        update={"offer_purchase_lift": 3.7, "click_purchase_lift": 0.31}
    )
    for m in (membership, None):
        ref = offers.purchase_boost_reference(DAY, m)
        got = offers.purchase_boost_compiled(DAY, m)
        assert got.dtype == ref.dtype == np.float64
        np.testing.assert_array_equal(got.view(np.uint64), ref.view(np.uint64))
        assert np.unique(ref).size > n // 4


@pytest.mark.parametrize("seed", [9, 10])
def test_the_tally_kernel_books_what_the_reference_books(seed):
    world, mech = _run(seed, "bau_default")
    ledger = mech.contacts.ledger
    rng = np.random.default_rng(seed)
    size = 4000
    ch = rng.integers(0, len(CHANNELS), size)
    cost = rng.random(size) * 1000.0  # the order of a float sum shows in its last bits
    masks = [rng.random(size) < p for p in (0.3, 0.1, 0.05, 0.02, 0.3, 0.01)]
    r = Responses(*masks)
    start = rng.random(ledger.stats[0].shape) * 1e6
    out = []
    for compiled in (False, True):
        ledger.compiled = compiled
        st = start.copy()
        out.append((ledger.tally(st, ch, cost, r), st))
    (counts_r, st_r), (counts_c, st_c) = out
    np.testing.assert_array_equal(counts_c, counts_r)
    np.testing.assert_array_equal(st_c.view(np.uint64), st_r.view(np.uint64))


def test_the_ledger_kernels_book_refusals_and_costs_as_the_reference_does():
    world, mech = _run(11, "bau_default")
    ledger, log, pv = mech.contacts.ledger, world.log, world.pop.pv_contribution
    rng = np.random.default_rng(11)
    rows, ch = _send(world, rng, 3000)
    masks = [rng.random(rows.size) < p for p in (0.5, 0.1, 0.01)]
    cost = rng.random(rows.size) * 1000.0
    start = pv.copy()
    out = []
    for compiled in (False, True):
        ledger.compiled = compiled
        ledger.refused[:] = 0
        pv[:] = start
        before = {k: log.column(f"refused_{k}").copy() for k in REFUSAL_REASONS}
        for reason, mask in enumerate(masks):
            ledger.refuse(2, ch, mask, reason, rows, DAY)
        total = ledger.charge(DAY + 7, rows, cost)
        spent = {k: log.column(f"refused_{k}") - before[k] for k in REFUSAL_REASONS}
        out.append((ledger.refused.copy(), spent, pv.copy(), total))
    (refused_r, spent_r, pv_r, total_r), (refused_c, spent_c, pv_c, total_c) = out
    np.testing.assert_array_equal(refused_c, refused_r)
    assert refused_r[2, -1].sum() > 0  # messages without a channel are counted apart
    for k in REFUSAL_REASONS:
        np.testing.assert_array_equal(spent_c[k], spent_r[k])
    np.testing.assert_array_equal(pv_c.view(np.uint64), pv_r.view(np.uint64))
    assert total_c == total_r and not np.array_equal(pv_r, start)


def _whole_run(monkeypatch, policy, setting):
    sc = load_scenario(SCENARIOS / "default.yaml")
    if isinstance(policy, str):
        pol = load_policy(POLICIES / f"{policy}.yaml", scenario=sc)
    else:
        pol = policy_from_dict(policy, scenario=sc)
    monkeypatch.setenv(kernels.ENV, setting)
    return simulate(sc, pol, seed=5, customers=2000, days=200, record_messages=True)


@pytest.mark.parametrize("policy", ["bau_default", "biting"])
def test_a_whole_run_is_the_same_with_the_kernels_and_with_the_references(monkeypatch, policy):
    chosen = BITING if policy == "biting" else policy
    ref = _whole_run(monkeypatch, chosen, "numpy")
    got = _whole_run(monkeypatch, chosen, "numba")
    assert got.summary == ref.summary
    pd.testing.assert_frame_equal(got.daily, ref.daily, check_exact=True)
    pd.testing.assert_frame_equal(got.extras["messages"], ref.extras["messages"])
    m = ref.summary["messages"]
    assert m["delivered"] > 10_000
    if policy == "biting":  # every guardrail refused, deferred, and the budget ran out
        assert min(m["refused"].values()) > 1000 and min(m["deferred"].values()) > 1000
