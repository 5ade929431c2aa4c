"""The contact engine's event lists, and its kernels (the tier news on the rows that bought,
the win-back scan), against the full scans they replace: day by day on scrambled states, and
on whole runs.

- :class:`~retention_sim.model.contacts.triggers.Triggers` (thank-you and win-back from who
  last bought on a day, birthdays from the rows by birthday, tier news from the rows that
  bought since the last look) against its ``candidates_reference``, the tier notices' state
  included, while customers arrive, buy, leave and come back;
- the journeys' new customers against ``_arrived_reference``, and their due steps against the
  previous implementation (one ``(campaign, step, row)`` list per day, kept here);
- whole runs: the old code in place of the event lists, and ``numpy`` against ``numba``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retention_sim import load_policy, load_scenario, policy_from_dict, simulate
from retention_sim.model import kernels
from retention_sim.model.arrivals import activate
from retention_sim.model.build import build_world
from retention_sim.model.contacts import audience, engine
from retention_sim.model.contacts.journeys import Journeys, NewCustomers, _arrived_reference
from retention_sim.model.contacts.triggers import Triggers, sorted_unique
from retention_sim.model.purchases import book_purchases
from retention_sim.model.reactivation import reachable, reachable_churned, reactivate
from retention_sim.model.simulation import assemble, run_world
from retention_sim.vocabulary import CAUSES, NEVER, Stage

from ...conftest import ROOT, SCENARIOS
from ...golden_runs import KITCHEN_SINK

POLICIES = ROOT / "params" / "policies"

_EMAIL = {"channel": "email"}
#: Every trigger the event lists serve, at several lags; the win-backs with a repeat scan.
TRIGGERS = [
    {"name": "thanks_0", "type": "thank_you", "delay_days": 0},
    {"name": "thanks_1", "type": "thank_you", "delay_days": 1},
    {"name": "thanks_4", "type": "thank_you", "delay_days": 4},
    {"name": "wb_3", "type": "win_back", "after_days": 3},
    {"name": "wb_6", "type": "win_back", "after_days": 6, "audience": {"stages": ["churned"]}},
    {
        "name": "wb_r",
        "type": "win_back",
        "after_days": 10,
        "repeat_every_days": 7,
        "audience": {"stages": ["lapsed", "churned"]},
    },
    {"name": "wb_r3", "type": "win_back", "after_days": 2, "repeat_every_days": 3},
    {"name": "bday_0", "type": "birthday"},
    {"name": "bday_3", "type": "birthday", "days_before": 3},
    {"name": "tiers", "type": "tier_up"},
    {"name": "reached", "type": "tier_up", "notify_on": ["reached"]},
    {"name": "near", "type": "tier_up", "notify_on": ["near"], "near_share": 0.5},
]
JOURNEYS = [
    {
        "name": "welcome",
        "type": "journey",
        "start": "new_customer",
        "steps": [{"after_days": 0}, {"after_days": 2}, {"after_days": 5}],
    },
    {
        "name": "later",
        "type": "journey",
        "start": "new_customer",
        "steps": [{"after_days": 1}, {"after_days": 4}],
    },
    {
        "name": "lapsed",
        "type": "journey",
        "start": "lapsed",
        "stop_on_purchase": False,
        "steps": [{"after_days": 0}, {"after_days": 0}, {"after_days": 3}],
    },
]


def _campaigns(specs, sc):
    specs = [
        {**_EMAIL, **s, "steps": [{**_EMAIL, **st} for st in s.get("steps", [])]} for s in specs
    ]
    return list(policy_from_dict({"name": "lists", "campaigns": specs}, scenario=sc).campaigns)


def _scrambled(seed: int, window: int = 25):
    """A run stopped after 21 days of a 40-day horizon (arrivals still to come), then
    scrambled: who is present or churned (and why), stages, last purchase and arrival days
    (many on the days the triggers look back to, a few never), birthdays, tiers, tier points
    (many near a threshold), upgrade days; a qualification window of ``window`` days."""
    sc = load_scenario(SCENARIOS / "default.yaml").with_overrides(
        {"loyalty.qualification_window_days": window}
    )
    world = build_world(sc, seed=seed, customers=3000, days=40)
    world.horizon = 21  # the days after are stepped by the test
    run_world(world, assemble(world, load_policy(POLICIES / "bau_default.yaml", scenario=sc)))
    rng = np.random.default_rng(seed)
    pop, n = world.pop, world.pop.capacity
    base = np.flatnonzero(world.present | (pop.stage != Stage.PENDING))
    k = base.size
    world.present[base] = rng.random(k) < 0.85
    stage = rng.integers(0, 5, k)
    stage[~world.present[base]] = Stage.CHURNED
    pop.stage[base] = stage
    pop.churn_cause[base] = np.where(stage == Stage.CHURNED, rng.integers(0, len(CAUSES), k), -1)
    last = np.where(rng.random(k) < 0.6, rng.integers(-30, 21, k), rng.integers(-400, 21, k))
    pop.last_purchase_day[base] = np.where(rng.random(k) < 0.05, NEVER, last)
    pop.acquired_day[base] = np.minimum(
        pop.last_purchase_day[base], np.where(rng.random(k) < 0.1, 30, rng.integers(-400, 21, k))
    )
    pop.acquired_day[base[rng.random(k) < 0.05]] = rng.integers(21, 30)  # "arrive" later
    pop.birthday_doy[:] = rng.integers(-1, 365, n)
    pop.tier[base] = rng.integers(0, 3, k)
    pop.period_points[base] = rng.uniform(0.0, 10_000.0, k)
    pop.upgraded_day[base] = np.where(rng.random(k) < 0.2, rng.integers(18, 22, k), NEVER)
    return world, sc, rng


def _buy(world, rng, day, share):
    """Purchases by a random share of today's present rows that have not bought today."""
    rows = np.flatnonzero(world.present & (world.pop.last_purchase_day != day))
    rows = rows[rng.random(rows.size) < share]
    book_purchases(world, rows, rng.exponential(800_000.0, rows.size), day)


