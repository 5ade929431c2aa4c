"""The service desk: a ``simpy.Resource`` of agents serving per-request SimPy processes.

Product issues and inquiries arise each day (vectorised draw); each request that reaches the desk
becomes its own process: it arrives at a random moment of the working day, queues for an agent
(or its dedicated account manager), is served, and changes the customer's satisfaction:

- answered within ``quick_resolution_hours``: the contact counts as a valued touch (resets the
  indifference clock) and, for a product issue, service recovery raises satisfaction;
- answered later: satisfaction falls with every hour waited beyond that;
- not answered within ``abandon_after_hours``: the customer gives up; an issue stays unresolved
  for ``unresolved_days`` (raising the dissatisfaction hazard).

Open issues are counted per customer and closed by a calendar of closing days (no process is
kept waiting for weeks per issue): only the daily step reads the count, and an issue opened at
time ``t`` counts in the ``unresolved_days`` daily steps from ``t`` on.

The desk runs in *working time*: one simulated day holds ``hours_per_day`` working hours.
Outbound calls of a contact policy use the same agents (:meth:`ServiceDesk.call`), and so do
replies to its messages (kind ``REPLY``, started by the contact engine; treated as an inquiry).

With the compiled kernels switched on (:mod:`.kernels`), the queue is not run as SimPy processes
but by :class:`~retention_sim.model.desk_queue.DeskQueue`, which replays them exactly (the same
waits, the same order of endings and the same effects at the same moments) in one compiled
loop a day. The processes stay as the reference, and run whenever a policy's staffing has
periods with extra agents (the roster's off-duty holds are SimPy processes of their own).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import simpy

from .desk_queue import Customers, DeskQueue, schedule_ticks
from .kernels import compiled
from .world import World

if TYPE_CHECKING:
    from ..config.policy import Staffing

__all__ = ["ServiceDesk", "scaled_staff", "ISSUE", "INQUIRY", "CALL", "REPLY", "CASE", "KINDS"]

#: Request kinds: a product issue, an inquiry, a proactive call, a reply to a message.
ISSUE, INQUIRY, CALL, REPLY, CASE = 0, 1, 2, 3, 4
KINDS = ("issue", "inquiry", "call", "reply", "case")  # case: an unhappy survey answer


def scaled_staff(count: int, scale: float) -> int:
    """Staff for a base ``scale`` times the scenario's: proportional, at least one if any.

    A run with ``customers=`` other than the scenario's keeps the desk's load (and its cost per
    customer) as in the scenario, as arrivals do.
    """
    if count <= 0:
        return 0
    return max(1, int(round(count * scale)))


class ServiceDesk:
    """The agents (and account managers) of one run, and the processes that use them.

    Parameters
    ----------
    world
        The run.
    staffing
        A policy's staffing (:class:`~retention_sim.config.policy.Staffing`): agents and
        account managers in place of the scenario's, and periods with extra agents. Extra
        agents are slots of one :class:`simpy.PriorityResource` held off duty by roster
        processes (priority ahead of customers, so an agent going off duty first finishes the
        customer in hand); without periods the desk is a plain :class:`simpy.Resource`, or,
        with the compiled kernels on, the compiled queue (:attr:`queue`; with periods the
        desk stays on SimPy whatever the switch says).
    """

    def __init__(self, world: World, staffing: Staffing | None = None):
        self.world = world
        sv = world.scenario.service
        self.cfg = sv
        env = world.env
        scale = world.scale
        agents, managers = sv.agents, sv.account_managers.count
        if staffing is not None:
            agents = agents if staffing.agents is None else staffing.agents
            managers = managers if staffing.account_managers is None else staffing.account_managers
        self.n_agents = scaled_staff(agents, scale)
        self.n_managers = scaled_staff(managers, scale)
        self.extra = _extra_agents(world, staffing)
        self.extra_cost = sv.agent_cost_per_day
        if staffing is not None and staffing.cost_per_extra_agent_day is not None:
            self.extra_cost = staffing.cost_per_extra_agent_day
        most = int(self.extra.max()) if self.extra.size else 0
        self.rng = world.streams["service"]
        self.hours = sv.hours_per_day
        #: The compiled queue, when it runs in place of the SimPy processes (no roster).
        self.queue: DeskQueue | None = None
        self.agents: simpy.Resource | None = None
        self.managers: simpy.Resource | None = None
        if compiled() and not most:
            self.queue = DeskQueue(
                self.n_agents,
                self.n_managers,
                patience=sv.abandon_after_hours / self.hours,
                hours=self.hours,
                quick_hours=sv.quick_resolution_hours,
                recovery_gain=sv.recovery_gain,
                wait_penalty=sv.wait_penalty_per_hour,
                unresolved_days=sv.unresolved_days,
            )
            schedule_ticks(env, world.horizon, self._advance)
        elif most:
            self.agents = simpy.PriorityResource(env, capacity=self.n_agents + most)
            env.process(self._roster(most))
        elif self.n_agents:
            self.agents = simpy.Resource(env, capacity=self.n_agents)
        if self.queue is None and self.n_managers:
            self.managers = simpy.Resource(env, capacity=self.n_managers)
        annual = sv.product_issue_rate_per_year
        self.p_issue = -np.expm1(-annual / 365.0)
        self.p_inquiry = -np.expm1(-sv.inquiry_rate_per_year / 365.0)
        self._closing: dict[int, list[np.ndarray]] = {}  # day → rows whose issue closes then

    # ------------------------------------------------------------------ daily demand
    def demand_step(self, day: int) -> None:
        """Draw today's product issues and inquiries; start a process for each request."""
        w = self.world
        pop = w.pop
        sv = self.cfg
        for rows in self._closing.pop(day, ()):  # (a survey case may have fixed it already)
            pop.unresolved[rows] = np.maximum(pop.unresolved[rows] - 1, 0)
        u = w.daily_uniforms("service_demand")
        if self.p_issue <= 0 and self.p_inquiry <= 0:
            return
        present = w.present
        issue_mask = present & (u < self.p_issue)
        reported = np.flatnonzero(issue_mask & (u < self.p_issue * sv.contact_share))
        silent = np.flatnonzero(issue_mask & (u >= self.p_issue * sv.contact_share))
        inquiries = np.flatnonzero(
            present & (u >= self.p_issue) & (u < self.p_issue + self.p_inquiry)
        )
        issues = np.flatnonzero(issue_mask)
        if issues.size:
            pop.satisfaction[issues] = np.maximum(
                0.0, pop.satisfaction[issues] - sv.satisfaction_drop_per_issue
            )
            w.log.add("product_issues", float(issues.size))
            self.open_issue(silent)
        n = reported.size + inquiries.size
        if n == 0:
            return
        # the day's requests: arrival moments, then service times, one vector each
        offsets = self.rng.random(n).tolist()
        service_days = (self._service_minutes(n) / 60.0 / self.hours).tolist()
        kinds = [ISSUE] * reported.size + [INQUIRY] * inquiries.size
        rows = reported.tolist() + inquiries.tolist()
        w.log.add("service_requests", float(n))
        if self.queue is not None:
            self.queue.add_many(rows, kinds, day, offsets, service_days)
            return
        for row, kind, offset, service in zip(rows, kinds, offsets, service_days, strict=True):
            w.env.process(self._request(row, kind, day, offset, service))

    def start(self, row: int, kind: int, day: int) -> simpy.Process | None:
        """Start one request of ``kind`` for customer ``row``, arriving during ``day``.

        Returns its SimPy process (``None`` when the compiled queue runs the desk).
        """
        offset = float(self.rng.random())
        service_days = float(self._service_minutes(1)[0]) / 60.0 / self.hours
        self.world.log.add("service_requests" if kind != CALL else "outbound_calls", 1.0)
        if self.queue is not None:
            self.queue.add(row, kind, day, offset, service_days)
            return None
        return self.world.env.process(self._request(row, kind, day, offset, service_days))

    def _advance(self, day: int, final: bool) -> None:
        """Run the compiled queue up to day ``day``'s step (the end of the run if ``final``):
        log the requests that ended and keep the issues they opened for their closing day."""
        assert self.queue is not None
        w = self.world
        pop = w.pop
        out = self.queue.advance(
            day,
            Customers(
                pop.satisfaction,
                pop.unresolved,
                pop.last_valued_touch_day,
                w.present,
                pop.has_account_manager,
            ),
            final=final,
        )
        if out.rows.size:
            w.service_log.append(
                customer_id=out.rows,
                day=out.days,
                wait_hours=out.wait_hours,
                served=out.served,
                kind=out.kinds,
            )
        for row, close in zip(out.issue_rows.tolist(), out.issue_closes.tolist(), strict=True):
            self._closing.setdefault(close, []).append(np.array([row]))

    def _service_minutes(self, size: int) -> np.ndarray:
        """``size`` service times in minutes from the scenario's distribution."""
        st = self.cfg.service_time
        if st.distribution == "exponential":
            return self.rng.exponential(st.mean_minutes, size)
        if st.distribution == "deterministic" or st.cv == 0:
            return np.full(size, float(st.mean_minutes))
        if st.distribution == "gamma":
            k = 1.0 / (st.cv**2)
            return self.rng.gamma(k, st.mean_minutes / k, size)
        # lognormal with the given mean and coefficient of variation
        s2 = np.log1p(st.cv**2)
        mu = np.log(st.mean_minutes) - s2 / 2.0
        return self.rng.lognormal(mu, np.sqrt(s2), size)

    # ------------------------------------------------------------------ processes
    def _request(self, row: int, kind: int, day: int, offset: float, service_days: float):
        env = self.world.env
        sv = self.cfg
        pop = self.world.pop
        yield env.timeout(offset)
        arrived = env.now
        pool = (
            self.managers
            if (self.managers is not None and pop.has_account_manager[row])
            else self.agents
        )
        patience = sv.abandon_after_hours / self.hours
        served = False
        if pool is None:
            yield env.timeout(patience)
        else:
            with pool.request() as req:
                if req.triggered:  # an agent is free: no queue, so no patience clock either
                    yield req
                    served = True
                else:
                    got = yield req | env.timeout(patience)
                    served = req in got
                if served:
                    wait = env.now - arrived
                    yield env.timeout(service_days)
        if not served:
            wait = env.now - arrived
        wait_h = wait * self.hours
        self.world.service_log.record(row, day, wait_h, served, kind)
        if kind == CALL or not self.world.present[row]:
            return  # a customer who left meanwhile is not changed by the answer
        s = pop.satisfaction[row]
        if served and wait_h <= sv.quick_resolution_hours:
            if kind in (ISSUE, CASE):  # service recovery: a problem fixed fast restores it
                s = s + sv.recovery_gain
            if kind == CASE:  # a survey's unhappy answer, handled fast: its problems are fixed
                pop.unresolved[row] = 0
            pop.last_valued_touch_day[row] = int(env.now)
        else:
            s = s - sv.wait_penalty_per_hour * max(0.0, wait_h - sv.quick_resolution_hours)
        pop.satisfaction[row] = min(1.0, max(0.0, s))
        if not served and kind == ISSUE:
            self.open_issue(np.array([row]))

    def open_issue(self, rows: np.ndarray) -> None:
        """Open an unresolved issue for each of ``rows`` (distinct) for ``unresolved_days``.

        It counts in the ``unresolved_days`` daily steps from now on (a silent issue, opened
        during today's step, counts from today's churn step).
        """
        if rows.size == 0 or self.cfg.unresolved_days <= 0:
            return
        now = self.world.env.now
        close = math.ceil(now + self.cfg.unresolved_days)
        self.world.pop.unresolved[rows] += 1
        self._closing.setdefault(close, []).append(rows)

    def call(self, row: int, day: int) -> simpy.Process | None:
        """An outbound call to ``row`` (a contact policy's proactive call) on the agents' pool."""
        return self.start(row, CALL, day)

    def book_costs(self, day: int | None = None) -> None:
        """Book the staffing cost of ``day``: agents, account managers, extra agents on duty."""
        sv = self.cfg
        cost = (
            self.n_agents * sv.agent_cost_per_day
            + self.n_managers * sv.account_managers.cost_per_day
        )
        if day is not None and 0 <= day < self.extra.size and self.extra[day]:
            cost += int(self.extra[day]) * self.extra_cost
        if cost:
            self.world.log.add("staff_cost", cost)

    @property
    def extra_agent_days(self) -> int:
        """Agent-days of the extra agents over the run."""
        return int(self.extra.sum())

    # ------------------------------------------------------------------ the roster
    def _roster(self, most: int):
        """Put extra agents on and off duty on the days their number changes.

        An off-duty slot is held by a process requesting it ahead of customers; putting an
        agent on duty releases one such hold, taking one off starts a new one (which gets the
        next slot that frees up, so an agent going off duty finishes the customer in hand).
        """
        env = self.world.env
        holds = [self._hold() for _ in range(most)]
        on_duty = 0
        change = np.flatnonzero(np.diff(self.extra, prepend=0))
        for day in change.tolist():
            yield env.timeout(day - env.now)
            want = int(self.extra[day])
            while on_duty < want:
                holds.pop().succeed()
                on_duty += 1
            while on_duty > want:
                holds.append(self._hold())
                on_duty -= 1

    def _hold(self) -> simpy.Event:
        release = self.world.env.event()
        self.world.env.process(self._off_duty(release))
        return release

    def _off_duty(self, release: simpy.Event):
        assert isinstance(self.agents, simpy.PriorityResource)
        with self.agents.request(priority=-1) as req:
            yield req
            yield release


def _extra_agents(world: World, staffing: Staffing | None) -> np.ndarray:
    """Extra agents on duty per day of the run (scaled with the base, as agents are)."""
    extra = np.zeros(world.horizon, dtype=np.int64)
    if staffing is None:
        return extra
    start = world.scenario.calendar.start
    for p in staffing.periods:
        lo = max(0, (p.start - start).days)
        hi = min(world.horizon, (p.end - start).days + 1)
        if hi > lo:
            extra[lo:hi] += scaled_staff(p.extra_agents, world.scale)
    return extra
