"""Satisfaction drift: every customer's satisfaction relaxes back toward the reference level."""

from __future__ import annotations

import numpy as np

from .world import World

__all__ = ["drift"]


def drift(world: World) -> None:
    """Move satisfaction a day's share of the way back to the reference (exponential, half-life)."""
    sat = world.scenario.satisfaction
    keep = 0.5 ** (1.0 / sat.recovery_half_life_days)
    s = world.pop.satisfaction
    # customers not yet arrived keep their drawn satisfaction
    np.copyto(s, s * keep + (1.0 - keep) * sat.reference, where=world.present)
