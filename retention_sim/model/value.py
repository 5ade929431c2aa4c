"""Predicted customer value: the model's own expectation of each customer's next-year margin,
and value and spend deciles among the customers present (for value-based audiences).

Seed 000 names customer lifetime value as a factor in whom to contact. The model knows each
customer's latent purchase rate ``λ`` (per day, at neutral modifiers), mean spend ``p / ν``
(gamma–gamma) and base churn hazard ``h`` (per day, summed over the causes), so its expectation
of the margin of the next ``T`` days is::

    value = λ · (p / ν) · gross_margin · (1 − exp(−h·T)) / h        (→ λ·(p/ν)·margin·T as h → 0)

(modifiers, contacts and discounting left out). A real company would estimate it, as
``retention-sim calibrate`` does from a transaction log; here it is the truth the simulation
draws from, which makes a value-based audience an upper bound of what targeting by value can do.
Deciles run 1 (lowest) to 10 (highest) among the customers present at the refresh.
"""

from __future__ import annotations

import numpy as np

from .ranking import stable_argsort
from .world import World

__all__ = ["VALUE_HORIZON_DAYS", "predicted_value", "deciles"]

#: The horizon of the predicted value (days).
VALUE_HORIZON_DAYS = 365


def predicted_value(world: World, rows: np.ndarray, days: int = VALUE_HORIZON_DAYS) -> np.ndarray:
    """Expected margin of ``rows`` over the next ``days`` days (see the module docstring)."""
    pop = world.pop
    sc = world.scenario
    shape = np.array([s.spend.p for s in sc.population.segments.values()])
    mean_spend = shape[pop.segment[rows]] / pop.spend_nu[rows]
    h = pop.base_hazard[rows].astype(np.float64).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alive_days = np.where(h > 1e-12, -np.expm1(-h * days) / h, float(days))
    return pop.purchase_rate[rows] * mean_spend * sc.economics.gross_margin * alive_days


def deciles(values: np.ndarray) -> np.ndarray:
    """Decile 1–10 of each value among ``values`` (ties broken by position, stably)."""
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    rank = np.empty(n, dtype=np.int64)
    rank[stable_argsort(values)] = np.arange(n)
    return (1 + (10 * rank) // n).astype(np.int8)
