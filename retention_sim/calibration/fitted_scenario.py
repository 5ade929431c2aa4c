"""From fitted models to a scenario: the mapping of the purchase, dropout and spend fits onto
the simulator's parameters (and its approximations; see ``docs/model.md``, "Calibration from
transaction logs"). Everything a purchase log cannot tell is neutral."""

from __future__ import annotations

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
    "fitted_intervals",
    "round6",
    "DAYS_PER_YEAR",
]

DAYS_PER_YEAR = 365.0  # the simulator's year (traits.daily_hazard, purchase rates)


def gamma_moments_of_product(r: Any, alpha: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """Mean and shape of the gamma with the mean and variance of ``λ p`` (λ ~ Γ(r, α), p ~ B(a, b)).

    Works elementwise on arrays as well as on floats."""
    m = (r / alpha) * (a / (a + b))
    m2 = (r * (r + 1.0) / alpha**2) * (a * (a + 1.0) / ((a + b) * (a + b + 1.0)))
    var = np.maximum(m2 - m * m, 1e-300)
    return m, m * m / var


def _purchase_fields(model: str, p: dict[str, Any], unit_days: float) -> dict[str, Any]:
    """The scenario fields a purchase model's parameters map to (elementwise on arrays)."""
    rate_mean = p["r"] / p["alpha"] * (DAYS_PER_YEAR / unit_days)
    if model == "pareto_nbd":
        hazard_day, frailty_shape = p["s"] / (p["beta"] * unit_days), p["s"]
    else:
        m, frailty_shape = gamma_moments_of_product(p["r"], p["alpha"], p["a"], p["b"])
        hazard_day = m / unit_days
    annual = np.minimum(-np.expm1(-hazard_day * DAYS_PER_YEAR), 0.999999)
    return {
        "purchase_rate_per_year.mean": rate_mean,
        "purchase_rate_per_year.shape": p["r"],
        "frailty_shape": frailty_shape,
        "annual_probability": annual,
        "hazard_day": hazard_day,
    }


def _spend_fields(p: dict[str, Any], q_floor: float) -> dict[str, Any]:
    q = np.maximum(p["q"], q_floor)
    return {
        "spend.p": p["p"],
        "spend.q": q,
        "spend.mean_per_purchase": p["p"] * p["gamma"] / (q - 1.0),
    }


#: Draws from the fits' sampling distributions behind each interval.
INTERVAL_DRAWS = 4000
_INTERVAL_KEY = 0x43414C  # "CAL": the intervals depend on the fits only


def _draws(fit: FitResult, rng: np.random.Generator) -> dict[str, np.ndarray] | None:
    """``INTERVAL_DRAWS`` parameter vectors from the fit's asymptotic normal in log-parameters
    (the scale it was fitted on), or ``None`` when its covariance is not usable."""
    theta = np.array(list(fit.params.values()), dtype=float)
    cov = np.asarray(fit.cov, dtype=float)
    if cov.shape != (theta.size, theta.size) or not np.all(np.isfinite(cov)):
        return None
    cov_log = cov / np.outer(theta, theta)
    if np.any(np.linalg.eigvalsh((cov_log + cov_log.T) / 2.0) < 0):
        return None
    z = rng.multivariate_normal(np.log(theta), cov_log, size=INTERVAL_DRAWS, method="eigh")
    return {k: np.exp(z[:, i]) for i, k in enumerate(fit.params)}


def fitted_intervals(
    purchase: FitResult,
    spend: FitResult | None,
    unit_days: float,
    *,
    q_floor: float = 1.02,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """The ``level`` interval of every scenario field the fits map to.

    Parameter vectors are drawn from each fit's asymptotic normal distribution in
    log-parameters (its covariance, the inverse Hessian) and carried through the same mapping
    as the estimates; the interval is the draws' central ``level`` quantiles. That carries
    each fit's correlations into the fields it maps to (e.g. ``r / alpha``), which the
    standard errors of ``r`` and ``alpha`` alone would not.

    Parameters
    ----------
    purchase
        The selected purchase-and-dropout fit (``bgnbd`` or ``pareto_nbd``).
    spend
        The gamma-gamma fit, or ``None``.
    unit_days
        Days per time unit of the fit.
    q_floor
        The smallest ``q`` the scenario uses (a finite mean spend).
    level
        Coverage of each interval.

    Returns
    -------
    dict
        ``{scenario field path: (low, high)}``; a fit without a usable covariance gives none.
        The mean dropout hazard's interval is given relative to its estimate, as
        ``churn.hazard_scale`` (whose value in the scenario is 1).
    """
    rng = np.random.default_rng(np.random.SeedSequence(_INTERVAL_KEY))
    lo_q, hi_q = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    seg = "population.segments.calibrated"
    fields: dict[str, np.ndarray] = {}
    got = _draws(purchase, rng)
    if got is not None:
        drawn = _purchase_fields(purchase.model, got, unit_days)
        for k in ("purchase_rate_per_year.mean", "purchase_rate_per_year.shape", "frailty_shape"):
            fields[f"{seg}.{k}"] = np.asarray(drawn[k])
        # the dropout level, as a multiplier of every cause's hazard: the same field whether
        # the dropout stays in one cause or is shared among causes later
        est = _purchase_fields(purchase.model, purchase.params, unit_days)["hazard_day"]
        fields["churn.hazard_scale"] = np.asarray(drawn["hazard_day"]) / float(est)
    got = _draws(spend, rng) if spend is not None else None
    if got is not None:
        fields.update({f"{seg}.{k}": np.asarray(v) for k, v in _spend_fields(got, q_floor).items()})
    out = {}
    for k, v in fields.items():
        v = v[np.isfinite(v)]
        if v.size:
            out[k] = (round6(float(np.quantile(v, lo_q))), round6(float(np.quantile(v, hi_q))))
    return out


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
    spend_fit: FitResult | None = None,
) -> dict[str, Any]:
    """The calibrated scenario as a mapping (see ``docs/model.md`` for the mapping), with a
    ``provenance`` section naming ``source`` for every fitted number, and the 95% interval
    (:func:`fitted_intervals`) of those the fits' covariances carry to."""
    mapped = _purchase_fields(purchase.model, purchase.params, unit_days)
    rate_mean = float(mapped["purchase_rate_per_year.mean"])
    frailty_shape = float(mapped["frailty_shape"])
    annual = float(mapped["annual_probability"])
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
                        "shape": round6(purchase.params["r"]),
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
        "provenance": _provenance(
            purchase, source, fitted_intervals(purchase, spend_fit, unit_days)
        ),
    }


