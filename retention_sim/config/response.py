"""A fitted response model: what a delivered message does to conversion, visits and spend in a
window after it, as estimated from a randomised campaign (``retention-sim calibrate-response``).

The file is YAML with one top-level key, ``response``, so that a scenario can include it. Every
estimate carries its standard error, and the model says where it came from (the file and its
SHA-256, the arms, the rows per arm). The equations are in ``docs/model.md``, "Contact effects
from a randomised campaign".
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..vocabulary import ChannelName
from .base import StrictModel
from .files import read_yaml_mapping, validate_model
from .units import NonNeg, Positive

__all__ = [
    "Estimate",
    "FeatureSpec",
    "Linear",
    "ArmEffect",
    "BinaryResponse",
    "SpendResponse",
    "Provenance",
    "ResponseModel",
    "load_response",
]

Form = Literal["multiplicative", "additive"]


class Estimate(StrictModel):
    """A fitted number and its standard error (``None`` when it could not be computed)."""

    estimate: float
    se: NonNeg | None = None


class FeatureSpec(StrictModel):
    """How a pre-period column is encoded: numeric (standardised) or categorical."""

    kind: Literal["numeric", "categorical"]
    mean: float = 0.0
    sd: Positive = 1.0
    levels: list[str] = []

    @model_validator(mode="after")
    def _levels(self) -> FeatureSpec:
        if self.kind == "categorical" and len(self.levels) < 2:
            raise ValueError("a categorical feature needs at least two levels")
        return self


class Linear(StrictModel):
    """An intercept and one coefficient per encoded column (``feature`` or ``feature=level``)."""

    intercept: Estimate
    coefficients: dict[str, Estimate] = {}


class ArmEffect(StrictModel):
    """What one treatment's message does: a constant and one term per effect modifier."""

    channel: ChannelName
    intercept: Estimate
    modifiers: dict[str, Estimate] = {}


class BinaryResponse(StrictModel):
    """A 0/1 outcome in the window (conversion, visit).

    ``multiplicative``: ``logit p = baseline + effect``; ``additive``: ``p = σ(baseline) +
    effect``. ``log_likelihood`` holds both forms' maxima on the fitted rows; ``form`` is the
    higher (both have the same number of parameters).
    """

    form: Form
    log_likelihood: dict[Form, float]
    baseline: Linear
    effects: dict[str, ArmEffect]


class SpendResponse(StrictModel):
    """Spend of a converting customer: gamma with ``log mean = baseline + arm effect``."""

    shape: Positive
    baseline: Linear
    effects: dict[str, Estimate]


class Provenance(StrictModel):
    """Where the numbers come from."""

    file: str
    sha256: str
    arm_column: str
    control: str
    treatments: Annotated[list[str], Field(min_length=1)]
    rows: dict[str, Annotated[int, Field(ge=0)]]
    fitted_on: str = "all rows"


class ResponseModel(StrictModel):
    """The whole fitted response (see the module docstring)."""

    window_days: Annotated[int, Field(ge=1, le=365)]
    source: Provenance
    features: dict[str, FeatureSpec]
    baseline_features: list[str]
    effect_features: list[str]
    conversion: BinaryResponse
    visit: BinaryResponse | None = None
    spend: SpendResponse | None = None

    @model_validator(mode="after")
    def _known_features(self) -> ResponseModel:
        unknown = set(self.baseline_features) | set(self.effect_features)
        unknown -= set(self.features)
        if unknown:
            raise ValueError(f"features {sorted(unknown)} are used but not described")
        return self


def load_response(path: str | Path) -> ResponseModel:
    """Read and validate a response file (its ``response`` section).

    Raises
    ------
    InputError
        One line naming the file, the field and the problem.
    """
    data = read_yaml_mapping(path)
    return validate_model(ResponseModel, data.get("response", data), source=path)
