"""Frequency classes per customer, in the style of Salesforce's engagement frequency.

From the last ``window_days`` (28) days of messages delivered to a customer (``s``, every
channel) and of those opened (``o``; a click is an open), each customer is

- **saturated** when ``s >= saturated_at`` (12), or ``s >= undersaturated_below`` (4) and the
  open share ``o / s`` is below ``min_open_share`` (0.05): more messages than engagement;
- **undersaturated** when not saturated and ``s < undersaturated_below``: room for more;
- **on target** otherwise.

Audiences can select classes (``audience.frequency_class``) and a guardrail can refuse
messages to saturated customers (``guardrails.skip_saturated``, refusal reason
``saturated``). The counts roll like a cap's window (:class:`~.windows.CapCounter`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ...config.policy import FrequencyRules
from .windows import CounterBank

__all__ = ["FREQUENCY_CLASSES", "FrequencyClasses"]

#: The classes, by code.
FREQUENCY_CLASSES: tuple[str, ...] = ("undersaturated", "on_target", "saturated")


class FrequencyClasses:
    """Rolling counts of messages delivered and opened per customer, and the class they give.

    Parameters
    ----------
    n
        Rows of the population.
    rules
        The thresholds.
    start
        The date of day 0.
    max_per_day
        The most messages a customer can get in one day (sizes the per-day buckets).
    """

    def __init__(self, n: int, rules: FrequencyRules, start: dt.date, max_per_day: int) -> None:
        self.rules = rules
        #: The deliveries' and the opens' counts (rows 0 and 1 of its ``count``).
        self.bank = CounterBank(n, [(rules.window_days, False)] * 2, start, max_per_day)
        self.sent, self.opened = self.bank.counters

    def new_day(self, day: int) -> None:
        """Forget what left the window."""
        self.bank.new_day(day)

    def classes(self, rows: np.ndarray | slice) -> np.ndarray:
        """The class code of each of ``rows`` (see :data:`FREQUENCY_CLASSES`)."""
        r = self.rules
        s = self.sent.count[rows].astype(np.int64)
        o = self.opened.count[rows].astype(np.int64)
        saturated = (s >= r.saturated_at) | (
            (s >= r.undersaturated_below) & (o < r.min_open_share * s)
        )
        under = ~saturated & (s < r.undersaturated_below)
        return np.where(saturated, 2, np.where(under, 0, 1)).astype(np.int8)
