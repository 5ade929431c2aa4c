"""The state of one simulation run, shared by the mechanisms that advance it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from ..config.scenario import Scenario
from .logs import DailyLog, EventLog
from .population import Population
from .random_streams import Streams

__all__ = ["World"]


@dataclass
class World:
    """Everything one run needs: the environment, the scenario, the population and the logs.

    Mechanisms receive the world explicitly (no hidden globals) and change the population arrays
    in place.
    """

    env: simpy.Environment
    scenario: Scenario
    pop: Population
    streams: Streams
    horizon: int
    log: DailyLog
    transactions: EventLog
    service_log: EventLog
    present: np.ndarray
    arrivals_index: np.ndarray  # rows of day d's arrivals: arrivals_index[d]:arrivals_index[d+1]
    day: int = 0
    competitor_pressure: float = 1.0
    purchase_boost: np.ndarray | None = None  # per-customer multiplier set by contact policies
    transitions: np.ndarray = field(default_factory=lambda: np.zeros((7, 7), dtype=np.int64))
    components: dict[str, Any] = field(default_factory=dict)

    def discount_factor(self, day: float) -> float:
        """Present-value factor of money on ``day`` at the scenario's annual discount rate."""
        r = self.scenario.economics.annual_discount_rate
        return float((1.0 + r) ** (-day / 365.0))

    def daily_uniforms(self, stream: str) -> np.ndarray:
        """One uniform per row for today from ``stream``, independent of the referral reserve.

        The rows every policy shares (the base and the ordinary arrivals) draw from ``stream``;
        reserve rows, which exist only when a policy runs a referral programme, draw from a
        stream of their own, so a reserve never shifts anybody else's luck.
        """
        pop = self.pop
        main = int(pop.extra.get("reserve_start", pop.capacity))
        u = self.streams[stream].random(main)
        if main < pop.capacity:
            u = np.concatenate([u, self.streams[f"{stream}_reserve"].random(pop.capacity - main)])
        return u

    def present_rows(self) -> np.ndarray:
        """Rows of the customers currently in the base (arrived and not churned)."""
        return np.flatnonzero(self.present)

    def set_stage(self, rows: np.ndarray, new: int | np.ndarray) -> None:
        """Move ``rows`` to stage ``new``, counting every change in the transition matrix."""
        if rows.size == 0:
            return
        old = self.pop.stage[rows]
        new_arr = np.broadcast_to(np.asarray(new, dtype=np.int8), rows.shape)
        changed = (old != new_arr) & (old >= 0)
        if changed.any():
            k = self.transitions.shape[0]
            flat = old[changed].astype(np.int64) * k + new_arr[changed]
            self.transitions += np.bincount(flat, minlength=k * k).reshape(k, k)
        self.pop.stage[rows] = new_arr
