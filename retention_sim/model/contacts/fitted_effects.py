"""What a message does when its effect was fitted from a randomised campaign.

A campaign with ``response: TREATMENT`` names a treatment of the scenario's fitted response
model (:mod:`retention_sim.config.response`). When its message is delivered to customer *i* on
day ``d``, for the ``W = window_days`` purchase draws that follow (days ``d+1 … d+W``):

- the probability of buying in the window goes from ``p0 = 1 − exp(−W·h_i)`` (``h_i`` the
  customer's daily purchase hazard before any contact effect) to ``p1``, with
  ``logit p1 = logit p0 + b_t + z_i·η_t`` (multiplicative form) or ``p1 = p0 + b_t + z_i·η_t``
  (additive, kept in [0, 1)), by adding ``(ln(1 − p0) − ln(1 − p1)) / W`` to the daily hazard;
- the basket of each purchase is multiplied by ``exp(τ_t)`` (when the model has a spend part);
- when the model has a visit part, the probability of a visit in the window moves the same
  way, from the customer's visit hazard (:mod:`retention_sim.model.visits`) with the visit
  effects.

The effect is the experiment's intent-to-treat effect of a delivered message, so it applies on
delivery, opened or not. A new message restarts the window (effects do not add up: one
campaign cannot say how they would). ``z_i`` are the customer's effect modifiers, encoded as
in the fit; a world that does not know them (``world.pop.extra["response_features"]`` unset)
uses the average customer's, ``z = 0``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ...config.response import ResponseModel
from ...vocabulary import NEVER
from ..purchases import Purchases
from ..world import World

__all__ = ["FittedEffects"]


class FittedEffects:
    """The fitted response's windows of every customer in one run."""

    def __init__(self, world: World, model: ResponseModel, purchases: Purchases) -> None:
        self.world = world
        self.model = model
        self.purchases = purchases
        n = world.pop.capacity
        self.window = model.window_days
        self.hazard = np.zeros(n)
        self.basket = np.ones(n)
        self.visit_hazard = np.zeros(n) if model.visit is not None else None
        self.until = np.full(n, NEVER, dtype=np.int32)
        self.columns = [
            c
            for name in model.effect_features
            for c in (
                [name]
                if model.features[name].kind == "numeric"
                else [f"{name}={lv}" for lv in model.features[name].levels[1:]]
            )
        ]
        z = world.pop.extra.get("response_features")
        self.z = np.zeros((n, len(self.columns))) if z is None else np.asarray(z, dtype=float)

    def effect(self, treatment: str, rows: np.ndarray, outcome: str = "conversion") -> np.ndarray:
        """``b_t + z_i·η_t`` for ``rows`` (on the odds' log or the probability)."""
        e = getattr(self.model, outcome).effects[treatment]
        eta = np.array([e.modifiers[c].estimate for c in self.columns])
        return e.intercept.estimate + self.z[rows] @ eta

    def _added(self, h0: np.ndarray, rows: np.ndarray, treatment: str, outcome: str) -> np.ndarray:
        """The daily hazard that moves the window's probability from ``1 − exp(−W·h0)`` to the
        fitted one under ``treatment``."""
        w = self.window
        p0 = -np.expm1(-w * h0)
        e = self.effect(treatment, rows, outcome)
        with np.errstate(divide="ignore"):
            if getattr(self.model, outcome).form == "multiplicative":
                p1 = special.expit(special.logit(p0) + e)
            else:
                p1 = np.clip(p0 + e, 0.0, 1.0 - 1e-12)
        return (np.log1p(-p0) - np.log1p(-p1)) / w

    def deliver(self, day: int, rows: np.ndarray, treatment: str) -> None:
        """Start the window of a message of ``treatment`` delivered to ``rows`` on ``day``."""
        w = self.window
        h0 = self.purchases.daily_rate(rows, day + 1)
        self.hazard[rows] = self._added(h0, rows, treatment, "conversion")
        if self.visit_hazard is not None:
            v0 = self.world.pop.visit_rate[rows]
            self.visit_hazard[rows] = self._added(v0, rows, treatment, "visit")
        spend = self.model.spend
        self.basket[rows] = np.exp(spend.effects[treatment].estimate) if spend else 1.0
        self.until[rows] = day + w

    def today(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The added purchase hazard, the basket multiplier and the added visit hazard (or
        ``None`` without a visit model) of every row on ``day``."""
        active = self.until >= day
        visit = None if self.visit_hazard is None else np.where(active, self.visit_hazard, 0.0)
        return np.where(active, self.hazard, 0.0), np.where(active, self.basket, 1.0), visit
