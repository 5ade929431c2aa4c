"""Daily metrics, accumulated in preallocated arrays (no frames inside the loop)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DailyLog", "EventLog"]

_FLUSH_ROWS = 4096  # records kept as tuples before they are packed into arrays


class DailyLog:
    """Named numeric columns, one value per simulated day.

    ``add(name, value)`` adds to today's cell, creating the column on first use, so mechanisms
    record what they do without a central list of columns.
    """

    def __init__(self, days: int):
        self.days = int(days)
        self.day = 0
        self._cols: dict[str, np.ndarray] = {}

    def _col(self, name: str) -> np.ndarray:
        col = self._cols.get(name)
        if col is None:
            col = np.zeros(self.days)
            self._cols[name] = col
        return col

    def add(self, name: str, value: float) -> None:
        """Add ``value`` to column ``name`` on the current day."""
        if 0 <= self.day < self.days:
            self._col(name)[self.day] += value

    def add_on(self, day: int, name: str, value: float) -> None:
        """Add ``value`` to column ``name`` on ``day`` (for events finishing later)."""
        if 0 <= day < self.days:
            self._col(name)[day] += value

    def set(self, name: str, value: float) -> None:
        """Set column ``name`` on the current day (for stock variables such as counts)."""
        if 0 <= self.day < self.days:
            self._col(name)[self.day] = value

    def has(self, name: str) -> bool:
        """Whether anything was ever recorded in column ``name``."""
        return name in self._cols

    def column(self, name: str) -> np.ndarray:
        """The whole column (zeros if nothing was ever recorded)."""
        return self._cols.get(name, np.zeros(self.days))

    def total(self, name: str) -> float:
        """Sum of a column over the horizon."""
        return float(self.column(name).sum())

    def frame(self, start: pd.Timestamp, order: list[str] | None = None) -> pd.DataFrame:
        """The log as a DataFrame indexed by calendar date."""
        names = list(order or []) + sorted(set(self._cols) - set(order or []))
        data = {n: self.column(n) for n in names}
        idx = pd.date_range(start, periods=self.days, freq="D", name="date")
        return pd.DataFrame(data, index=idx)


class EventLog:
    """Sparse per-event records (transactions, service requests).

    Vectorised producers append equal-length arrays (:meth:`append`); per-event producers such
    as SimPy processes append one record of scalars (:meth:`record`), which is much cheaper than
    wrapping each value in an array.
    """

    def __init__(self, fields: tuple[str, ...]):
        self.fields = fields
        self._chunks: dict[str, list[np.ndarray]] = {f: [] for f in fields}
        self._rows: list[tuple] = []

    def append(self, **arrays: np.ndarray) -> None:
        """Append equal-length arrays, one per field."""
        self._flush()
        for f in self.fields:
            self._chunks[f].append(np.atleast_1d(np.asarray(arrays[f])))

    def record(self, *values: object) -> None:
        """Append one record, values in the order of ``fields``."""
        self._rows.append(values)
        if len(self._rows) >= _FLUSH_ROWS:
            self._flush()  # a long list of tuples would burden the garbage collector

    def _flush(self) -> None:
        if self._rows:
            cols = list(zip(*self._rows, strict=True))
            self._rows = []
            for f, col in zip(self.fields, cols, strict=True):
                self._chunks[f].append(np.asarray(col))

    def chunks(self, field: str, start: int = 0) -> list[np.ndarray]:
        """The arrays of ``field`` as appended, from the ``start``-th on (records packed first).

        A reader that remembers how many it has seen reads only what was appended since; the
        chunks are never merged or reordered.
        """
        self._flush()
        return self._chunks[field][start:]

    def arrays(self) -> dict[str, np.ndarray]:
        """The concatenated records, one array per field."""
        self._flush()
        return {f: (np.concatenate(c) if c else np.zeros(0)) for f, c in self._chunks.items()}
