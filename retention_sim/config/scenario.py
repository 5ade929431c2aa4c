"""Scenario files: the validated description of a business and its customers.

A scenario says *who the customers are and how they behave*; a policy (see
:mod:`retention_sim.config.policy`) says *how the company contacts them*. Every field carries its unit in
its name or docstring; the source of every default is in ``docs/model.md``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ..vocabulary import CHANNELS, ChannelName, StageName
from .base import StrictModel, apply_dotted, content_hash
from .causes import Churn
from .files import load_model, validate_model
from .loyalty import Loyalty, Tier
from .presets import resolve_preset
from .provenance import Source
from .response import ResponseModel
from .units import Days, Multiplier, NonNeg, Positive, Probability, Share

__all__ = [
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "GammaTrait",
    "Segment",
    "Channel",
    "Tier",
]


# ----------------------------------------------------------------------------- calendar
class Event(StrictModel):
    """A calendar event that scales every customer's purchase probability (a sale, a holiday)."""

    name: str
    start: dt.date
    days: Annotated[int, Field(ge=1, le=366)] = 1
    purchase_multiplier: Multiplier = 1.0
    repeat_yearly: bool = True


class Calendar(StrictModel):
    """Day 0 is ``start``; the simulation runs ``horizon_days`` days."""

    start: dt.date
    horizon_days: Annotated[int, Field(ge=1, le=36_500)] = 365
    weekday_purchase_multiplier: Annotated[list[Multiplier], Field(min_length=7, max_length=7)] = [
        1.0
    ] * 7
    events: list[Event] = []


# ----------------------------------------------------------------------------- population
class GammaTrait(StrictModel):
    """A positive trait that varies across customers as Gamma(shape, mean/shape)."""

    mean: Annotated[float, Field(gt=0.0, le=1e9, allow_inf_nan=False)]
    shape: Annotated[float, Field(gt=0.0, le=1e6, allow_inf_nan=False)]


class Spend(StrictModel):
    """Gamma–gamma spend (Fader, Hardie & Lee 2005; Colombo & Jiang 1999).

    A transaction of customer *i* is Gamma(p, nu_i); nu_i is Gamma(q, gamma) across customers,
    with gamma set so that the mean transaction over customers is ``mean_per_purchase``.
    """

    mean_per_purchase: Annotated[float, Field(gt=0.0, le=1e15, allow_inf_nan=False)]
    p: Annotated[float, Field(gt=0.0, le=1e6, allow_inf_nan=False)] = 6.0
    q: Annotated[float, Field(gt=1.0, allow_inf_nan=False)] = 4.0


class Segment(StrictModel):
    """A customer segment: its share of the base and the distributions of its traits."""

    share: Share
    purchase_rate_per_year: GammaTrait
    spend: Spend
    frailty_shape: Positive | None = 2.0
    fatigue_tolerance: GammaTrait = GammaTrait(mean=8.0, shape=4.0)
    reward_sensitivity: GammaTrait = GammaTrait(mean=1.0, shape=4.0)
    discount_sensitivity: GammaTrait = GammaTrait(mean=1.0, shape=4.0)
    consent_multiplier: dict[ChannelName, Multiplier] = {}
    #: Site or app visit days a year at neutral modifiers (unset: visits are not modelled).
    visits_per_year: Annotated[float, Field(ge=0.0, le=365.0)] | None = None

    @field_validator("purchase_rate_per_year")
    @classmethod
    def _at_most_daily(cls, v: GammaTrait) -> GammaTrait:
        if v.mean > 365:
            raise ValueError(
                f"mean {v.mean:g} purchases a year is more than one a day; the model draws at "
                "most one purchase per customer per day"
            )
        return v


class Tenure(StrictModel):
    """Tenure of customers *when acquired into the history*: exponential with this mean,
    truncated at ``max_years``; the day-0 base is the survivors of that history, so its mean
    tenure is shorter (the frailer, longer-ago customers have left).

    ``mean_years: 0`` makes the starting base a cohort acquired on day 0.
    """

    mean_years: NonNeg = 3.0
    max_years: Positive = 15.0


