"""Competitor pressure: random and scheduled campaigns that multiply competitor churn."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from .world import World

__all__ = ["Competitor"]


class Competitor:
    """The competitor of one run: its random campaigns (a SimPy process) and the pressure."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.cfg = world.scenario.churn.causes.competitor
        #: Random campaigns running now.
        self.active = 0
        start = world.scenario.calendar.start
        #: Scheduled campaigns as ``(first day, last day + 1, multiplier)``.
        self.scheduled = [
            ((ev.start - start).days, (ev.start - start).days + ev.days, ev.multiplier)
            for ev in self.cfg.scheduled_events
        ]

    def process(self) -> Generator[Any, Any, None]:
        """SimPy process: competitor campaigns arrive as a Poisson process.

        Each campaign lasts ``event_days`` days and multiplies the competitor hazard by
        ``event_multiplier`` while it runs (overlapping campaigns multiply). The timing comes
        from its own stream, so it is the same under every policy.
        """
        comp = self.cfg
        if comp.events_per_year <= 0:
            return
        rng = self.world.streams["competitor_events"]
        env = self.world.env
        while True:
            yield env.timeout(rng.exponential(365.0 / comp.events_per_year))
            env.process(self._campaign(comp.event_days))

    def _campaign(self, days: float) -> Generator[Any, Any, None]:
        self.active += 1
        yield self.world.env.timeout(days)
        self.active -= 1

    def pressure(self, day: int) -> float:
        """Pressure on ``day``: random campaigns running × scheduled campaigns covering the day."""
        m = self.cfg.event_multiplier**self.active
        for lo, hi, mult in self.scheduled:
            if lo <= day < hi:
                m *= mult
        return float(m)

    def step(self, day: int) -> None:
        """Set today's competitor pressure (read by the churn step)."""
        self.world.today.competitor_pressure = self.pressure(day)
