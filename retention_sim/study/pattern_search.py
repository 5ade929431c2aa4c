"""An adaptive search over a box of integer or continuous fields, on common random numbers.

The search starts from a coarse grid (``grid`` values per field) and then, round after round,
evaluates the midpoints between each target's current best point and its neighbours, halving
the step along every field. It stops when no target has a new point to try: the step has reached
one for an integer field, or ``resolution`` of the range for a continuous one. Every point is
evaluated on the same replications (the caller's seeds), so points are compared in pairs.
Several *targets* can be searched at once (the whole base, and each group of ``--by``): every
target refines around its own best point, and all share the evaluations.

This is a compass (pattern) search with halving steps (Kolda, Lewis and Torczon 2003,
*Optimization by direct search*, SIAM Review 45(3), 385–482). It finds a local optimum of
the replication means; on the unimodal curves that contact cadence gives (the inverted U), that
is the optimum. Because the comparison between points is noisy, the result always comes with
the points that cannot be told apart from the best.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import statistics as st

__all__ = ["Dimension", "SearchResult", "pattern_search", "indistinguishable"]

Point = tuple[float, ...]


@dataclass(frozen=True)
class Dimension:
    """One searched field: its name, its range and whether it takes whole numbers."""

    field: str
    low: float
    high: float
    integer: bool

    def grid(self, n: int) -> list[float]:
        """``n`` evenly spaced values from ``low`` to ``high`` (rounded for integers)."""
        vals = np.linspace(self.low, self.high, max(2, n))
        if self.integer:
            return sorted({float(round(v)) for v in vals})
        return [float(v) for v in vals]

    def snap(self, v: float) -> float:
        """``v`` clipped to the range (and rounded for integers)."""
        v = min(max(v, self.low), self.high)
        return float(round(v)) if self.integer else float(v)


@dataclass
class SearchResult:
    """Every evaluated point and each target's best.

    Attributes
    ----------
    values
        ``{point: {target: per-replication values}}``.
    best
        ``{target: best point}`` (larger is better; the caller flips signs).
    rounds
        Refinement rounds run after the grid.
    """

    values: dict[Point, dict[str, np.ndarray]]
    best: dict[str, Point]
    rounds: int


def _best(
    values: Mapping[Point, Mapping[str, np.ndarray]],
    target: str,
    feasible: Callable[[Point], bool],
) -> Point:
    pts = [p for p in values if target in values[p]]
    ok = [p for p in pts if feasible(p)] or pts
    return max(ok, key=lambda p: (float(np.mean(values[p][target])), tuple(-x for x in p)))


def pattern_search(
    dims: Sequence[Dimension],
    evaluate: Callable[[list[Point]], Mapping[Point, Mapping[str, np.ndarray]]],
    *,
    grid: int = 5,
    resolution: float = 0.01,
    max_rounds: int = 12,
    feasible: Callable[[Point], bool] | None = None,
) -> SearchResult:
    """Search ``dims`` for the point with the largest mean of each target (see the module).

    Parameters
    ----------
    dims
        The fields and their ranges.
    evaluate
        ``evaluate(points)`` returns, per point, ``{target: values per replication}``; it is
        called with new points only.
    grid
        Values per field of the starting grid.
    resolution
        The smallest step of a continuous field, as a share of its range.
    max_rounds
        A cap on refinement rounds.
    feasible
        ``feasible(point)``: whether the point's guardrails hold; the best is taken among the
        feasible points when there are any.
    """
    ok = feasible or (lambda p: True)
    start = [tuple(v) for v in itertools.product(*(d.grid(grid) for d in dims))]
    values: dict[Point, dict[str, np.ndarray]] = {
        p: {k: np.asarray(v, float) for k, v in r.items()} for p, r in evaluate(start).items()
    }
    targets = sorted({t for r in values.values() for t in r})
    steps = [(d.high - d.low) / max(1, grid - 1) for d in dims]
    floor = [1.0 if d.integer else resolution * (d.high - d.low) for d in dims]
    rounds = 0
    while rounds < max_rounds:
        steps = [max(s / 2, f) for s, f in zip(steps, floor, strict=True)]
        new: set[Point] = set()
        for t in targets:
            b = _best(values, t, ok)
            for i, d in enumerate(dims):
                for sign in (-1, 1):
                    q = list(b)
                    q[i] = d.snap(b[i] + sign * steps[i])
                    if tuple(q) not in values:
                        new.add(tuple(q))
        if not new:
            break
        rounds += 1
        got = evaluate(sorted(new))
        for p, r in got.items():
            values[p] = {k: np.asarray(v, float) for k, v in r.items()}
        if all(math.isclose(s, f) for s, f in zip(steps, floor, strict=True)) and not new:
            break
    return SearchResult(values, {t: _best(values, t, ok) for t in targets}, rounds)


def indistinguishable(
    values: Mapping[Point, Mapping[str, np.ndarray]], target: str, best: Point, level: float = 0.95
) -> list[Point]:
    """The points whose paired 95% interval against ``best`` on ``target`` includes zero."""
    b = values[best][target]
    out = []
    for p, r in values.items():
        if p == best or target not in r:
            continue
        iv = st.paired_difference(r[target], b, level)
        if iv.low <= 0 <= iv.high:
            out.append(p)
    return sorted(out)
