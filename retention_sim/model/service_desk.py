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
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from .world import World

__all__ = ["ServiceDesk", "scaled_staff", "ISSUE", "INQUIRY", "CALL", "REPLY", "KINDS"]

#: Request kinds: a product issue, an inquiry, a proactive call, a reply to a message.
ISSUE, INQUIRY, CALL, REPLY = 0, 1, 2, 3
KINDS = ("issue", "inquiry", "call", "reply")


def scaled_staff(count: int, scale: float) -> int:
    """Staff for a base ``scale`` times the scenario's: proportional, at least one if any.

    A run with ``customers=`` other than the scenario's keeps the desk's load (and its cost per
    customer) as in the scenario, as arrivals do.
    """
    if count <= 0:
        return 0
    return max(1, int(round(count * scale)))


class ServiceDesk:
    """The agents (and account managers) of one run, and the processes that use them."""

    def __init__(self, world: World):
        self.world = world
        sv = world.scenario.service
        self.cfg = sv
        env = world.env
        scale = world.scale
        self.n_agents = scaled_staff(sv.agents, scale)
        self.n_managers = scaled_staff(sv.account_managers.count, scale)
        self.agents = simpy.Resource(env, capacity=self.n_agents) if self.n_agents else None
        self.managers = simpy.Resource(env, capacity=self.n_managers) if self.n_managers else None
        self.rng = world.streams["service"]
        self.hours = sv.hours_per_day
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
        for rows in self._closing.pop(day, ()):
            pop.unresolved[rows] -= 1
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
        for row, kind, offset, service in zip(rows, kinds, offsets, service_days, strict=True):
            w.env.process(self._request(row, kind, day, offset, service))

    def start(self, row: int, kind: int, day: int) -> simpy.Process:
        """Start one request of ``kind`` for customer ``row``, arriving during ``day``."""
        offset = float(self.rng.random())
        service_days = float(self._service_minutes(1)[0]) / 60.0 / self.hours
        self.world.log.add("service_requests" if kind != CALL else "outbound_calls", 1.0)
        return self.world.env.process(self._request(row, kind, day, offset, service_days))

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
            if kind == ISSUE:  # service recovery: a problem fixed fast restores satisfaction
                s = s + sv.recovery_gain
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

    def call(self, row: int, day: int) -> simpy.Process:
        """An outbound call to ``row`` (a contact policy's proactive call) on the agents' pool."""
        return self.start(row, CALL, day)

    def book_costs(self) -> None:
        """Book today's staffing cost (agents and account managers)."""
        sv = self.cfg
        cost = (
            self.n_agents * sv.agent_cost_per_day
            + self.n_managers * sv.account_managers.cost_per_day
        )
        if cost:
            self.world.log.add("staff_cost", cost)