class Population(StrictModel):
    """The starting base, arrivals, and the segments customers are drawn from.

    ``purchase_rate_factor`` multiplies an observed customer's fitted purchase rate (written
    by ``retention-sim calibrate``: the rate without the historical policy's contacts).
    ``last_valued_touch`` says when the starting base (synthetic or observed) was last given a
    valued touch: unset, on a day drawn uniformly in the last 90 days of each customer's
    tenure; ``"first_purchase"``, never since they arrived (the history had no contact; written
    by ``retention-sim calibrate`` when the historical policy is no contact).
    """

    initial_customers: Annotated[int, Field(ge=0, le=50_000_000)]
    arrivals_per_day: NonNeg = 0.0
    tenure: Tenure = Tenure()
    birthday_known_share: Probability = 0.7
    segments: Annotated[dict[str, Segment], Field(min_length=1)]
    purchase_rate_factor: Positive | None = None
    last_valued_touch: Literal["first_purchase"] | None = None

    @field_validator("segments")
    @classmethod
    def _shares_sum_to_one(cls, v: dict[str, Segment]) -> dict[str, Segment]:
        total = sum(s.share for s in v.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"segment shares must sum to 1, they sum to {total:.6g}")
        return v


# ----------------------------------------------------------------------------- stages
class Stages(StrictModel):
    """Stage thresholds (days) and each stage's purchase multiplier."""

    onboarding_days: Days = 60
    at_risk_cycles: Positive = 1.5
    at_risk_min_days: Days = 30
    lapsed_cycles: Positive = 3.0
    lapsed_min_days: Days = 120
    won_back_days: Days = 90
    loyal_min_tier: str | None = "silver"
    loyal_min_purchases: Annotated[int, Field(ge=1)] | None = None
    purchase_multiplier: dict[StageName, Multiplier] = {}

    @model_validator(mode="after")
    def _order(self) -> Stages:
        if self.lapsed_cycles < self.at_risk_cycles:
            raise ValueError("lapsed_cycles must be at least at_risk_cycles")
        if self.lapsed_min_days < self.at_risk_min_days:
            raise ValueError("lapsed_min_days must be at least at_risk_min_days")
        return self


class Social(StrictModel):
    """Sparse undirected tie structure between customers (Erdős–Rényi by segment-free pairing)."""

    mean_ties: Annotated[float, Field(ge=0.0, le=100.0)] = 4.0


# ----------------------------------------------------------------------------- channels
class Channel(StrictModel):
    """A contact channel: consent, cost, base response rates per delivered message, fatigue."""

    consent_share: Probability
    cost_per_message: NonNeg
    open_rate: Probability
    click_rate: Probability
    unsubscribe_rate: Probability
    complaint_rate: Probability
    fatigue_weight: NonNeg = 1.0
    fatigue_half_life_days: Positive = 7.0
    preference_weight: NonNeg = 1.0
    #: Share of delivered messages answered with an inbound request to the service desk.
    reply_rate: Probability = 0.0

    @model_validator(mode="after")
    def _reply_needs_an_open(self) -> Channel:
        if self.reply_rate > self.open_rate:
            raise ValueError(
                f"reply_rate ({self.reply_rate}) cannot exceed open_rate ({self.open_rate}): "
                "only an opened message is answered"
            )
        return self