def round6(x: float) -> float:
    """Six significant digits: readable YAML without changing the fit materially."""
    return float(f"{x:.6g}")


def _provenance(
    purchase: FitResult, source: str, intervals: dict[str, tuple[float, float]]
) -> dict[str, dict[str, Any]]:
    """What the calibration fitted, from which model, with its interval where known; what it
    set neutral because a purchase log cannot tell."""
    model = {"pareto_nbd": "Pareto/NBD", "bgnbd": "BG/NBD"}.get(purchase.model, purchase.model)
    seg = "population.segments.calibrated"

    def fitted(what: str) -> dict[str, Any]:
        return {"kind": "fitted", "source": f"{source}: {what}"}

    neutral = {
        "kind": "assumption",
        "source": "neutral: a transaction log cannot tell churn causes apart, so every cause but "
        f"{DROPOUT_CAUSE} (which carries the fitted dropout) is off",
    }
    out: dict[str, dict[str, Any]] = {
        f"{seg}.purchase_rate_per_year.mean": fitted(f"{model} purchase rate (r / alpha)"),
        f"{seg}.purchase_rate_per_year.shape": fitted(f"{model} heterogeneity r"),
        f"{seg}.spend.mean_per_purchase": fitted("gamma-gamma mean spend (p gamma / (q - 1))"),
        f"{seg}.spend.p": fitted("gamma-gamma p"),
        f"{seg}.spend.q": fitted("gamma-gamma q"),
        f"{seg}.frailty_shape": fitted(f"{model} dropout heterogeneity"),
        f"churn.causes.{DROPOUT_CAUSE}.annual_probability": fitted(f"{model} mean dropout"),
        f"churn.causes.{DROPOUT_CAUSE}.frailty": fitted(f"{model} dropout varies by customer"),
        "churn.hazard_scale": fitted(
            f"1: the {model} mean dropout as fitted (its interval relative to it)"
        ),
        "population.initial_customers": fitted(f"{model} expected customers alive"),
        "population.tenure.mean_years": fitted("customers' time since first purchase"),
        "population.tenure.max_years": fitted("customers' time since first purchase"),
        "calendar.start": fitted("the day after the calibration period"),
        "churn.causes.*.annual_probability": neutral,
    }
    for k, (lo, hi) in intervals.items():
        out[k]["interval"] = [lo, hi]
    return out


def log_scenario_data(
    log: TransactionLog,
    h: pd.DataFrame,
    sel: FitResult,
    model_label: str,
    spend: dict[str, float],
    time_unit: str,
    name: str | None,
    currency: str,
    spend_fit: FitResult | None = None,
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
        spend_fit=spend_fit,
    )
