"""Satisfaction drift: every customer's satisfaction relaxes back toward the reference level."""

from __future__ import annotations

import numpy as np

from .kernels import njit
from .world import World

__all__ = ["drift"]


def drift(world: World) -> None:
    """Move satisfaction a day's share of the way back to the reference (exponential, half-life).

    ``s ← s × keep + (1 − keep) × reference`` for the customers present (customers not yet
    arrived keep their drawn satisfaction), by NumPy or by one compiled pass (the same
    operations, so the same bits).
    """
    sat = world.scenario.satisfaction
    keep = 0.5 ** (1.0 / sat.recovery_half_life_days)
    toward = (1.0 - keep) * sat.reference
    s = world.pop.satisfaction
    if world.kernels:
        _drift_kernel(s, world.present, keep, toward)
    else:
        np.copyto(s, s * keep + toward, where=world.present)


@njit
def _drift_kernel(s, present, keep, toward):
    """``s[i] = s[i] × keep + toward`` where ``present[i]`` (no fused multiply-add)."""
    for i in range(s.size):
        if present[i]:
            s[i] = s[i] * keep + toward