class Responses(StrictModel):
    """How customers respond to delivered messages (used by contact policies).

    With ``r`` = total fatigue / the customer's tolerance:
    open = open_rate × relevance × exp(−fatigue_open_sensitivity × r);
    unsubscribe (and complaint) = base rate × (1 + fatigue_unsubscribe_sensitivity × r²).
    """

    fatigue_open_sensitivity: NonNeg = 0.5
    fatigue_unsubscribe_sensitivity: NonNeg = 1.0
    click_purchase_lift: Annotated[float, Field(ge=0.0, le=100.0)] = 1.0
    click_lift_days: Days = 7
    offer_purchase_lift: Annotated[float, Field(ge=0.0, le=100.0)] = 4.0
    birthday_relevance: Annotated[float, Field(gt=0.0, le=20.0)] = 3.0
    info_valued_on: Literal["open", "click"] = "open"
    reward_satisfaction_gain: Probability = 0.03
    complaint_satisfaction_drop: Probability = 0.05
    dormant_wakeup_multiplier: Multiplier = 1.5
    dormant_wakeup_days: Days = 30
    rfm_refresh_days: Annotated[int, Field(ge=1, le=3650)] = 30
    churned_reactivation: Probability = 0.05
    #: Replies per delivered message, relative to the channel's ``reply_rate``, by content
    #: (missing contents: 1).
    reply_content_multiplier: dict[Literal["info", "offer", "reward", "service"], NonNeg] | None = (
        None
    )


# ----------------------------------------------------------------------------- satisfaction, service
class Satisfaction(StrictModel):
    """Satisfaction in [0, 1]; drifts back to ``reference`` with a half-life."""

    reference: Probability = 0.75
    spread: Annotated[float, Field(ge=0.0, le=0.5)] = 0.1
    recovery_half_life_days: Positive = 60.0
    purchase_sensitivity: NonNeg = 1.0


class ServiceTime(StrictModel):
    distribution: Literal["exponential", "gamma", "lognormal", "deterministic"] = "exponential"
    mean_minutes: Positive = 12.0
    cv: NonNeg = 1.0


class AccountManagers(StrictModel):
    """Dedicated account managers (a single point of contact) for the top spenders."""

    count: Annotated[int, Field(ge=0, le=10_000)] = 0
    top_share: Probability = 0.01
    cost_per_day: NonNeg = 0.0


class Service(StrictModel):
    """The service desk: a pool of agents, working ``hours_per_day`` hours a day.

    The desk is simulated in working time: one simulated day holds ``hours_per_day`` working
    hours, and waits are reported in working hours.
    """

    agents: Annotated[int, Field(ge=0, le=100_000)] = 4
    hours_per_day: Annotated[float, Field(gt=0.0, le=24.0)] = 8.0
    service_time: ServiceTime = ServiceTime()
    product_issue_rate_per_year: NonNeg = 0.3
    contact_share: Probability = 0.6
    inquiry_rate_per_year: NonNeg = 0.4
    satisfaction_drop_per_issue: Probability = 0.15
    quick_resolution_hours: NonNeg = 2.0
    recovery_gain: Probability = 0.12
    wait_penalty_per_hour: Probability = 0.01
    abandon_after_hours: Positive = 16.0
    unresolved_days: Days = 60
    agent_cost_per_day: NonNeg = 0.0
    account_managers: AccountManagers = AccountManagers()


# ----------------------------------------------------------------------------- economics
class Economics(StrictModel):
    currency: str = "VND"
    gross_margin: Probability = 0.35
    acquisition_cost: NonNeg = 0.0
    annual_discount_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.10


