"""Contact fatigue: a stock per customer and channel that each delivered message raises by the
channel's weight and that decays exponentially with the channel's half-life.

The mechanism reads the scenario's channels only, never the policy; it runs in a run with a
contact policy (without one nobody is contacted and every stock stays zero).
"""

from __future__ import annotations

import numpy as np

from ..vocabulary import CHANNELS
from .kernels import compiled, njit
from .population import Population
from .world import World

__all__ = ["Fatigue", "total_fatigue"]


def total_fatigue(pop: Population, rows: np.ndarray) -> np.ndarray:
    """Total fatigue of ``rows`` over channels, in float64 (one gather per channel column)."""
    out = pop.fatigue[:, 0][rows].astype(np.float64)
    for k in range(1, pop.fatigue.shape[1]):
        out += pop.fatigue[:, k][rows]
    return out


class Fatigue:
    """Fatigue stocks of one run: the daily decay, what a message adds, the day's totals."""

    def __init__(self, world: World) -> None:
        self.world = world
        chans = [world.scenario.channels.get(c) for c in CHANNELS]
        #: What one delivered message adds, per channel (float32, like the stock).
        self.weight = np.array([c.fatigue_weight if c else 0.0 for c in chans], dtype=np.float32)
        half = np.array([c.fatigue_half_life_days if c else 1.0 for c in chans])
        #: Share of the stock kept from one day to the next, per channel.
        self.keep = (0.5 ** (1.0 / half)).astype(np.float32)
        #: Whether :meth:`totals` uses the compiled pass (see :mod:`.kernels`).
        self.compiled = compiled()

    def decay(self, day: int) -> None:
        """A day's decay of every stock."""
        self.world.pop.fatigue *= self.keep

    def ratio(self, rows: np.ndarray) -> np.ndarray:
        """Total fatigue of ``rows`` over their tolerance (what responses react to)."""
        pop = self.world.pop
        return total_fatigue(pop, rows) / np.maximum(pop.fatigue_tolerance[rows], 1e-9)

    def add(self, rows: np.ndarray, channels: np.ndarray) -> None:
        """One delivered message on ``channels[i]`` to each of ``rows[i]`` (unique rows)."""
        self.world.pop.fatigue[rows, channels] += self.weight[channels]

    def totals(self, day: int) -> None:
        """Every row's total fatigue after today's contacts, for the annoyance hazard, and the
        day's mean and share over tolerance among the customers present (the sum in row
        order, by the compiled pass :func:`_totals_kernel` or by NumPy: the same bits)."""
        w = self.world
        pop = w.pop
        if self.compiled:
            ftot = np.empty(pop.capacity, dtype=np.float32)
            n, total, over = _totals_kernel(pop.fatigue, pop.fatigue_tolerance, w.present, ftot)
        else:
            ftot = pop.fatigue.sum(axis=1)
            here = ftot[w.present]
            n = here.size
            total = float(np.cumsum(here, dtype=np.float64)[-1]) if n else 0.0
            over = int(np.count_nonzero((ftot > pop.fatigue_tolerance) & w.present))
        w.today.fatigue_total = ftot
        if n:
            w.log.set("fatigue_mean", total / n)
            w.log.set("over_tolerance_share", float(over) / n)


@njit
def _totals_kernel(fatigue, tolerance, present, out):
    """Each row's total over channels (float32, in channel order, as NumPy's ``sum(axis=1)``)
    into ``out``; returns the customers present, their total (float64, in row order) and how
    many are over their tolerance."""
    n = 0
    total = 0.0
    over = 0
    for i in range(out.size):
        s = fatigue[i, 0]
        for k in range(1, fatigue.shape[1]):
            s = s + fatigue[i, k]
        out[i] = s
        if present[i]:
            n += 1
            total += np.float64(s)
            over += s > tolerance[i]
    return n, total, over
