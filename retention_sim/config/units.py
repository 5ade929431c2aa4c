"""Constrained number types shared by the scenario's sections (the unit is in each name)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["Probability", "Share", "NonNeg", "Positive", "Multiplier", "Days"]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Share = Annotated[float, Field(gt=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Multiplier = Annotated[float, Field(ge=0.0, le=1000.0, allow_inf_nan=False)]
Days = Annotated[int, Field(ge=0, le=36_500)]
