"""Competitor pressure: random and scheduled events that multiply competitor churn."""

from __future__ import annotations

from .world import World

__all__ = ["competitor_process", "scheduled_pressure"]


def competitor_process(world: World):
    """SimPy process: competitor campaigns arrive as a Poisson process.

    Each campaign lasts ``event_days`` days and multiplies the competitor hazard by
    ``event_multiplier`` while it runs (overlapping campaigns multiply). The timing comes from
    its own stream, so it is the same under every policy.
    """
    comp = world.scenario.churn.causes.competitor
    if comp.events_per_year <= 0:
        return
    rng = world.streams["competitor_events"]
    env = world.env
    while True:
        yield env.timeout(rng.exponential(365.0 / comp.events_per_year))
        env.process(_campaign(world, comp.event_days, comp.event_multiplier))


def _campaign(world: World, days: float, multiplier: float):
    active = world.components.setdefault("competitor_active", [0])
    active[0] += 1
    yield world.env.timeout(days)
    active[0] -= 1


def scheduled_pressure(world: World, day: int) -> float:
    """Pressure on ``day``: random campaigns running × scheduled campaigns covering the day."""
    comp = world.scenario.churn.causes.competitor
    active = world.components.get("competitor_active", [0])[0]
    m = comp.event_multiplier**active
    start = world.scenario.calendar.start
    for ev in comp.scheduled_events:
        off = (ev.start - start).days
        if off <= day < off + ev.days:
            m *= ev.multiplier
    return float(m)
