"""The state of one simulation run, shared by the mechanisms that advance it.

Two kinds of shared state:

- what lasts: the population arrays, the logs, who is present, the stage-transition counts, the
  ties a referral adds, the competitor campaigns running; built by
  :func:`~retention_sim.model.simulation.build_world` and changed in place day after day;
- what one mechanism computes during the day for a later one to read the same day
  (:class:`DayState`): the competitor pressure, the purchase multipliers a contact policy sets,
  today's buyers, the dormant customers a contact woke up, the fatigue totals. Each of its
  fields starts the day unset, so a mechanism that read one before its writer ran would fail at
  once; :data:`~retention_sim.model.simulation.DAY_ORDER` declares who writes and who reads
  each, and a test checks the declaration against what a run does.

The seed reaches mechanisms once, through :attr:`World.streams` (``world.seed`` reads it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

import numpy as np
import simpy

from ..config.scenario import Scenario
from .kernels import compiled
from .logs import DailyLog, EventLog
from .population import ExtraTies, Population
from .random_streams import Streams

__all__ = ["World", "DayState", "DayStateError", "NO_POLICY_DAY"]

T = TypeVar("T")


class DayStateError(RuntimeError):
    """A mechanism read a day value before the mechanism that writes it ran that day."""


class _DayValue(Generic[T]):
    """A field of :class:`DayState`: unset at the start of each day, set by one mechanism."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _DayValue[T]: ...

    @overload
    def __get__(self, obj: DayState, objtype: type | None = None) -> T: ...

    def __get__(self, obj: DayState | None, objtype: type | None = None) -> T | _DayValue[T]:
        if obj is None:
            return self
        try:
            value = obj._values[self.name]
        except KeyError:
            raise DayStateError(
                f"{self.name!r} was read (by {obj.step or 'a mechanism'}) before any mechanism "
                "wrote it today: see DAY_ORDER in retention_sim/model/simulation.py"
            ) from None
        if obj.trace is not None:
            obj.trace.append((obj.step, "read", self.name))
        return value

    def __set__(self, obj: DayState, value: T) -> None:
        obj._values[self.name] = value
        if obj.trace is not None:
            obj.trace.append((obj.step, "write", self.name))


class DayState:
    """Values computed during one day by one mechanism and read later that day by another.

    Attributes
    ----------
    competitor_pressure
        Multiplier of the competitor hazard today (random and scheduled competitor campaigns).
    purchase_boost
        Per-row purchase multiplier set by a contact policy (offers, clicks, membership), or
        ``None`` without a policy.
    purchase_hazard, basket_multiplier
        Per-row purchase hazard added, and basket multiplier, by fitted message responses in
        their windows (``None`` without a fitted response).
    visit_hazard
        Per-row visit hazard added by fitted message responses with a visit model in their
        windows (``None`` without one).
    buyers, amounts
        Today's buyers (rows) and what each spent.
    woken
        Rows of dormant customers a contact woke up (their competitor pull is raised), or
        ``None`` without a policy.
    wakeup_multiplier
        How much a wake-up raises the competitor hazard.
    fatigue_total
        Total fatigue of every row after today's contacts, or ``None`` without a policy (then
        there is no fatigue and no annoyance churn).
    """

    competitor_pressure: _DayValue[float] = _DayValue()
    purchase_boost: _DayValue[np.ndarray | None] = _DayValue()
    purchase_hazard: _DayValue[np.ndarray | None] = _DayValue()
    basket_multiplier: _DayValue[np.ndarray | None] = _DayValue()
    visit_hazard: _DayValue[np.ndarray | None] = _DayValue()
    buyers: _DayValue[np.ndarray] = _DayValue()
    amounts: _DayValue[np.ndarray] = _DayValue()
    woken: _DayValue[np.ndarray | None] = _DayValue()
    wakeup_multiplier: _DayValue[float] = _DayValue()
    fatigue_total: _DayValue[np.ndarray | None] = _DayValue()

    FIELDS: tuple[str, ...] = (
        "competitor_pressure",
        "purchase_boost",
        "purchase_hazard",
        "basket_multiplier",
        "visit_hazard",
        "buyers",
        "amounts",
        "woken",
        "wakeup_multiplier",
        "fatigue_total",
    )

    def __init__(self, constant: dict[str, Any] | None = None) -> None:
        self._values: dict[str, Any] = {}
        #: Values that hold all run long (written at build time), e.g. no contact policy.
        self.constant: dict[str, Any] = dict(constant or {})
        #: The mechanism running now (set by the day's loop, for messages and traces).
        self.step: str | None = None
        #: When a list, every read and write is appended as ``(step, "read"|"write", field)``.
        self.trace: list[tuple[str | None, str, str]] | None = None
        self.new_day()

    def new_day(self) -> None:
        """Forget yesterday's values; keep the constant ones."""
        self._values = dict(self.constant)


#: The day values of a run without a contact policy: no boost, nobody woken, no fatigue.
NO_POLICY_DAY: dict[str, Any] = {
    "purchase_boost": None,
    "purchase_hazard": None,
    "basket_multiplier": None,
    "visit_hazard": None,
    "woken": None,
    "wakeup_multiplier": 1.0,
    "fatigue_total": None,
}


@dataclass
class World:
    """Everything one run needs: the environment, the scenario, the population and the logs.

    Mechanisms receive the world explicitly (no hidden globals) and change the population arrays
    in place.

    Attributes
    ----------
    env
        The SimPy environment (one time unit is one day).
    scenario
        The validated scenario.
    pop
        The population arrays.
    streams
        The replication's random streams (and its seed).
    horizon
        Days simulated.
    log, transactions, service_log
        The daily series and the sparse event logs.
    present
        Customers in the base now (arrived and not churned).
    arrivals_index
        Rows of day *d*'s arrivals: ``arrivals_index[d]:arrivals_index[d + 1]``.
    arrivals_per_day
        Mean arrivals a day, scaled to the base size.
    scale
        Base size relative to the scenario's (staff scale with it, as arrivals do).
    stage_counts_start
        Customers per stage on day 0.
    today
        The day's values (see :class:`DayState`).
    extra_ties
        Ties added during the run (a referral ties the two customers).
    transitions
        Stage changes counted from row stage to column stage.
    day
        The current day.
    kernels
        Whether the run's steps use the compiled kernels (:func:`~.kernels.compiled`, read
        once, when the world is built): the steps that are plain functions read it here.
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
    arrivals_index: np.ndarray
    arrivals_per_day: float = 0.0
    scale: float = 1.0
    stage_counts_start: list[int] = field(default_factory=list)
    today: DayState = field(default_factory=DayState)
    extra_ties: ExtraTies = field(default_factory=ExtraTies)
    transitions: np.ndarray = field(default_factory=lambda: np.zeros((7, 7), dtype=np.int64))
    day: int = 0
    kernels: bool = field(default_factory=compiled)

    @property
    def seed(self) -> int:
        """The replication's seed (the one held by :attr:`streams`)."""
        return self.streams.seed

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
