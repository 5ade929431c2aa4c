"""The thresholds of the frequency classes (``Policy.frequency``; the classes themselves are
computed by :mod:`retention_sim.model.contacts.frequency`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import StrictModel
from .units import Probability

__all__ = ["FrequencyClass", "FrequencyRules"]

FrequencyClass = Literal["undersaturated", "on_target", "saturated"]


class FrequencyRules(StrictModel):
    """Thresholds of the frequency classes (``model/contacts/frequency.py``)."""

    window_days: Annotated[int, Field(ge=1, le=365)] = 28
    undersaturated_below: Annotated[int, Field(ge=1, le=1000)] = 4
    saturated_at: Annotated[int, Field(ge=1, le=1000)] = 12
    min_open_share: Probability = 0.05

    @model_validator(mode="after")
    def _ordered(self) -> FrequencyRules:
        if self.saturated_at < self.undersaturated_below:
            raise ValueError("saturated_at must be at least undersaturated_below")
        return self
