"""Messages per customer in a rolling or calendar window: what caps and frequency classes count."""

from __future__ import annotations

import datetime as dt

import numpy as np

__all__ = ["CapCounter"]


class CapCounter:
    """Messages per customer in a rolling or calendar window, for one cap.

    Parameters
    ----------
    n
        Rows of the population.
    window_days
        Length of the window.
    calendar
        Calendar windows (weeks from Monday, months, or blocks of ``window_days``) instead of
        a rolling window.
    start
        The date of day 0.
    max_per_day
        The most messages a customer can get in one day (sizes the per-day buckets).
    """

    def __init__(self, n: int, window_days: int, calendar: bool, start: dt.date, max_per_day: int):
        self.window = window_days
        self.calendar = calendar
        self.start = start
        self.count = np.zeros(n, dtype=np.int32)
        # messages per customer and day of the window: a customer gets at most one message per
        # campaign step a day, so one byte is enough for any policy of fewer than 256 steps
        small = np.uint8 if max_per_day < 256 else np.uint16
        self.buckets = None if calendar else np.zeros((window_days, n), dtype=small)
        self.period = -1

    def _period(self, day: int) -> int:
        date = self.start + dt.timedelta(days=day)
        if self.window == 7:  # calendar weeks start on Monday
            return (date.toordinal() - date.weekday()) // 7
        if self.window in (28, 29, 30, 31):  # calendar months
            return date.year * 12 + date.month
        return day // self.window

    def new_day(self, day: int) -> None:
        """Forget what left the window (rolling) or start a new period (calendar)."""
        if self.calendar:
            p = self._period(day)
            if p != self.period:
                self.count[:] = 0
                self.period = p
        else:
            assert self.buckets is not None
            b = self.buckets[day % self.window]
            self.count -= b
            b[:] = 0

    def add(self, day: int, rows: np.ndarray) -> None:
        """Count one message for each of ``rows`` (unique within one send)."""
        self.count[rows] += 1
        if self.buckets is not None:
            self.buckets[day % self.window][rows] += 1
