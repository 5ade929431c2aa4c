"""Messages per customer in a rolling or calendar window: what caps and frequency classes count.

A :class:`CounterBank` keeps the counts and the per-day buckets of several counters in one
array each (each :class:`CapCounter` holds views of them), so that one compiled kernel rolls
them all at the start of a day (:func:`_roll_kernel`, when kernels are on:
:mod:`~retention_sim.model.kernels`) and the guardrails' kernels reach every counter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from ..kernels import compiled, njit

__all__ = ["CapCounter", "CounterBank", "bucket_dtype"]


def bucket_dtype(max_per_day: int) -> type[np.unsignedinteger]:
    """The integer type of the per-day buckets: a customer gets at most one message per campaign
    step a day, so one byte is enough for any policy of fewer than 256 steps."""
    return np.uint8 if max_per_day < 256 else np.uint16


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
    count, buckets
        Arrays to count in (``n`` int32; ``window_days × n`` of :func:`bucket_dtype`, for a
        rolling window), zeros, when the counter lives in a :class:`CounterBank`; its own
        otherwise.
    """

    def __init__(
        self,
        n: int,
        window_days: int,
        calendar: bool,
        start: dt.date,
        max_per_day: int,
        *,
        count: np.ndarray | None = None,
        buckets: np.ndarray | None = None,
    ) -> None:
        self.window = window_days
        self.calendar = calendar
        self.start = start
        self.count = np.zeros(n, dtype=np.int32) if count is None else count
        if calendar:
            self.buckets = None
        elif buckets is None:
            self.buckets = np.zeros((window_days, n), dtype=bucket_dtype(max_per_day))
        else:
            self.buckets = buckets
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


class CounterBank:
    """Several window counters whose counts and buckets share one array each.

    Parameters
    ----------
    n
        Rows of the population.
    windows
        ``(window_days, calendar)`` of each counter (see :class:`CapCounter`).
    start, max_per_day
        As for :class:`CapCounter`.
    """

    def __init__(
        self, n: int, windows: Sequence[tuple[int, bool]], start: dt.date, max_per_day: int
    ) -> None:
        #: Whether :meth:`new_day` rolls the rolling windows by the compiled kernel.
        self.compiled = compiled()
        #: Counter ``k``'s counts are row ``k``.
        self.count = np.zeros((len(windows), n), dtype=np.int32)
        rolling = sum(w for w, calendar in windows if not calendar)
        #: The rolling counters' buckets, counter after counter (``window_days`` rows each).
        self.buckets = np.zeros((rolling, n), dtype=bucket_dtype(max_per_day))
        self.window = np.array([max(w, 1) for w, _ in windows], dtype=np.int64)
        #: Counter ``k``'s first row in :attr:`buckets`, -1 for a calendar window.
        self.offset = np.full(len(windows), -1, dtype=np.int64)
        self._today: tuple[int, np.ndarray] = (-1, self.offset)
        self.counters: list[CapCounter] = []
        first = 0
        for k, (w, calendar) in enumerate(windows):
            b = None
            if not calendar:
                b, self.offset[k] = self.buckets[first : first + w], first
                first += w
            self.counters.append(
                CapCounter(n, w, calendar, start, max_per_day, count=self.count[k], buckets=b)
            )

    def today(self, day: int) -> np.ndarray:
        """Each counter's row of ``day`` in :attr:`buckets` (-1 for a calendar window)."""
        if self._today[0] != day:
            self._today = (day, np.where(self.offset >= 0, self.offset + day % self.window, -1))
        return self._today[1]

    def new_day(self, day: int) -> None:
        """Roll every counter to ``day`` (:meth:`CapCounter.new_day`; the rolling windows by
        :func:`_roll_kernel` when compiled)."""
        if not self.compiled:
            for counter in self.counters:
                counter.new_day(day)
            return
        for counter in self.counters:
            if counter.calendar:
                counter.new_day(day)
        if self.buckets.shape[0]:
            _roll_kernel(self.count, self.buckets, self.today(day))


@njit
def _roll_kernel(count, buckets, today):  # fmt: skip
    """For each counter ``k`` with a rolling window (``today[k] >= 0``): subtract its bucket
    row ``today[k]`` from its counts and empty that row, as :meth:`CapCounter.new_day` does."""
    for k in range(today.size):
        j = today[k]
        if j >= 0:
            c = count[k]
            b = buckets[j]
            for i in range(c.size):
                c[i] -= b[i]
            b[:] = 0
