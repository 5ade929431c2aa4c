"""The compiled desk queue against SimPy: the same waits (bit for bit), the same abandonments,
the same order of endings at the same moments, on its own and in whole runs.

On its own, the queue replays requests through a ``simpy.Resource`` written as the desk's
reference process is (``ServiceDesk._request``), day by day, with arrivals, service times and
patience drawn at random, or on a grid of binary fractions so that arrivals, grants, service
ends, patience expiries and whole days fall on the very same instants (SimPy's order of events
then decides, and the queue must decide the same).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy

from retention_sim.model import kernels
from retention_sim.model.desk_queue import Customers, DeskQueue, schedule_ticks

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")


def _requests(seed, days, per_day, mean_service, grid):
    """Per day: ``(id, offset, service)`` of its requests; ids are rows, one per request."""
    rng = np.random.default_rng(seed)
    out, rid = [], 0
    for _ in range(days):
        n = int(rng.poisson(per_day))
        if grid:  # binary fractions: sums are exact, so events coincide
            offsets = rng.integers(0, 16, n) / 16.0
            service = rng.integers(1, 2 * int(mean_service * 32), n) / 32.0
        else:
            offsets = rng.random(n)
            service = rng.exponential(mean_service, n)
        out.append([(rid + k, float(offsets[k]), float(service[k])) for k in range(n)])
        rid += n
    return out, rid


def _simpy_desk(requests, agents, managers, patience, has_am):
    """The reference: one process per request, as ``ServiceDesk._request`` queues."""
    env = simpy.Environment()
    pools = [simpy.Resource(env, c) if c else None for c in (agents, managers)]
    log = []

    def request(rid, offset, service):
        yield env.timeout(offset)
        arrived = env.now
        pool = pools[1] if (pools[1] is not None and has_am[rid]) else pools[0]
        served = False
        if pool is None:
            yield env.timeout(patience)
        else:
            with pool.request() as req:
                if req.triggered:
                    yield req
                    served = True
                else:
                    got = yield req | env.timeout(patience)
                    served = req in got
                if served:
                    wait = env.now - arrived
                    yield env.timeout(service)
        if not served:
            wait = env.now - arrived
        log.append((rid, wait, served, env.now))

    def daily():
        for todays in requests:
            for rid, offset, service in todays:
                env.process(request(rid, offset, service))
            yield env.timeout(1)

    env.process(daily())
    env.run(until=len(requests))
    return log


def _compiled_desk(requests, agents, managers, patience, has_am):
    """The same requests through :class:`DeskQueue`, advanced at each whole day."""
    env = simpy.Environment()
    queue = DeskQueue(agents, managers, patience=patience, hours=1.0)
    n = has_am.size
    customers = Customers(
        np.zeros(n), np.zeros(n, np.int16), np.zeros(n, np.int32), np.zeros(n, bool), has_am
    )
    log = []

    def advance(day, final):
        out = queue.advance(day, customers, final=final)
        log.extend(zip(out.rows.tolist(), out.wait_hours.tolist(), out.served.tolist(),
                       out.ends.tolist(), strict=True))  # fmt: skip

    def daily():
        for day, todays in enumerate(requests):
            for rid, offset, service in todays:
                queue.add(rid, 1, day, offset, service)
            yield env.timeout(1)

    schedule_ticks(env, len(requests), advance)
    env.process(daily())
    env.run(until=len(requests))
    return log, queue


CASES = {
    # name: (agents, managers, share with a manager, days, per day, mean service, patience, grid)
    "heavy load, one agent": (1, 0, 0.0, 40, 60, 0.025, 0.25, False),
    "light load, several agents": (6, 0, 0.0, 40, 60, 0.02, 0.25, False),
    "heavy load, agents and managers": (3, 2, 0.2, 40, 150, 0.025, 0.3, False),
    "waits over many days": (2, 0, 0.0, 60, 80, 0.03, 3.0, False),
    "no pool at all": (0, 0, 0.0, 30, 50, 0.02, 0.5, False),
    "managers only": (0, 1, 0.3, 30, 50, 0.05, 0.5, False),
    "deterministic service on a grid": (2, 1, 0.2, 40, 70, 1 / 16, 0.25, True),
    "grid, patience of whole days": (1, 1, 0.3, 40, 60, 1 / 32, 1.0, True),
    "grid, queues over days": (3, 0, 0.0, 40, 120, 1 / 16, 2.0, True),
}


def _case(case):
    """A case's requests, which of them have an account manager, and its desk."""
    agents, managers, am_share, days, per_day, mean_service, patience, grid = CASES[case]
    requests, n = _requests(7, days, per_day, mean_service, grid)
    if "deterministic" in case:
        requests = [[(r, o, mean_service) for r, o, _ in day] for day in requests]
    has_am = np.random.default_rng(8).random(n) < am_share
    return requests, n, has_am, agents, managers, patience


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_queue_ends_every_request_as_simpy_does(case):
    requests, n, has_am, agents, managers, patience = _case(case)
    ref = _simpy_desk(requests, agents, managers, patience, has_am)
    got, queue = _compiled_desk(requests, agents, managers, patience, has_am)
    assert n > 1000
    # the same requests end in the same order, at the same moments, with the same waits
    assert got == ref
    assert queue.waiting == n - len(ref)  # the rest still queued or served at the end
    served = np.array([s for _, _, s, _ in ref])
    if agents + managers == 0:
        assert not served.any()
    elif "light" in case:
        assert served.all()
    else:
        assert 0 < served.sum() < served.size  # some gave up


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][-1]))
def test_the_grid_makes_events_coincide(case):
    """On the grid, patience runs out at the instant an agent is released, requests arrive at
    the instant of a release, and arrivals and endings fall on whole days (the daily step's
    instants): the cases where only SimPy's order of events decides."""
    requests, _n, has_am, agents, managers, patience = _case(case)
    ref = _simpy_desk(requests, agents, managers, patience, has_am)
    arrivals = {d + o for d, todays in enumerate(requests) for _, o, _ in todays}
    released = {t for _, _, s, t in ref if s}
    abandoned = {t for _, _, s, t in ref if not s}
    assert len(released & abandoned) > 100 and len(released & arrivals) > 100
    assert sum(t == int(t) for t in arrivals) > 20 and sum(t == int(t) for t in released) > 20