# ----------------------------------------------------------------------------- scenario
_DEFAULT_CHANNELS: dict[ChannelName, Channel] = {
    "email": Channel(
        consent_share=0.8,
        cost_per_message=50,
        open_rate=0.227,
        click_rate=0.029,
        unsubscribe_rate=0.0025,
        complaint_rate=0.0002,
        fatigue_weight=1.0,
        fatigue_half_life_days=7,
    ),
    "sms": Channel(
        consent_share=0.6,
        cost_per_message=700,
        open_rate=0.85,
        click_rate=0.04,
        unsubscribe_rate=0.005,
        complaint_rate=0.001,
        fatigue_weight=2.0,
        fatigue_half_life_days=10,
    ),
    "push": Channel(
        consent_share=0.35,
        cost_per_message=5,
        open_rate=0.07,
        click_rate=0.01,
        unsubscribe_rate=0.01,
        complaint_rate=0.0,
        fatigue_weight=0.7,
        fatigue_half_life_days=5,
    ),
    "zalo": Channel(
        consent_share=0.5,
        cost_per_message=300,
        open_rate=0.6,
        click_rate=0.05,
        unsubscribe_rate=0.004,
        complaint_rate=0.0005,
        fatigue_weight=1.5,
        fatigue_half_life_days=10,
    ),
    "phone": Channel(
        consent_share=0.4,
        cost_per_message=3000,
        open_rate=0.45,
        click_rate=0.15,
        unsubscribe_rate=0.01,
        complaint_rate=0.003,
        fatigue_weight=3.0,
        fatigue_half_life_days=30,
    ),
}


class Scenario(StrictModel):
    """A whole scenario: calendar, customers, stages, churn causes, channels, loyalty, service.

    Build one with :func:`load_scenario` (from YAML) or :func:`scenario_from_dict`.
    """

    name: str
    description: str = ""
    calendar: Calendar
    population: Population
    stages: Stages = Stages()
    churn: Churn = Churn()
    social: Social = Social()
    channels: dict[ChannelName, Channel] = _DEFAULT_CHANNELS
    responses: Responses = Responses()
    loyalty: Loyalty = Loyalty()
    satisfaction: Satisfaction = Satisfaction()
    service: Service = Service()
    economics: Economics = Economics()
    response: ResponseModel | None = None
    provenance: dict[str, Source] | None = None

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        tiers = [t.name for t in self.loyalty.tiers]
        if self.stages.loyal_min_tier is not None and self.stages.loyal_min_tier not in tiers:
            raise ValueError(
                f"stages.loyal_min_tier {self.stages.loyal_min_tier!r} is not a loyalty tier "
                f"(tiers: {', '.join(tiers)})"
            )
        unknown = set(self.churn.causes.competitor.tier_multiplier) - set(tiers)
        if unknown:
            raise ValueError(
                f"churn.causes.competitor.tier_multiplier names unknown tier(s): {sorted(unknown)}"
            )
        special = self.loyalty.special_days
        events = {e.name for e in self.calendar.events}
        missing = sorted(set(special.sale_events) - events) if special is not None else []
        if missing:
            raise ValueError(
                f"loyalty.special_days.sale_events names no calendar event: {missing} "
                f"(events: {', '.join(sorted(events)) or 'none'})"
            )
        return self

    # convenience --------------------------------------------------------------------------
    @property
    def channel_names(self) -> tuple[str, ...]:
        """The channels this scenario defines, in the canonical order."""
        return tuple(c for c in CHANNELS if c in self.channels)

    def content_hash(self) -> str:
        """A stable hash of the validated content (for result stores and manifests)."""
        return content_hash(self)

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """Return a copy with dotted-path fields replaced (list items by index), re-validated.

        Parameters
        ----------
        overrides
            Mapping such as ``{"service.agents": 6, "loyalty.tiers.1.threshold_points": 3000}``.
        """
        data = apply_dotted(self.model_dump(mode="json"), overrides, kind="scenario")
        return scenario_from_dict(data, source="(overrides)")


def scenario_from_dict(data: dict[str, Any], *, source: str = "(scenario)") -> Scenario:
    """Validate a plain mapping as a :class:`Scenario` (errors name ``source`` and the field)."""
    return validate_model(Scenario, data, source=source)


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario YAML file.

    Parameters
    ----------
    path
        A scenario file such as ``params/scenarios/default.yaml``, or a preset's name
        (``"default"``, ``"saas"``; see :mod:`retention_sim.config.presets`).

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    InputError
        One message naming the file, the field path and the problem.
    """
    return load_model(Scenario, resolve_preset(path, "scenario"))
