"""The customers file of a calibration: every observed customer's history, RFM scores and the
posterior of their unobserved state under the fitted models (read back by
:mod:`retention_sim.model.observed`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.observed import validate_history
from .fitted_scenario import DAYS_PER_YEAR
from .fitting import FitResult
from .forecast import expected_purchases
from .spend_model import gamma_gamma_mean_spend
from .transactions import TIME_UNITS, TransactionLog

__all__ = ["add_rfm", "customers_file"]


def add_rfm(h: pd.DataFrame) -> None:
    """RFM scores (quintiles among all customers of the log at ``until``) and named segments."""
    from ..config.policy import RFM_SEGMENTS
    from ..model.rfm import rfm_scores, rfm_segments

    r_s, f_s, m_s, _ = rfm_scores(
        h["days_since_last_purchase"].to_numpy(),
        h["n_purchases"].to_numpy(),
        h["average_order_value"].to_numpy(),
    )
    h["rfm_recency"], h["rfm_frequency"], h["rfm_monetary"] = r_s, f_s, m_s
    h["rfm_score"] = [f"{a}{b}{c}" for a, b, c in zip(r_s, f_s, m_s, strict=True)]
    h["rfm_segment"] = np.asarray(RFM_SEGMENTS, dtype=object)[rfm_segments(r_s, f_s)]


def customers_file(
    h: pd.DataFrame,
    log: TransactionLog,
    *,
    time_unit: str,
    selected: str,
    purchase: FitResult,
    spend: FitResult,
) -> pd.DataFrame:
    """The observed customers with their history and the posterior of their state."""
    unit_days = float(TIME_UNITS[time_unit])
    x = h["frequency"].to_numpy(dtype=float)
    T = h["T"].to_numpy(dtype=float)
    zbar = h["monetary_value"].to_numpy(dtype=float)
    prm = purchase.params
    gp, gq, gg_gamma = spend.params["p"], spend.params["q"], spend.params["gamma"]
    customers = pd.DataFrame(
        {
            "customer_id": h.index.to_numpy(),
            "as_of": log.until,
            "first_purchase": h["first_purchase"].to_numpy(),
            "last_purchase": h["last_purchase"].to_numpy(),
            "time_unit": time_unit,
            "frequency": h["frequency"].to_numpy(),
            "recency": h["recency"].to_numpy(),
            "T": h["T"].to_numpy(),
            "n_purchases": h["n_purchases"].to_numpy(),
            "spend_total": h["spend_total"].to_numpy(),
            "monetary_value": zbar,
            "average_order_value": h["average_order_value"].to_numpy(),
            "days_since_last_purchase": h["days_since_last_purchase"].to_numpy(),
            "rfm_recency": h["rfm_recency"].to_numpy(),
            "rfm_frequency": h["rfm_frequency"].to_numpy(),
            "rfm_monetary": h["rfm_monetary"].to_numpy(),
            "rfm_segment": h["rfm_segment"].to_numpy(),
            "model": selected,
            "p_alive": h["p_alive"].to_numpy(),
            "rate_shape": prm["r"] + x,
            "rate_rate_days": (prm["alpha"] + T) * unit_days,
        }
    )
    if selected == "pareto_nbd":
        customers["hazard_shape"] = prm["s"]
        customers["hazard_rate_days"] = (prm["beta"] + T) * unit_days
    else:
        customers["dropout_a"] = prm["a"]
        customers["dropout_b"] = prm["b"] + x
    customers["spend_p"] = gp
    customers["nu_shape"] = gp * x + gq
    customers["nu_rate"] = gg_gamma + x * zbar
    customers["expected_spend_per_purchase"] = gamma_gamma_mean_spend(
        (gp, max(gq, 1.02), gg_gamma), x, zbar
    )
    validated = validate_history(customers, source="(calibration)")
    customers["expected_purchases_365d"] = expected_purchases(validated, 0.0, DAYS_PER_YEAR)
    return customers
