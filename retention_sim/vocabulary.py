"""Fixed names shared by every layer: lifecycle stages, churn causes, channels."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "STAGES",
    "Stage",
    "StageName",
    "CAUSES",
    "CauseName",
    "CHANNELS",
    "ChannelName",
    "WEEKDAYS",
]

STAGES: tuple[str, ...] = ("new", "active", "loyal", "at_risk", "lapsed", "churned", "won_back")
StageName = Literal["new", "active", "loyal", "at_risk", "lapsed", "churned", "won_back"]


class Stage:
    """Integer codes of the lifecycle stages, as stored in the population arrays.

    ``PENDING`` marks a row reserved for a customer who has not arrived yet.
    """

    PENDING = -1
    NEW = 0
    ACTIVE = 1
    LOYAL = 2
    AT_RISK = 3
    LAPSED = 4
    CHURNED = 5
    WON_BACK = 6


CAUSES: tuple[str, ...] = (
    "death",
    "relocation",
    "friends",
    "lifestyle",
    "competitor",
    "dissatisfaction",
    "indifference",
    "annoyance",
)
CauseName = Literal[
    "death",
    "relocation",
    "friends",
    "lifestyle",
    "competitor",
    "dissatisfaction",
    "indifference",
    "annoyance",
]

CHANNELS: tuple[str, ...] = ("email", "sms", "push", "zalo", "phone")
ChannelName = Literal["email", "sms", "push", "zalo", "phone"]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