# ----------------------------------------------------------------------------- whole runs
def _run(monkeypatch, which, scenario, policy, overrides):
    from retention_sim import load_policy, load_scenario
    from retention_sim.model.build import build_world
    from retention_sim.model.result import build_result
    from retention_sim.model.simulation import assemble, run_world

    monkeypatch.setenv(kernels.ENV, which)
    sc = load_scenario(SCENARIOS / f"{scenario}.yaml").with_overrides(overrides)
    pol = load_policy(POLICIES / f"{policy}.yaml", scenario=sc) if policy else None
    world = build_world(sc, seed=5, customers=2000, days=200)
    m = assemble(world, pol)
    assert (m.desk.queue is not None) == (which == "numba")
    run_world(world, m)
    return build_result(world, desk=m.desk, contacts=m.contacts), world.service_log.arrays()


BUSY = {"population.initial_customers": 2000, "service.agents": 1}  # staff not scaled down

RUNS = {
    "default, bau_default": ("default", "bau_default", {}),
    "account managers and calls": ("premium_durables", "bau_premium_durables", {}),
    "calls, surveys' cases and replies": ("saas", "bau_saas", {}),
    "understaffed: queues and abandonment": (
        "default",
        "bau_default",
        {**BUSY, "service.inquiry_rate_per_year": 6.0, "service.abandon_after_hours": 4.0},
    ),
    "no agents, no policy": ("default", None, {**BUSY, "service.agents": 0}),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_whole_run_is_the_same_with_the_queue_and_with_simpy(monkeypatch, name):
    scenario, policy, overrides = RUNS[name]
    ref, ref_log = _run(monkeypatch, "numpy", scenario, policy, overrides)
    got, got_log = _run(monkeypatch, "numba", scenario, policy, overrides)
    assert got.summary == ref.summary
    pd.testing.assert_frame_equal(got.daily, ref.daily)
    pd.testing.assert_frame_equal(got.customers, ref.customers)
    assert got_log.keys() == ref_log.keys()
    for field, values in ref_log.items():
        assert got_log[field].dtype == values.dtype, field
        np.testing.assert_array_equal(got_log[field], values, err_msg=field)
    sv = ref.summary["service"]
    assert sv["requests"] > 300
    if "understaffed" in name:
        assert 0.05 < sv["abandoned_share"] < 0.9 and sv["mean_wait_hours"] > 1.0
    if "no agents" in name:
        assert 0 < sv["abandoned_share"] < 1  # only the managers' customers are served


def test_extra_agents_in_a_period_keep_the_simpy_desk(monkeypatch):
    from retention_sim import load_scenario, policy_from_dict
    from retention_sim.config.policy import load_policy
    from retention_sim.model.build import build_world
    from retention_sim.model.simulation import assemble

    monkeypatch.setenv(kernels.ENV, "numba")
    sc = load_scenario(SCENARIOS / "default.yaml")
    base = load_policy(POLICIES / "bau_default.yaml", scenario=sc).model_dump(mode="json")
    period = {"start": "2026-03-01", "end": "2026-03-31", "extra_agents": 3}
    pol = policy_from_dict({**base, "staffing": {"periods": [period]}}, scenario=sc)
    desk = assemble(build_world(sc, seed=1, customers=2000, days=120), pol).desk
    assert desk.queue is None and isinstance(desk.agents, simpy.PriorityResource)