def _churn(world, rng, share):
    gone = np.flatnonzero(world.present & (rng.random(world.pop.capacity) < share))
    world.present[gone] = False
    world.pop.stage[gone] = Stage.CHURNED
    world.pop.churn_cause[gone] = rng.integers(0, len(CAUSES), gone.size)


def _arrive(world, day):
    lo, hi = world.arrivals_index[day], world.arrivals_index[day + 1]
    activate(world, np.arange(lo, hi), day)


def _come_back(world, rng, day, share):
    back = reachable_churned(world)
    reactivate(world, back[rng.random(back.size) < share], day)


def _same(got, want):
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)


_NUMBA = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")


@pytest.mark.parametrize("kernel", ["numpy", pytest.param("numba", marks=_NUMBA)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_trigger_lists_give_the_rows_the_scans_give(seed, kernel, monkeypatch):
    """With ``numba``, the tier news and the win-backs with a repeat by their kernels."""
    world, sc, rng = _scrambled(seed)
    campaigns = _campaigns(TRIGGERS, sc)
    monkeypatch.setenv(kernels.ENV, kernel)
    got, want = Triggers(world, campaigns), Triggers(world, campaigns)
    assert got.compiled == got.tier.compiled == (kernel == "numba")
    seen: dict[str, int] = {}
    for day in range(21, 36):
        if day < 40:
            _arrive(world, day)
        _buy(world, rng, day, 0.08)
        _churn(world, rng, 0.01)  # not in a run's order of the day: today's buyers leave too
        for i, c in enumerate(campaigns):  # the contact step
            rows = want.candidates_reference(i, c, day)
            _same(got.candidates(i, c, day), rows)
            seen[c.name] = seen.get(c.name, 0) + rows.size
        for i in got.tier.notified:
            np.testing.assert_array_equal(got.tier.notified[i], want.tier.notified[i])
        _churn(world, rng, 0.02)  # after the contacts: churn, returns, referred arrivals
        _come_back(world, rng, day, 0.05)
        _buy(world, rng, day, 0.01)
        if day == 30:  # a row booked twice the same day, and a compaction of the lists
            _buy(world, rng, day, 0.5)
            got.last_purchases._compact()
    # the state gave every trigger rows to find, many of them in the base when the lists
    # were made (the scrambled days), the period's first look (day 25) included
    assert min(seen.values()) > 20, seen


@_NUMBA
@pytest.mark.parametrize("seed", [1, 2])
def test_the_tier_kernel_tells_the_rows_numpy_tells(seed, monkeypatch):
    """On any rows (repeated, unsorted) of a scrambled state, tier points exactly at the next
    threshold and at the ``near`` share of it included."""
    world, sc, rng = _scrambled(seed)
    campaigns = _campaigns(TRIGGERS, sc)
    monkeypatch.setenv(kernels.ENV, "numba")
    tiers = Triggers(world, campaigns).tier
    pop, n = world.pop, world.pop.capacity
    th = np.array([t.threshold_points for t in sc.loyalty.tiers] + [np.inf])
    edge = rng.random(n) < 0.3
    share = rng.choice([1.0, 0.8, 0.5], n)
    pop.period_points[edge] = (share * th[pop.tier + 1])[edge]
    pop.period_points[np.isinf(pop.period_points)] = 9_000.0
    told = 0
    for day in (21, 22, 22, 30):
        rows = rng.integers(0, n, 3000)
        for i in tiers.notified:
            c = campaigns[i]
            start = tiers.notified[i].copy()
            want = tiers._tell(i, c, day, rows)
            after = tiers.notified[i].copy()
            tiers.notified[i][:] = start
            _same(tiers._tell_compiled(i, c, day, rows), want)
            np.testing.assert_array_equal(tiers.notified[i], after)
            told += want.size
    assert told > 1000


def test_the_new_customers_and_the_due_steps_are_the_old_code_s(monkeypatch):
    world, sc, rng = _scrambled(4)
    campaigns = _campaigns(JOURNEYS, sc)
    got, want = Journeys(world, campaigns), _OldJourneys(world, campaigns)
    arrived = NewCustomers(world)
    in_audience = lambda a, rows, day: rows % 3 != 0  # noqa: E731
    env = world.env
    steps = 0
    for day in range(21, 38):
        _arrive(world, day)
        _buy(world, rng, day, 0.05)
        _same(arrived.on(day), _arrived_reference(world, day))
        for i in range(len(campaigns)):
            got.start(i, day, in_audience)
            want.start(i, day, in_audience)
        np.testing.assert_equal(got.key, want.key)
        due, due_ref = got.due_today(day), want.due_today(day)
        assert [(c, s) for c, s, _ in due] == [(c, s) for c, s, _ in due_ref]
        for (_, _, rows), (_, _, ref) in zip(due, due_ref, strict=True):
            _same(rows, ref)
            steps += rows.size
        _churn(world, rng, 0.02)
        _come_back(world, rng, day, 0.05)
        _buy(world, rng, day, 0.01)
        env.run(until=day + 1)  # the customers' processes queue their later steps
    assert steps > 300


def test_the_small_helpers_are_numpy_s():
    rng = np.random.default_rng(0)
    for size in (0, 1, 2, 50, 5000):
        x = rng.integers(0, 300, size)
        _same(sorted_unique(x), np.unique(x))
        v = rng.integers(-1, 9, size).astype(np.int8)
        for codes in ([], [0], [2, 5, 7], [-1, 3]):
            np.testing.assert_array_equal(audience._among(v, codes), np.isin(v, codes))


def test_reachable_is_the_scan_s():
    world, _, _ = _scrambled(5)
    rows = np.arange(world.pop.capacity)
    np.testing.assert_array_equal(np.flatnonzero(reachable(world, rows)), reachable_churned(world))


# ------------------------------------------------------------------------------ whole runs
def _kitchen_sink(sc):
    return policy_from_dict(KITCHEN_SINK, scenario=sc)


def _bau(sc):
    return load_policy(POLICIES / "bau_default.yaml", scenario=sc)


def _loyalty_app(sc):
    return load_policy(POLICIES / "playbook_loyalty_app.yaml", scenario=sc)


#: Every trigger, journeys of both starts, tier reviews inside the run (a 60-day window).
CASES = {
    "bau_default": (_bau, {}),
    "loyalty_app": (_loyalty_app, {"loyalty.qualification_window_days": 60}),
    "kitchen_sink": (_kitchen_sink, {"loyalty.qualification_window_days": 60}),
}


def _run(case: str, seed: int = 7):
    make, overrides = CASES[case]
    sc = load_scenario(SCENARIOS / "default.yaml").with_overrides(overrides)
    return simulate(sc, make(sc), seed=seed, customers=2000, days=200, record_messages=True)


def _equal(got, want):
    assert got.summary == want.summary
    pd.testing.assert_frame_equal(got.daily, want.daily)
    pd.testing.assert_frame_equal(got.extras["messages"], want.extras["messages"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_whole_run_is_the_same_with_the_old_scans(monkeypatch, case):
    monkeypatch.setenv(kernels.ENV, "numpy")
    got = _run(case)
    monkeypatch.setattr(Triggers, "candidates", Triggers.candidates_reference)
    monkeypatch.setattr(engine, "Journeys", _OldJourneys)
    want = _run(case)
    assert got.summary["messages"]["delivered"] > 1000
    _equal(got, want)


@_NUMBA
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_whole_run_is_the_same_with_the_kernels_and_with_the_references(monkeypatch, case):
    monkeypatch.setenv(kernels.ENV, "numpy")
    want = _run(case)
    monkeypatch.setenv(kernels.ENV, "numba")
    _equal(_run(case), want)


class _OldJourneys:
    """The journeys as they were before the event lists (the scan for new customers, one
    ``(campaign, step, row)`` list per day): the reference of the whole-run test."""

    def __init__(self, world, campaigns) -> None:
        self.world = world
        self.campaigns = campaigns
        n = world.pop.capacity
        self.key = {
            i: np.full(n, NEVER, dtype=np.int32)
            for i, c in enumerate(campaigns)
            if c.type == "journey"
        }
        self.due: dict[int, list[tuple[int, int, int]]] = {}

    def start(self, i: int, day: int, audience) -> None:
        w = self.world
        pop = w.pop
        c = self.campaigns[i]
        key = self.key[i]
        if c.start == "new_customer":
            cand = np.flatnonzero(w.present & (pop.acquired_day == day))
        else:
            cand = np.flatnonzero(
                w.present & (pop.stage == Stage.LAPSED) & (key < pop.last_purchase_day)
            )
        if cand.size:
            cand = cand[audience(c.audience, cand, day)]
        if cand.size == 0:
            return
        key[cand] = np.maximum(
            pop.last_purchase_day[cand],
            day if c.start == "new_customer" else pop.last_purchase_day[cand],
        )
        first = [s for s, st in enumerate(c.steps) if st.after_days == 0]
        today = self.due.setdefault(day, [])
        for r in cand.tolist():
            for s in first:
                today.append((i, s, r))
            if len(c.steps) > len(first):
                w.env.process(self._journey(i, r, day))

    def _journey(self, c_idx: int, row: int, day0: int) -> Generator[Any, Any, None]:
        c = self.campaigns[c_idx]
        env = self.world.env
        prev = 0
        for s_idx, step in enumerate(c.steps):
            if step.after_days == 0:
                continue
            yield env.timeout(step.after_days - prev - (0.5 if prev == 0 else 0.0))
            prev = step.after_days
            self.due.setdefault(day0 + step.after_days, []).append((c_idx, s_idx, row))

    def due_today(self, day: int) -> list[tuple[int, int, np.ndarray]]:
        w = self.world
        pop = w.pop
        out: list[tuple[int, int, np.ndarray]] = []
        due = self.due.pop(day, [])
        if not due:
            return out
        arr = np.array(due, dtype=np.int64)
        for c_idx, s_idx in sorted({(int(a), int(b)) for a, b in arr[:, :2]}):
            sel = arr[(arr[:, 0] == c_idx) & (arr[:, 1] == s_idx), 2]
            sel = sel[w.present[sel]]
            if self.campaigns[c_idx].stop_on_purchase:
                sel = sel[pop.last_purchase_day[sel] <= self.key[c_idx][sel]]
            if sel.size:
                out.append((c_idx, s_idx, np.unique(sel)))
        return out
