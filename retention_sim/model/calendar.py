"""The calendar: which days each calendar event covers, and every day's purchase multiplier."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import numpy as np

from ..config.scenario import Event, Scenario

__all__ = ["calendar_multipliers", "covers", "event_days"]


def covers(ev: Event, date: dt.date) -> bool:
    """Whether the calendar event ``ev`` covers ``date``.

    A yearly event's start is moved to the date's year, or to the year before when the date
    falls before it (so a late-December event still covers early January); 29 February becomes
    28 February in common years.
    """
    start = ev.start
    if ev.repeat_yearly:
        try:
            start = start.replace(year=date.year)
        except ValueError:  # 29 February in a common year
            start = start.replace(year=date.year, day=28)
        # an event that began late last year may still run
        if (date - start).days < 0:
            try:
                start = ev.start.replace(year=date.year - 1)
            except ValueError:
                start = ev.start.replace(year=date.year - 1, day=28)
    return 0 <= (date - start).days < ev.days


def calendar_multipliers(scenario: Scenario, horizon: int) -> np.ndarray:
    """Purchase multiplier of every day of the horizon: weekday pattern × calendar events
    covering the day (events repeat yearly if asked)."""
    cal = scenario.calendar
    out = np.ones(horizon)
    for d in range(horizon):
        date = dt.date.fromordinal(cal.start.toordinal() + d)
        m = cal.weekday_purchase_multiplier[date.weekday()]
        for ev in cal.events:
            if covers(ev, date):
                m *= ev.purchase_multiplier
        out[d] = m
    return out


def event_days(scenario: Scenario, names: Collection[str], horizon: int) -> np.ndarray:
    """Whether any of the calendar events named in ``names`` covers each day of the horizon."""
    cal = scenario.calendar
    events = [ev for ev in cal.events if ev.name in names]
    out = np.zeros(horizon, dtype=bool)
    for d in range(horizon if events else 0):
        date = dt.date.fromordinal(cal.start.toordinal() + d)
        out[d] = any(covers(ev, date) for ev in events)
    return out
