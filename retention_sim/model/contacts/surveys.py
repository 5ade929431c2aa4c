"""Listening to customers: a survey's answers reveal satisfaction, and an unhappy answer opens
a service case on the desk (seed 001's feedback loops; seed 003's "listen to the customer").

Of a survey's delivered messages, a share ``response_rate[channel]`` is answered (a
counter-based draw on the customer and the day, so two policies that survey the same customer
on the same day see the same answer). Answering is a valued touch (it resets the indifference
clock) and costs ``cost_per_response``, booked as contact cost. The answer reveals the
customer's satisfaction: below ``unhappy_below`` it opens a service case, a request of kind
``case`` on the same agents as product issues and replies. A case answered within
``quick_resolution_hours`` is service recovery, as for a reported issue: satisfaction rises by
``recovery_gain`` and the customer's unresolved issues are fixed; a case answered late lowers
satisfaction with every hour waited, and one never answered leaves things as they were.
"""

from __future__ import annotations

import numpy as np

from ...config.policy import Survey
from ...vocabulary import CHANNELS
from ..random_streams import counter_uniform
from ..service_desk import CASE, ServiceDesk
from ..world import World
from .ledger import Ledger

__all__ = ["answer_survey"]


def answer_survey(
    world: World,
    desk: ServiceDesk,
    ledger: Ledger,
    survey: Survey,
    rows: np.ndarray,
    ch: np.ndarray,
    day: int,
) -> np.ndarray:
    """Draw who answers a survey delivered to ``rows`` on channels ``ch``; open their cases.

    Returns
    -------
    numpy.ndarray
        The rows that answered.
    """
    rate = np.array([survey.response_rate.get(c, 0.0) for c in CHANNELS])[ch]
    answered = rows[counter_uniform(world.seed, "survey", rows, day) < rate]
    if answered.size == 0:
        return answered
    pop = world.pop
    world.log.add("survey_responses", float(answered.size))
    pop.last_valued_touch_day[answered] = day
    if survey.cost_per_response:
        ledger.charge(day, answered, np.full(answered.size, survey.cost_per_response))
    unhappy = answered[pop.satisfaction[answered] < survey.unhappy_below]
    if unhappy.size:
        world.log.add("survey_unhappy", float(unhappy.size))
        flagged = pop.extra.setdefault("survey_unhappy", np.zeros(pop.capacity, dtype=bool))
        flagged[unhappy] = True  # who ever answered unhappy (result.extras["survey_unhappy"])
        for row in unhappy.tolist():
            desk.start(int(row), CASE, day)
    return answered
