"""Social contagion over the sparse tie structure (Nitzan & Libai 2011)."""

from __future__ import annotations

import numpy as np

from .population import gather_ties
from .world import World

__all__ = ["decay_exposure", "spread_churn"]


def decay_exposure(world: World) -> None:
    """Exposure to churned ties decays exponentially with the configured half-life."""
    half_life = world.scenario.churn.causes.friends.tie_memory_half_life_days
    world.pop.exposure *= 0.5 ** (1.0 / half_life)


def spread_churn(world: World, churned_rows: np.ndarray) -> None:
    """Each tie of a customer who just churned gains one unit of exposure."""
    if churned_rows.size == 0:
        return
    nbrs = gather_ties(world.pop, churned_rows)
    if world.extra_ties.src:  # ties a referral made
        nbrs = np.concatenate([nbrs, world.extra_ties.ties_of(churned_rows)])
    if nbrs.size:
        np.add.at(world.pop.exposure, nbrs, 1.0)
