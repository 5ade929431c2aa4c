"""Staffing as a policy lever: the desk's agents and account managers, and extra agents for a
period (``Policy.staffing``; the desk that uses them is :mod:`retention_sim.model.service_desk`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, model_validator

from .base import StrictModel
from .units import NonNeg

__all__ = ["StaffPeriod", "Staffing", "NEUTRAL_STAFFING"]


class StaffPeriod(StrictModel):
    """Extra desk agents on duty from ``start`` to ``end`` (inclusive), e.g. in a sale week."""

    start: dt.date
    end: dt.date
    extra_agents: Annotated[int, Field(ge=1, le=10_000)]

    @model_validator(mode="after")
    def _ordered(self) -> StaffPeriod:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class Staffing(StrictModel):
    """Staffing as a policy lever: desk agents and account managers, each with its cost.

    ``agents`` and ``account_managers`` replace the scenario's numbers (``None``: keep them);
    ``periods`` add agents for a while. Extra agents cost ``cost_per_extra_agent_day`` (``None``:
    the scenario's ``agent_cost_per_day``).
    """

    agents: Annotated[int, Field(ge=0, le=100_000)] | None = None
    account_managers: Annotated[int, Field(ge=0, le=100_000)] | None = None
    periods: list[StaffPeriod] = []
    cost_per_extra_agent_day: NonNeg | None = None


#: A policy's staffing that changes nothing (left out of the content hash).
NEUTRAL_STAFFING: dict[str, Any] = Staffing().model_dump(mode="json")
