"""From fitted models to a scenario: the mapping of the purchase, dropout and spend fits onto
the simulator's parameters (and its approximations; see ``docs/model.md``, "Calibration from
transaction logs"). Everything a purchase log cannot tell is neutral."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..model.observed import DROPOUT_CAUSE
from .fitting import FitResult
from .transactions import TIME_UNITS, TransactionLog

__all__ = [
    "scenario_data",
    "log_scenario_data",
    "gamma_moments_of_product",
    "round6",
    "DAYS_PER_YEAR",
]

DAYS_PER_YEAR = 365.0  # the simulator's year (traits.daily_hazard, purchase rates)


def gamma_moments_of_product(r: float, alpha: float, a: float, b: float) -> tuple[float, float]:
    """Mean and shape of the gamma with the mean and variance of ``λ p`` (λ ~ Γ(r, α), p ~ B(a, b))."""
    m = (r / alpha) * (a / (a + b))
    m2 = (r * (r + 1.0) / alpha**2) * (a * (a + 1.0) / ((a + b) * (a + b + 1.0)))
    var = max(m2 - m * m, 1e-300)
    return m, m * m / var


def scenario_data(
    *,
    name: str,
    description: str,
    start: pd.Timestamp,
    unit_days: float,
    purchase: FitResult,
    spend: dict[str, float],
    expected_alive: float,
    tenure_days: np.ndarray,
    loyal_min_purchases: int,
    currency: str,
    source: str = "the transaction log",
) -> dict[str, Any]:
    """The calibrated scenario as a mapping (see ``docs/model.md`` for the mapping), with a
    ``provenance`` section naming ``source`` for every fitted number."""
    p = purchase.params
    per_year = DAYS_PER_YEAR / unit_days
    rate_mean = p["r"] / p["alpha"] * per_year
    if purchase.model == "pareto_nbd":
        hazard_day, frailty_shape = p["s"] / (p["beta"] * unit_days), p["s"]
    else:
        m, shape = gamma_moments_of_product(p["r"], p["alpha"], p["a"], p["b"])
        hazard_day, frailty_shape = m / unit_days, shape
    annual = float(min(-math.expm1(-hazard_day * DAYS_PER_YEAR), 0.999999))
    mean_years = float(np.mean(tenure_days)) / DAYS_PER_YEAR
    max_years = max(float(np.max(tenure_days)) / DAYS_PER_YEAR, 1.0 / DAYS_PER_YEAR)
    off = {"annual_probability": 0.0}
    causes: dict[str, Any] = {
        "death": dict(off),
        "relocation": dict(off),
        "friends": dict(off),
        "lifestyle": dict(off),
        "competitor": {"annual_probability": 0.0, "events_per_year": 0.0},
        "dissatisfaction": dict(off),
        "indifference": {"annual_probability": 0.0, "stage_multiplier": {}},
    }
    causes[DROPOUT_CAUSE] = {"annual_probability": round6(annual), "frailty": True}
    return {
        "name": name,
        "description": description,
        "calendar": {"start": start.date().isoformat(), "horizon_days": 365},
        "population": {
            "initial_customers": max(int(round(expected_alive)), 0),
            "arrivals_per_day": 0.0,
            "tenure": {"mean_years": round6(mean_years), "max_years": round6(max_years)},
            "segments": {
                "calibrated": {
                    "share": 1.0,
                    "purchase_rate_per_year": {
                        "mean": round6(rate_mean),
                        "shape": round6(p["r"]),
                    },
                    "spend": {
                        "mean_per_purchase": round6(spend["mean_per_purchase"]),
                        "p": round6(spend["p"]),
                        "q": round6(spend["q"]),
                    },
                    "frailty_shape": round6(frailty_shape),
                }
            },
        },
        "stages": {"loyal_min_tier": None, "loyal_min_purchases": int(loyal_min_purchases)},
        "churn": {"causes": causes},
        "social": {"mean_ties": 0.0},
        "loyalty": {"enabled": False},
        "satisfaction": {"spread": 0.0, "purchase_sensitivity": 0.0},
        "service": {
            "agents": 1,
            "product_issue_rate_per_year": 0.0,
            "inquiry_rate_per_year": 0.0,
            "agent_cost_per_day": 0.0,
        },
        "economics": {"currency": currency, "acquisition_cost": 0.0},
        "provenance": _provenance(purchase, source),
    }


def round6(x: float) -> float:
    """Six significant digits: readable YAML without changing the fit materially."""
    return float(f"{x:.6g}")


def _provenance(purchase: FitResult, source: str) -> dict[str, dict[str, str]]:
    """What the calibration fitted, from which model; what it set neutral because a purchase
    log cannot tell."""
    model = {"pareto_nbd": "Pareto/NBD", "bgnbd": "BG/NBD"}.get(purchase.model, purchase.model)
    seg = "population.segments.calibrated"

    def fitted(what: str) -> dict[str, str]:
        return {"kind": "fitted", "source": f"{source}: {what}"}

    neutral = {
        "kind": "assumption",
        "source": "neutral: a transaction log cannot tell churn causes apart, so every cause but "
        f"{DROPOUT_CAUSE} (which carries the fitted dropout) is off",
    }
    return {
        f"{seg}.purchase_rate_per_year.mean": fitted(f"{model} purchase rate (r / alpha)"),
        f"{seg}.purchase_rate_per_year.shape": fitted(f"{model} heterogeneity r"),
        f"{seg}.spend.mean_per_purchase": fitted("gamma-gamma mean spend (p gamma / (q - 1))"),
        f"{seg}.spend.p": fitted("gamma-gamma p"),
        f"{seg}.spend.q": fitted("gamma-gamma q"),
        f"{seg}.frailty_shape": fitted(f"{model} dropout heterogeneity"),
        f"churn.causes.{DROPOUT_CAUSE}.annual_probability": fitted(f"{model} mean dropout"),
        f"churn.causes.{DROPOUT_CAUSE}.frailty": fitted(f"{model} dropout varies by customer"),
        "population.initial_customers": fitted(f"{model} expected customers alive"),
        "population.tenure.mean_years": fitted("customers' time since first purchase"),
        "population.tenure.max_years": fitted("customers' time since first purchase"),
        "calendar.start": fitted("the day after the calibration period"),
        "churn.causes.*.annual_probability": neutral,
    }


def log_scenario_data(
    log: TransactionLog,
    h: pd.DataFrame,
    sel: FitResult,
    model_label: str,
    spend: dict[str, float],
    time_unit: str,
    name: str | None,
    currency: str,
) -> dict[str, Any]:
    """The scenario of a transaction log's fits (before its dropout is shared among causes):
    :func:`scenario_data` with the log's dates, name and source."""
    unit_days = float(TIME_UNITS[time_unit])
    until_s = log.until.date().isoformat()
    stem = Path(log.source).stem if log.source else "log"
    return scenario_data(
        name=name or f"calibrated_{stem}",
        description=(
            f"Calibrated from {Path(log.source).name} up to {until_s}: "
            f"{model_label} purchases and dropout, gamma-gamma spend."
        ),
        start=log.until + pd.Timedelta(days=1),
        unit_days=unit_days,
        purchase=sel,
        spend=spend,
        expected_alive=float(h["p_alive"].sum()),
        tenure_days=h["T"].to_numpy(dtype=float) * unit_days,
        loyal_min_purchases=int(max(2, np.quantile(h["n_purchases"].to_numpy(), 0.8))),
        currency=currency,
        source=f"{Path(log.source).name} up to {until_s}",
    )
