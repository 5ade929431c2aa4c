"""Cadences: the days of the horizon on which a scheduled campaign sends (a pure function)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ...config.policy import Cadence
from ...vocabulary import WEEKDAYS

__all__ = ["firing_days"]


def firing_days(cadence: Cadence | None, start: dt.date, horizon: int) -> np.ndarray | None:
    """Which days ``0 … horizon−1`` a cadence sends on (``None`` for trigger-driven campaigns).

    Parameters
    ----------
    cadence
        The campaign's cadence (``None``, or a ``trigger`` cadence: sends are not scheduled).
    start
        The calendar date of day 0.
    horizon
        Days in the run.

    Returns
    -------
    numpy.ndarray or None
        A boolean array, one entry per day.

    Notes
    -----
    ``daily`` sends every day; ``weekly`` / ``biweekly`` every 7 / 14 days from the first
    ``weekday`` (or from ``offset_days``); ``monthly`` on ``day_of_month`` (default: the start
    date's day when it is at most 28, else the 1st) and ``quarterly`` on that day every third
    month from the start month; ``every_n_days`` from ``offset_days``; ``dates`` on each date
    inside the horizon.
    """
    cad = cadence
    if cad is None or cad.trigger is not None:
        return None
    h = horizon
    days = np.arange(h)
    dates = [start + dt.timedelta(days=int(d)) for d in days]
    wd = np.array([d.weekday() for d in dates])
    dom = np.array([d.day for d in dates])
    month = np.array([d.month for d in dates])
    fires = np.zeros(h, dtype=bool)
    if cad.every == "daily":
        fires[:] = True
    elif cad.every in ("weekly", "biweekly"):
        step = 7 if cad.every == "weekly" else 14
        if cad.weekday is not None:
            first = (
                int(np.flatnonzero(wd == WEEKDAYS.index(cad.weekday))[0])
                if h >= 7 or (wd == WEEKDAYS.index(cad.weekday)).any()
                else h
            )
            fires[first::step] = True
        else:
            fires[cad.offset_days :: step] = True
    elif cad.every in ("monthly", "quarterly"):
        target = cad.day_of_month or start.day if start.day <= 28 else 1
        fires = dom == (cad.day_of_month or target)
        if cad.every == "quarterly":
            fires &= ((month - start.month) % 3) == 0
    elif cad.every_n_days is not None:
        fires[cad.offset_days :: cad.every_n_days] = True
    elif cad.dates is not None:
        wanted = {d.toordinal() - start.toordinal() for d in cad.dates}
        for d in wanted:
            if 0 <= d < h:
                fires[d] = True
    return fires
