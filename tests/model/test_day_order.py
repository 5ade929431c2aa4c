"""The order of the day: every day value is written before it is read, and each step's
declaration in DAY_ORDER matches what a run does."""

from __future__ import annotations

from collections import defaultdict

import pytest

from retention_sim import load_scenario, policy_from_dict
from retention_sim.model import simulation
from retention_sim.model.referral import reserve_size
from retention_sim.model.simulation import DAY_ORDER, assemble, build_world, run_world
from retention_sim.model.world import NO_POLICY_DAY, DayState, DayStateError

from ..conftest import SCENARIOS
from ..golden_runs import KITCHEN_SINK

#: Population attributes that describe its shape, not any customer's state.
STRUCTURE = {"capacity", "extra", "n_initial", "segment_names", "tier_names"}


class TracingPopulation:
    """Forwards to a population and notes which step touches which column."""

    def __init__(self, real, today, uses):
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_today", today)
        object.__setattr__(self, "_uses", uses)

    def __getattr__(self, name):
        self._uses[self._today.step].add(name)
        return getattr(self._real, name)

    def __setattr__(self, name, value):
        self._uses[self._today.step].add(name)
        setattr(self._real, name, value)


#: The loyalty programme's optional mechanics, all switched on (docs/model.md §5.1).
PROGRAMME_MECHANICS = {
    "loyalty.enrolment": {"initial_share": 0.5, "complexity": 0.2},
    "loyalty.spend_gift": {"spend_threshold": 1_000_000, "value": 50_000},
    "loyalty.special_days": {
        "birthday_month_multiplier": 2.0,
        "sale_multiplier": 2.0,
        "sale_events": ["Tet sale", "Black Friday"],
    },
    "loyalty.tenure_perk": {"after_days": 700, "points_multiplier": 1.5, "cost_per_year": 20_000},
}


def _traced_run(policy_data, days=120, customers=1200, overrides=None):
    sc = load_scenario(SCENARIOS / "default.yaml").with_overrides(overrides or {})
    pol = policy_from_dict(policy_data, scenario=sc) if policy_data is not None else None
    reserve = reserve_size(sc, pol, customers=customers, days=days) if pol is not None else 0
    world = build_world(sc, seed=3, customers=customers, days=days, reserve=reserve)
    uses: dict[str | None, set[str]] = defaultdict(set)
    world.pop = TracingPopulation(world.pop, world.today, uses)
    world.today.trace = []
    run_world(world, assemble(world, pol))
    return world.today.trace, uses


@pytest.fixture(scope="module")
def policy_run():
    return _traced_run(KITCHEN_SINK)


@pytest.fixture(scope="module")
def no_policy_run():
    return _traced_run(None)


@pytest.fixture(scope="module")
def programme_run():
    return _traced_run(KITCHEN_SINK, overrides=PROGRAMME_MECHANICS)


@pytest.mark.parametrize("with_policy", [True, False])
def test_every_day_value_read_is_written_earlier_that_day_or_at_build_time(with_policy):
    constant = set() if with_policy else set(NO_POLICY_DAY)
    written: set[str] = set()
    for step in DAY_ORDER:
        if step.contacts and not with_policy:
            continue
        missing = set(step.reads) - written - constant
        assert not missing, f"{step.name} reads {sorted(missing)} before anything writes it"
        written |= set(step.writes)


def test_declared_fields_exist_and_have_one_writer():
    writers: dict[str, list[str]] = defaultdict(list)
    for step in DAY_ORDER:
        assert set(step.reads) | set(step.writes) <= set(DayState.FIELDS), step.name
        for f in step.writes:
            writers[f].append(step.name)
    assert {f: w for f, w in writers.items() if len(w) > 1} == {}
    assert set(NO_POLICY_DAY) <= set(DayState.FIELDS)
    # whatever a run without a policy holds constant is written only by contact steps
    for step in DAY_ORDER:
        if set(step.writes) & set(NO_POLICY_DAY):
            assert step.contacts, step.name


@pytest.mark.parametrize("which", ["policy_run", "no_policy_run", "programme_run"])
def test_a_run_reads_and_writes_only_what_each_step_declares(which, request):
    trace, _uses = request.getfixturevalue(which)
    declared = {s.name: s for s in DAY_ORDER}
    assert trace, "nothing was traced"
    for step, kind, field in trace:
        assert step is not None, f"{field} was {kind} outside the day's steps"
        allowed = declared[step].reads if kind == "read" else declared[step].writes
        assert field in allowed, f"{step} {kind}s {field} without declaring it"
    seen = {(s, k, f) for s, k, f in trace}
    # every declared write happens (a declaration that is never true would mislead)
    for s in DAY_ORDER:
        if which != "no_policy_run" or not s.contacts:
            for f in s.writes:
                assert (s.name, "write", f) in seen, f"{s.name} never writes {f}"


def test_each_step_uses_only_the_population_columns_it_declares(
    policy_run, no_policy_run, programme_run
):
    declared = {s.name: set(s.uses) for s in DAY_ORDER}
    for _trace, uses in (policy_run, no_policy_run, programme_run):
        for step, cols in uses.items():
            if step is None:  # SimPy processes between the day's steps (requests, reviews)
                continue
            extra = cols - declared[step] - STRUCTURE
            assert not extra, f"{step} uses {sorted(extra)} without declaring them"


def test_a_step_moved_before_its_writer_fails_at_once(monkeypatch):
    order = list(DAY_ORDER)
    names = [s.name for s in order]
    purchases = order.pop(names.index("purchases"))
    order.insert(0, purchases)  # before the offers that set the purchase boost
    monkeypatch.setattr(simulation, "DAY_ORDER", tuple(order))
    with pytest.raises(DayStateError, match="purchase_boost"):
        _traced_run(KITCHEN_SINK, days=3, customers=200)
