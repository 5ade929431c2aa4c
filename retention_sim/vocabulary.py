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
    "CHANNEL_INDEX",
    "ChannelName",
    "WEEKDAYS",
    "NEVER",
]

StageName = Literal["new", "active", "loyal", "at_risk", "lapsed", "churned", "won_back"]
STAGES: tuple[StageName, ...] = (
    "new",
    "active",
    "loyal",
    "at_risk",
    "lapsed",
    "churned",
    "won_back",
)


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
CAUSES: tuple[CauseName, ...] = (
    "death",
    "relocation",
    "friends",
    "lifestyle",
    "competitor",
    "dissatisfaction",
    "indifference",
    "annoyance",
)

ChannelName = Literal["email", "sms", "push", "zalo", "phone"]
CHANNELS: tuple[ChannelName, ...] = ("email", "sms", "push", "zalo", "phone")
#: Column of each channel in the per-channel arrays.
CHANNEL_INDEX: dict[str, int] = {c: k for k, c in enumerate(CHANNELS)}

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: A day long before any run (``int32`` minimum // 2): "never happened" in day columns.
NEVER: int = -(2**30)
