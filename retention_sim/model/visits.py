"""Site or app visits: a daily draw per customer present, at their own visit hazard plus what a
fitted message response adds in its window.

A customer's visit hazard is ``v_i = −ln(1 − visits_per_year / 365)`` from their segment, so
that at neutral modifiers they visit on a day with probability ``visits_per_year / 365``; the
replay of an experiment sets it per customer from the fitted baseline. A message whose fitted
response has a visit part adds to it for the window
(:mod:`retention_sim.model.contacts.fitted_effects`). A visit day is counted at most once per
customer; visits are drawn independently of purchases given the two hazards, so the data's
"a buyer also visited" is not imposed: the marginal rates are the fitted ones, the overlap is
not. Visits change nothing else in the simulation: they are an outcome (the daily column
``visits``), not a cause.

Without any visit hazard and without a fitted visit model in the scenario the step does
nothing: no draw, no column, every other result bit-identical. Visits draw from a stream of
their own (``visits``), one uniform per row and day, so they never shift anybody's other luck
and two policies see the same visit luck.
"""

from __future__ import annotations

import numpy as np

from .world import World

__all__ = ["Visits", "VisitTracker"]


class VisitTracker:
    """The probability each row had of at least one visit over a range of days (from the
    daily probabilities, without draw noise), and the visit days drawn."""

    def __init__(self, capacity: int, first_day: int, last_day: int) -> None:
        self.first_day, self.last_day = first_day, last_day
        self.no_visit_log = np.zeros(capacity)
        self.visit_days = np.zeros(capacity, dtype=np.int32)

    @property
    def probability(self) -> np.ndarray:
        """Probability of at least one visit in the days tracked."""
        return -np.expm1(self.no_visit_log)


class Visits:
    """The daily visit draw of one run."""

    def __init__(self, world: World) -> None:
        self.world = world
        response = world.scenario.response
        #: ``True`` when anyone can visit: a visit hazard, or a fitted response with a visit
        #: part in the scenario (whatever the policy, so that policies share the draws).
        self.active = bool(np.any(world.pop.visit_rate > 0)) or (
            response is not None and response.visit is not None
        )
        #: Set to a :class:`VisitTracker` to record what the draws implied.
        self.tracker: VisitTracker | None = None

    def step(self, day: int) -> None:
        """Draw today's visits of the customers present; book the day's count."""
        if not self.active:
            return
        world = self.world
        present = world.present
        h = world.pop.visit_rate.copy()
        added = world.today.visit_hazard
        if added is not None:
            h += added
        p = -np.expm1(-h)
        p *= present
        visit = world.daily_uniforms("visits") < p
        tr = self.tracker
        if tr is not None and tr.first_day <= day <= tr.last_day:
            tr.no_visit_log += np.log1p(-np.minimum(p, 1.0 - 1e-16))
            tr.visit_days += visit
        world.log.add("visits", float(visit.sum()))
