"""The loyalty programme of a scenario: points, tiers, rewards, and the optional mechanics of the
seed articles (``docs/model.md`` §5).

- :class:`Enrolment` (seed 004: who joins, "communicate the programme", "too complex a programme
  and customers do not join"): not every customer is a member;
- :class:`SpendGift` (seed 004's gift programmes: "a gift when the customer reaches a spend
  level");
- :class:`SpecialDays` (seed 003: "special days earn extra points"): a points multiplier in the
  birthday month and on sale days;
- :class:`TenurePerk` (seed 001 §4.7: reward long-standing customers with better terms).

Each is unset by default, and unset it changes nothing: the scenario's content hash and every
simulated number stay as they were before the field existed (``config/base.py``,
``LATE_OPTIONAL_FIELDS``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from .base import StrictModel
from .units import Days, NonNeg, Positive, Probability

__all__ = ["Tier", "Loyalty", "Enrolment", "SpendGift", "SpecialDays", "TenurePerk", "PerkCause"]

#: Causes a tenure perk can make less likely (those the company's treatment can move).
PerkCause = Literal["friends", "competitor", "dissatisfaction", "indifference"]
PointsMultiplier = Annotated[float, Field(ge=1.0, le=100.0)]


class Tier(StrictModel):
    name: str
    threshold_points: NonNeg


class Enrolment(StrictModel):
    """Who is a member of the programme, and how non-members join.

    Non-members earn no points, hold no tier (tier 0 with no points, outside every tier
    audience) and feel no reward effect. With ``appeal = 1 − complexity``:

    - a share ``initial_share`` of the starting base is enrolled on day 0 (what the members'
      file says: not lowered by complexity);
    - a new customer joins at the first purchase with probability ``arrival_share × appeal``;
    - each day a non-member in the base joins with probability
      ``1 − exp(−rate_per_year × appeal / 365)``;
    - each delivered message enrols a non-member with probability ``per_message × appeal``,
      ``per_programme_message × appeal`` when its content is ``reward`` (a message about the
      programme: points, tiers, a birthday gift).
    """

    initial_share: Probability = 0.5
    arrival_share: Probability = 0.5
    rate_per_year: Annotated[float, Field(ge=0.0, le=365.0)] = 0.1
    per_message: Probability = 0.002
    per_programme_message: Probability = 0.02
    #: How complex the programme is, 0 (simple) to 1 (nobody understands it, nobody joins).
    complexity: Probability = 0.0


class SpendGift(StrictModel):
    """A gift worth ``value`` (cost to the company, currency) once a member's spend inside the
    current qualification window reaches ``spend_threshold`` (currency); at most one a window."""

    spend_threshold: Positive
    value: NonNeg


class SpecialDays(StrictModel):
    """Points × ``birthday_month_multiplier`` in the customer's birthday month (a known
    birthday only) and × ``sale_multiplier`` on the days of the calendar events named in
    ``sale_events``; the multipliers stack. The extra points are redeemable; tiers stay on
    spend (they do not count toward the window's points)."""

    birthday_month_multiplier: PointsMultiplier = 1.0
    sale_multiplier: PointsMultiplier = 1.0
    sale_events: list[str] = []


class TenurePerk(StrictModel):
    """A perk for members whose tenure (days since acquisition) is at least ``after_days``:
    their points × ``points_multiplier``, the hazard of ``churn_cause`` × ``hazard_multiplier``,
    at ``cost_per_year`` (currency) per holder, booked daily as reward cost."""

    after_days: Annotated[int, Field(ge=1, le=36_500)] = 730
    points_multiplier: PointsMultiplier = 1.0
    churn_cause: PerkCause | None = "competitor"
    hazard_multiplier: Annotated[float, Field(ge=0.0, le=10.0)] = 0.9
    cost_per_year: NonNeg = 0.0


class Loyalty(StrictModel):
    """Points, tiers with a calendar qualification window, redemption and reward effects; and
    the optional enrolment, spend gift, special days and tenure perk (unset: off)."""

    enabled: bool = True
    points_per_currency: NonNeg = 0.001
    point_value: NonNeg = 10.0
    tiers: Annotated[list[Tier], Field(min_length=1)] = [
        Tier(name="member", threshold_points=0),
        Tier(name="silver", threshold_points=2_000),
        Tier(name="gold", threshold_points=6_000),
    ]
    qualification_window_days: Annotated[int, Field(ge=1, le=3650)] = 365
    redemption_points: Positive = 1_000
    goal_gradient: Annotated[float, Field(ge=0.0, le=10.0)] = 0.2
    post_reward_dip: Probability = 0.2
    post_reward_days: Days = 14
    enrolment: Enrolment | None = None
    spend_gift: SpendGift | None = None
    special_days: SpecialDays | None = None
    tenure_perk: TenurePerk | None = None

    @field_validator("tiers")
    @classmethod
    def _increasing(cls, v: list[Tier]) -> list[Tier]:
        if v[0].threshold_points != 0:
            raise ValueError("the first tier must have threshold_points 0")
        names = [t.name for t in v]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        th = [t.threshold_points for t in v]
        if any(b <= a for a, b in zip(th, th[1:], strict=False)):
            raise ValueError("tier thresholds must increase strictly")
        return v
