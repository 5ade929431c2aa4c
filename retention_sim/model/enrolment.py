"""Enrolment in the loyalty programme: who is a member, and how non-members join.

Seed 004 lists "communicate the programme: customers do not know about it" and "too complex a
programme: customers do not understand it and do not join" among the common mistakes; this
module turns both into enrolment probabilities. With ``appeal = 1 − complexity``
(:class:`~retention_sim.config.loyalty.Enrolment`):

- day 0: a row of the starting base is a member when ``U < initial_share``, a new customer
  when ``U < arrival_share × appeal`` (decided once, at build, for their first purchase);
- every day, a non-member in the base joins when ``U < 1 − exp(−rate_per_year × appeal / 365)``;
- every delivered message enrols a non-member when ``U < per_message × appeal``
  (``per_programme_message × appeal`` for a message whose content is ``reward``).

Every ``U`` is counter-based (:func:`~retention_sim.model.random_streams.counter_uniform`): keyed
on the row (build), the row and the day (daily), the row, day, channel and the message's number
that day on that channel (messages), so that two policies that send the same customer the same
message see the same luck, and the daily draws do not depend on who else is a member.

Non-members earn no points and hold no tier (tier 0, no points, outside tier audiences); a
customer who joins starts there. Without an ``enrolment`` section every customer is a member and
nothing here draws or books anything.
"""

from __future__ import annotations

import numpy as np

from ..config.loyalty import Enrolment
from ..config.scenario import Scenario
from .random_streams import counter_uniform
from .world import World

__all__ = ["enrolment_of", "start", "step", "on_delivery", "PROGRAMME_CONTENT"]

#: The content of a message about the programme (points, tiers, a birthday gift).
PROGRAMME_CONTENT = "reward"


def enrolment_of(scenario: Scenario) -> Enrolment | None:
    """The scenario's enrolment terms when the programme runs and not everyone is a member."""
    loy = scenario.loyalty
    return loy.enrolment if loy.enabled else None


def start(world: World) -> None:
    """At build: draw who is a member (the starting base) and who will join on arrival.

    Non-members of the starting base lose the points and tier their history gave them.
    """
    e = enrolment_of(world.scenario)
    if e is None:
        return
    pop = world.pop
    rows = np.arange(pop.capacity)
    share = np.where(rows < pop.n_initial, e.initial_share, e.arrival_share * (1 - e.complexity))
    pop.enrolled[:] = counter_uniform(world.seed, "enrolment_start", rows) < share
    out = ~pop.enrolled
    pop.points[out] = 0.0
    pop.period_points[out] = 0.0
    pop.tier[out] = 0
    pop.extra["members_start"] = np.array(int(pop.enrolled[: pop.n_initial].sum()))


def _join(world: World, rows: np.ndarray) -> None:
    world.pop.enrolled[rows] = True
    world.log.add("enrolments", float(rows.size))


def step(world: World, day: int) -> None:
    """The day's enrolments at the base rate, among the non-members in the base."""
    e = enrolment_of(world.scenario)
    if e is None:
        return
    p = -np.expm1(-e.rate_per_year * (1 - e.complexity) / 365.0)
    rows = np.flatnonzero(world.present & ~world.pop.enrolled) if p > 0 else np.zeros(0, int)
    u = counter_uniform(world.seed, "enrolment", rows, day)
    _join(world, rows[u < p])


def on_delivery(
    world: World,
    day: int,
    rows: np.ndarray,
    channels: np.ndarray,
    nth: np.ndarray,
    content: str,
) -> None:
    """Enrolments caused by one send's delivered messages (``rows`` are unique in a send).

    Parameters
    ----------
    world
        The run.
    day, rows, channels, nth
        When, to whom, on which channel, and how many messages on that channel the customer had
        already that day (the keys of the draw).
    content
        The messages' content; ``reward`` is a message about the programme.
    """
    e = enrolment_of(world.scenario)
    if e is None:
        return
    per = e.per_programme_message if content == PROGRAMME_CONTENT else e.per_message
    p = per * (1 - e.complexity)
    if p <= 0:
        return
    cand = np.flatnonzero(~world.pop.enrolled[rows] & world.present[rows])
    if cand.size == 0:
        return
    u = counter_uniform(world.seed, "enrolment_message", rows[cand], day, channels[cand], nth[cand])
    joined = rows[cand][u < p]
    if joined.size:
        _join(world, joined)
        world.log.add("enrolments_by_message", float(joined.size))
