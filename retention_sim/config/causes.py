"""The churn causes of a scenario: base hazards and what moves each (see ``docs/model.md`` §7)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from ..vocabulary import CauseName, StageName
from .base import StrictModel
from .units import Days, Multiplier, NonNeg, Positive

__all__ = [
    "BetaParams",
    "AcausalCause",
    "FriendsCause",
    "CompetitorEvent",
    "CompetitorCause",
    "DissatisfactionCause",
    "IndifferenceCause",
    "AnnoyanceCause",
    "Causes",
    "Churn",
]


class BetaParams(StrictModel):
    alpha: Positive
    beta: Positive


class _Cause(StrictModel):
    annual_probability: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    frailty: bool = True
    yearly_probability_beta: BetaParams | None = None


class AcausalCause(StrictModel):
    """A cause nothing the company does can move (death, relocation, lifestyle change)."""

    annual_probability: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    frailty: bool = False
    yearly_probability_beta: BetaParams | None = None


class FriendsCause(_Cause):
    """Social contagion: each recently churned tie multiplies the hazard (Nitzan & Libai 2011)."""

    per_churned_tie: NonNeg = 0.8
    tie_memory_half_life_days: Positive = 90.0


class CompetitorEvent(StrictModel):
    name: str = "competitor campaign"
    start: dt.date
    days: Annotated[int, Field(ge=1, le=3650)] = 30
    multiplier: Multiplier = 2.0


class CompetitorCause(_Cause):
    """Competitor pull: random and scheduled pressure events; loyalty tiers protect."""

    events_per_year: NonNeg = 2.0
    event_days: Annotated[int, Field(ge=1, le=3650)] = 21
    event_multiplier: Multiplier = 2.0
    scheduled_events: list[CompetitorEvent] = []
    tier_multiplier: dict[str, Multiplier] = {}
    demotion_multiplier: Multiplier = 1.5
    demotion_memory_days: Days = 180


class DissatisfactionCause(_Cause):
    """Product dissatisfaction: low satisfaction and unresolved issues raise the hazard."""

    satisfaction_sensitivity: NonNeg = 4.0
    per_unresolved_issue: NonNeg = 1.5


class IndifferenceCause(_Cause):
    """Company indifference: grows with days since the last valued touch."""

    grace_days: NonNeg = 30.0
    growth_per_30_days: NonNeg = 0.25
    max_multiplier: Annotated[float, Field(ge=1.0, le=1000.0)] = 4.0
    stage_multiplier: dict[StageName, Multiplier] = {"new": 2.0}


class AnnoyanceCause(StrictModel):
    """Over-contact: zero while fatigue is below tolerance, rising with the excess."""

    annual_probability_per_excess: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.5
    frailty: bool = False


class Causes(StrictModel):
    death: AcausalCause = AcausalCause(annual_probability=0.0025)
    relocation: AcausalCause = AcausalCause(annual_probability=0.010)
    friends: FriendsCause = FriendsCause(annual_probability=0.008)
    lifestyle: AcausalCause = AcausalCause(annual_probability=0.020)
    competitor: CompetitorCause = CompetitorCause(annual_probability=0.030)
    dissatisfaction: DissatisfactionCause = DissatisfactionCause(annual_probability=0.035)
    indifference: IndifferenceCause = IndifferenceCause(annual_probability=0.07)
    annoyance: AnnoyanceCause = AnnoyanceCause()


class Churn(StrictModel):
    """The churn causes; ``dropout_split`` says how an observed customer's fitted dropout
    hazard is shared among them (written by ``retention-sim calibrate``). ``hazard_scale``
    multiplies every cause's base hazard, synthetic and observed customers alike: 1 is the
    scenario as written; robustness varies it over a calibrated dropout's interval."""

    causes: Causes = Causes()
    dropout_split: dict[CauseName, NonNeg] | None = None
    hazard_scale: Positive = 1.0
