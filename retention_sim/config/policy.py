"""Contact policies: campaigns, cadences, audiences, offers, guardrails and a budget.

A policy says *how the company contacts its customers*. It is a YAML document validated like a
scenario (unknown fields and bad values give one message naming the file and the field).
Audiences are declarative filters; nothing in a policy is ever evaluated as code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ..errors import InputError, did_you_mean
from ..vocabulary import ChannelName, StageName
from .base import StrictModel, apply_dotted, content_hash
from .files import load_model, validate_model
from .frequency import FrequencyClass, FrequencyRules
from .presets import resolve_preset
from .scenario import Scenario
from .staffing import NEUTRAL_STAFFING, Staffing, StaffPeriod

__all__ = [
    "Policy",
    "Campaign",
    "Cadence",
    "Audience",
    "Offer",
    "Guardrails",
    "Cap",
    "Staffing",
    "StaffPeriod",
    "FrequencyRules",
    "NEUTRAL_STAFFING",
    "load_policy",
    "policy_from_dict",
    "check_against_scenario",
    "derived_name",
    "RFM_SEGMENTS",
]

RFM_SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
)
RfmName = Literal[
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
    "vip",
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
CampaignType = Literal[
    "notification",
    "notification_with_offer",
    "birthday",
    "thank_you",
    "tier_up",
    "win_back",
    "journey",
    "proactive_call",
    "survey",
]
Content = Literal["info", "offer", "reward", "service"]
Trigger = Literal["predicted_next_purchase"]
Every = Literal["daily", "weekly", "biweekly", "monthly", "quarterly"]


class Cadence(StrictModel):
    """When a scheduled campaign sends: exactly one of ``every``, ``every_n_days``, ``dates``,
    ``trigger``.

    A plain string is shorthand for ``every``: ``cadence: weekly``.
    """

    every: Every | None = None
    every_n_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    dates: list[dt.date] | None = None
    trigger: Trigger | None = None
    weekday: Weekday | None = None
    day_of_month: Annotated[int, Field(ge=1, le=28)] | None = None
    offset_days: Annotated[int, Field(ge=0, le=3650)] = 0
    lead_days: Annotated[int, Field(ge=0, le=365)] = 0

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if isinstance(v, str):
            return {"every": v}
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> Cadence:
        set_ = [
            k for k in ("every", "every_n_days", "dates", "trigger") if getattr(self, k) is not None
        ]
        if len(set_) != 1:
            raise ValueError(
                "a cadence needs exactly one of every, every_n_days, dates, trigger "
                f"(got {', '.join(set_) or 'none'})"
            )
        if self.dates is not None and not self.dates:
            raise ValueError("dates must list at least one date")
        return self


class Range(StrictModel):
    min: NonNeg | None = None
    max: NonNeg | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class Audience(StrictModel):
    """Declarative filters; a customer must pass every filter that is given."""

    stages: list[StageName] | None = None
    segments: list[str] | None = None
    tiers: list[str] | None = None
    rfm: list[RfmName] | None = None
    days_since_purchase: Range | None = None
    consent: list[ChannelName] | None = None
    members_only: bool = False
    #: Deciles 1-10 among the customers present (10: the top): of the model's predicted
    #: next-year margin (model/value.py), or of spend to date; refreshed with the RFM segments.
    value_decile: Range | None = None
    spend_decile: Range | None = None
    #: Frequency classes from the last weeks' messages and opens (policy ``frequency``).
    frequency_class: list[FrequencyClass] | None = None


class Offer(StrictModel):
    """What a message gives: a discount valid for some days, bonus points, or a gift."""

    discount: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    valid_days: Annotated[int, Field(ge=1, le=365)] = 14
    bonus_points: NonNeg = 0.0
    gift_value: NonNeg = 0.0

    @model_validator(mode="after")
    def _something(self) -> Offer:
        if self.discount == 0 and self.bonus_points == 0 and self.gift_value == 0:
            raise ValueError("an offer needs a discount, bonus_points or a gift_value")
        return self


class JourneyStep(StrictModel):
    after_days: Annotated[int, Field(ge=0, le=3650)]
    channel: ChannelName | Literal["preferred"] = "email"
    content: Content = "info"
    offer: Offer | None = None
    name: str | None = None


#: How long a deferred message waits at most when ``max_delay_days`` is not given (days).
DEFAULT_MAX_DELAY_DAYS = 3

_DEFAULT_CONTENT: dict[str, Content] = {
    "notification": "info",
    "notification_with_offer": "offer",
    "birthday": "reward",
    "thank_you": "service",
    "tier_up": "reward",
    "win_back": "offer",
    "journey": "info",
    "proactive_call": "service",
    "survey": "service",
}


class Survey(StrictModel):
    """A survey: who answers, what it costs, and whose answer opens a service case.

    ``response_rate`` is the share of delivered surveys answered, per channel (missing: 0);
    ``cost_per_response`` is booked as contact cost (an incentive, the time of a call); a
    respondent whose satisfaction is below ``unhappy_below`` gets a service case.
    """

    response_rate: dict[ChannelName, Probability]
    cost_per_response: NonNeg = 0.0
    unhappy_below: Probability = 0.5


class Campaign(StrictModel):
    """One campaign. Which fields apply depends on ``type``:

    - ``notification`` / ``notification_with_offer`` / ``proactive_call``: ``cadence``;
    - ``survey``: ``cadence`` and ``survey`` (response rates, cost, what counts as unhappy);
    - ``birthday``: ``days_before``;
    - ``thank_you``: ``delay_days`` after each purchase;
    - ``tier_up``: ``notify_on`` (``near`` the next tier, or ``reached`` it), ``near_share``;
    - ``win_back``: ``after_days`` without purchase, optionally ``repeat_every_days``;
    - ``journey``: ``start`` (``new_customer`` or ``lapsed``) and ``steps``.

    ``response`` names a treatment of the scenario's fitted response model: a delivered
    message then changes purchases and baskets as that treatment did in its experiment
    (``docs/model.md``, "Contact effects from a randomised campaign").
    """

    name: str
    type: CampaignType
    channel: ChannelName | Literal["preferred"] = "email"
    content: Content | None = None
    audience: Audience = Audience()
    offer: Offer | None = None
    priority: Annotated[int, Field(ge=0, le=1000)] = 50
    relevance: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    cadence: Cadence | None = None
    days_before: Annotated[int, Field(ge=0, le=60)] = 0
    delay_days: Annotated[int, Field(ge=0, le=365)] = 1
    notify_on: list[Literal["near", "reached"]] = ["near", "reached"]
    near_share: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.8
    after_days: Annotated[int, Field(ge=1, le=3650)] = 90
    repeat_every_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    start: Literal["new_customer", "lapsed"] | None = None
    steps: list[JourneyStep] = []
    stop_on_purchase: bool = True
    response: str | None = None
    #: A message refused by a quiet day, a minimum gap or a cap: dropped, or deferred to the
    #: next day and tried again, for at most ``max_delay_days`` (default 3) days.
    survey: Survey | None = None
    on_refusal: Literal["drop", "defer"] = "drop"
    max_delay_days: Annotated[int, Field(ge=1, le=365)] | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> Campaign:
        t = self.type
        if self.max_delay_days is not None and self.on_refusal != "defer":
            raise ValueError("max_delay_days applies only with on_refusal: defer")
        if (
            t in ("notification", "notification_with_offer", "proactive_call", "survey")
            and self.cadence is None
        ):
            raise ValueError(f"a {t} campaign needs a cadence")
        if t == "notification_with_offer" and self.offer is None:
            raise ValueError("a notification_with_offer campaign needs an offer")
        if t == "journey":
            if self.start is None:
                raise ValueError("a journey needs start: new_customer or lapsed")
            if not self.steps:
                raise ValueError("a journey needs at least one step")
            days = [s.after_days for s in self.steps]
            if days != sorted(days):
                raise ValueError("journey steps must be in order of after_days")
        if (t == "survey") != (self.survey is not None):
            raise ValueError("a survey campaign needs a survey block, and only a survey has one")
        if t == "proactive_call" and self.channel != "phone":
            raise ValueError("a proactive_call campaign uses the phone channel")
        return self

    @property
    def max_delay(self) -> int:
        """Days a refused message may be deferred (0: it is dropped)."""
        if self.on_refusal != "defer":
            return 0
        return DEFAULT_MAX_DELAY_DAYS if self.max_delay_days is None else self.max_delay_days

    @property
    def effective_content(self) -> Content:
        """The content kind, defaulting by campaign type."""
        return self.content or _DEFAULT_CONTENT[self.type]


class Cap(StrictModel):
    """At most ``max`` messages on ``channel`` (or ``any`` channel) per window."""

    channel: ChannelName | Literal["any"] = "any"
    max: Annotated[int, Field(ge=0, le=1000)]
    window_days: Annotated[int, Field(ge=1, le=366)] = 7
    window: Literal["rolling", "calendar"] = "rolling"
    #: A cap on one message type (content) only. Messages of a type with a cap of its own
    #: are exempt from the caps without a type (Iterable's message-type caps).
    message_type: Content | None = None


class Guardrails(StrictModel):
    caps: list[Cap] = []
    min_gap_hours: dict[ChannelName, Annotated[float, Field(ge=0.0, le=24 * 365)]] = {}
    quiet_weekdays: list[Weekday] = []
    holdout_share: Probability = 0.0
    #: Refuse messages to customers in the ``saturated`` frequency class.
    skip_saturated: bool = False


class Membership(StrictModel):
    """A paid membership: a yearly fee, a member discount, a yearly renewal decision."""

    fee_per_year: NonNeg
    discount: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05
    purchase_multiplier: Annotated[float, Field(ge=0.0, le=10.0)] = 1.1
    join_share: Probability = 0.1
    audience: Audience = Audience(stages=["active", "loyal"])
    renewal_base: Probability = 0.6
    renewal_value_sensitivity: NonNeg = 0.5


class Referral(StrictModel):
    """A referral programme: a reward for each friend brought in."""

    reward_value: NonNeg
    referrals_per_year: NonNeg = 0.05
    audience: Audience = Audience(stages=["active", "loyal"])


class Programmes(StrictModel):
    membership: Membership | None = None
    referral: Referral | None = None


class Policy(StrictModel):
    """A contact policy: a name, campaigns, guardrails, an optional budget and programmes."""

    name: str
    description: str = ""
    campaigns: list[Campaign] = []
    guardrails: Guardrails = Guardrails()
    monthly_budget: NonNeg | None = None
    programmes: Programmes = Programmes()
    staffing: Staffing = Staffing()
    #: Thresholds of the frequency classes (default ones when audiences or guardrails use
    #: classes and this is unset).
    frequency: FrequencyRules | None = None

    @property
    def uses_frequency(self) -> bool:
        """Whether an audience or a guardrail reads the frequency classes."""
        return (
            self.frequency is not None
            or self.guardrails.skip_saturated
            or any(c.audience.frequency_class is not None for c in self.campaigns)
        )

    @model_validator(mode="after")
    def _unique_names(self) -> Policy:
        names = [c.name for c in self.campaigns]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"campaign names must be unique; repeated: {', '.join(dup)}")
        return self

    def content_hash(self) -> str:
        """A stable hash of the validated content (for result stores and manifests)."""
        return content_hash(self)

    def with_overrides(self, overrides: dict[str, Any], *, name: str | None = None) -> Policy:
        """A copy with dotted-path fields replaced (list items by index), re-validated.

        Example: ``{"campaigns.0.cadence.every_n_days": 3, "guardrails.holdout_share": 0.1}``.

        Parameters
        ----------
        overrides
            ``{dotted path: value}``.
        name
            The copy's name. By default it is the original's name with the overrides, e.g.
            ``bau_default (campaigns.0.cadence.every_n_days=3)``, so that a study can hold the
            original and the copy side by side; an override of ``name`` itself wins.
        """
        data = apply_dotted(self.model_dump(mode="json"), overrides, kind="policy")
        if name is not None:
            data["name"] = name
        elif "name" not in overrides and overrides:
            data["name"] = derived_name(self.name, overrides)
        return policy_from_dict(_drop_none(data), source="(overrides)")


def derived_name(base: str, overrides: Mapping[str, Any]) -> str:
    """``base (path=value, ...)``: the name of a policy derived from ``base`` by overrides."""
    parts = ", ".join(f"{k}={_short(v)}" for k, v in overrides.items())
    return f"{base} ({parts})"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_short(v) for v in value) + "]"
    return str(value)


def _drop_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj


def check_against_scenario(policy: Policy, scenario: Scenario, source: str) -> None:
    """Raise :class:`InputError` (naming ``source``) if the policy uses a channel, segment or
    tier the scenario does not have."""
    segs = set(scenario.population.segments)
    tiers = {t.name for t in scenario.loyalty.tiers}
    for i, c in enumerate(policy.campaigns):
        channels = [c.channel] + [s.channel for s in c.steps]
        for ch in channels:
            if ch != "preferred" and ch not in scenario.channels:
                raise InputError(
                    f"channel {ch!r} is not defined in scenario {scenario.name!r}"
                    + did_you_mean(ch, [*scenario.channels, "preferred"]),
                    source=source,
                    field=f"campaigns[{i}].channel",
                )
        if c.response is not None:
            fitted = scenario.response
            known_arms = sorted(fitted.conversion.effects) if fitted is not None else []
            if c.response not in known_arms:
                raise InputError(
                    f"response {c.response!r} is not a treatment of the scenario's response "
                    f"model (it has {known_arms or 'none'})",
                    source=source,
                    field=f"campaigns[{i}].response",
                )
        for what, named, known in (
            ("segment", c.audience.segments, segs),
            ("tier", c.audience.tiers, tiers),
        ):
            bad = set(named or []) - known
            if bad:
                raise InputError(
                    f"unknown {what}(s) {sorted(bad)}; the scenario has {sorted(known)}"
                    + did_you_mean(sorted(bad)[0], known),
                    source=source,
                    field=f"campaigns[{i}].audience.{what}s",
                )
    first = scenario.calendar.start
    last = first + dt.timedelta(days=scenario.calendar.horizon_days - 1)
    for i, period in enumerate(policy.staffing.periods):
        if period.end < first or period.start > last:
            raise InputError(
                f"the period {period.start} to {period.end} lies outside the scenario's run "
                f"({first} to {last})",
                source=source,
                field=f"staffing.periods[{i}]",
            )


def policy_from_dict(
    data: dict[str, Any], *, source: str = "(policy)", scenario: Scenario | None = None
) -> Policy:
    """Validate a plain mapping as a :class:`Policy` (optionally against a scenario)."""
    pol = validate_model(Policy, data, source=source)
    if scenario is not None:
        check_against_scenario(pol, scenario, source)
    return pol


def load_policy(path: str | Path, *, scenario: Scenario | None = None) -> Policy:
    """Load and validate a policy YAML file.

    Parameters
    ----------
    path
        A policy file such as ``params/policies/bau_default.yaml``, or a preset's name
        (``"bau_default"``; see :mod:`retention_sim.config.presets`).
    scenario
        If given, also check that the policy's channels, segments and tiers exist in it.

    Raises
    ------
    InputError
        One message naming the file, the field path and the problem.
    """
    path = resolve_preset(path, "policy")
    pol = load_model(Policy, path)
    if scenario is not None:
        check_against_scenario(pol, scenario, str(path))
    return pol
