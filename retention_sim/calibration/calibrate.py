"""Calibration from a transaction log, and forecasts of the observed customers.

:func:`calibrate` reads a log (:mod:`retention_sim.calibration.transactions`), fits the BG/NBD and Pareto/NBD
purchase-and-dropout models and the gamma–gamma spend model (:mod:`retention_sim.calibration.fitting`),
keeps the purchase model with the higher log-likelihood (both have four parameters), scores RFM,
and builds a scenario the simulator runs plus, optionally, a *customers file*: the observed
customers with their history and the posterior of their unobserved state, which
:mod:`retention_sim.model.observed` turns into the starting population.

:func:`forecast` simulates those customers forward with no marketing contact and reports the
expected purchases of each customer in a window and a weekly aggregate with intervals, next to
the closed-form expectation of the fitted model.

The mapping from the fitted models into the scenario, and its approximations, are written down in
``docs/model.md`` ("Calibration from transaction logs").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from ..config.policy import Policy
from ..config.response import ResponseModel
from ..config.scenario import Scenario, scenario_from_dict
from ..errors import InputError
from ..model.observed import DROPOUT_CAUSE
from ..model.observed import validate_history as _validate_history
from ..outputs import CSV_FLOAT_FORMAT, atomic_write_text
from .customers_file import add_rfm, customers_file
from .fitted_scenario import log_scenario_data
from .fitting import FitResult
from .historical import check_historical, make_responsive, parse_split
from .purchase_models import bgnbd_p_alive, fit_bgnbd, fit_pareto_nbd, pareto_nbd_p_alive
from .spend_model import fit_gamma_gamma
from .transactions import (
    TIME_UNITS,
    TransactionLog,
    customer_histories,
    read_transactions,
)

__all__ = ["Calibration", "calibrate"]

_MODEL_LABEL = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "gamma_gamma": "gamma-gamma"}
_MIN_CUSTOMERS = 10
_FITTERS = {"bgnbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd}


def _money_note(scenario: Any) -> str:
    """The money amounts a log does not fit, in the units of the package defaults."""
    costs = ", ".join(f"{name} {ch.cost_per_message:g}" for name, ch in scenario.channels.items())
    cur = scenario.economics.currency or "the log's units"
    return (
        f"spend is in {cur}, but the costs a purchase log cannot tell (per message: {costs}; "
        "rewards and offers) are the package defaults, set for a retailer in VND: set them in "
        "the scenario's channels (cost_per_message) and loyalty sections before judging profit"
    )


_BGNBD_NOTE = (
    "BG/NBD dropout (after a purchase, probability p) is carried in the scenario as a "
    "gamma-distributed hazard with the mean and variance of lambda*p; the customers "
    "file keeps the exact posterior (hazard lambda*p per customer)"
)


# ----------------------------------------------------------------------------- calibration
@dataclass
class Calibration:
    """What :func:`calibrate` found.

    Attributes
    ----------
    log
        The validated transaction log.
    time_unit
        ``"day"`` or ``"week"``: the unit of ``recency``, ``T`` and of ``alpha``, ``beta``.
    histories
        One row per customer: the model inputs, RFM scores and segment, ``p_alive``.
    fits
        ``"bgnbd"``, ``"pareto_nbd"`` and ``"gamma_gamma"`` fits (a purchase model that could
        not be fitted is missing).
    selected
        The purchase model used for the scenario and the posterior.
    scenario
        The calibrated scenario.
    scenario_data
        The same scenario as a plain mapping (only what differs from the package defaults), as
        written to the YAML file.
    customers
        The customers file (history and posterior of each customer).
    notes
        Approximations and data handling worth knowing.
    dropout_annual
        The fitted probability that a customer drops out within a year (before any split).
    responsive
        How the dropout was shared among causes: ``split``, ``modifiers``,
        ``purchase_multiplier``, ``historical_policy`` (see
        :func:`~retention_sim.calibration.historical.make_responsive`).
    """

    log: TransactionLog
    time_unit: str
    histories: pd.DataFrame
    fits: dict[str, FitResult]
    selected: str
    scenario: Scenario
    scenario_data: dict[str, Any]
    customers: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    dropout_annual: float = float("nan")
    responsive: dict[str, Any] = field(default_factory=dict)

    def scenario_yaml(self) -> str:
        """The scenario as YAML, with a header saying where it came from."""
        return _scenario_header(self) + yaml.safe_dump(
            self.scenario_data, sort_keys=False, allow_unicode=True, width=100
        )

    def report(self) -> dict[str, Any]:
        """JSON-ready report: the log, both purchase fits, the spend fit, the choice, RFM."""
        sc = self.scenario
        seg = next(iter(sc.population.segments.values()))
        resp = {k: v for k, v in self.responsive.items() if k != "notes"}
        return {
            "log": self.log.describe(),
            "time_unit": self.time_unit,
            "customers": int(len(self.histories)),
            "repeat_purchases": int(self.histories["frequency"].sum()),
            "models": {k: f.to_dict() for k, f in self.fits.items()},
            "selected": self.selected,
            "selection": "higher log-likelihood (both purchase models have four parameters)",
            "expected_alive": float(self.histories["p_alive"].sum()),
            "scenario": {
                "name": sc.name,
                "purchase_rate_per_year": seg.purchase_rate_per_year.model_dump(),
                "spend": seg.spend.model_dump(),
                "dropout": {
                    "cause": DROPOUT_CAUSE if resp.get("split") is None else "shared",
                    "annual_probability": self.dropout_annual,
                    "frailty_shape": seg.frailty_shape,
                    **resp,
                },
            },
            "rfm_segments": {
                str(k): int(v) for k, v in self.histories["rfm_segment"].value_counts().items()
            },
            "notes": list(self.notes),
        }

    def describe(self) -> str:
        """A readable summary of the calibration (for the command line)."""
        lg = self.log.describe()
        h = self.histories
        lines = [
            f"calibrated from {lg['source']}: {lg['customers']:,} customers, "
            f"{lg['rows_read']:,} rows ({lg['duplicate_rows']} exact duplicate rows "
            f"{'dropped' if lg['duplicates'] == 'drop' else 'kept'}, "
            f"{lg['same_day_rows_merged']} same-day rows merged), purchases "
            f"{lg['first_date']} to {lg['until']}, time unit {self.time_unit}",
            f"{'model':<12}{'log-lik':>12}   parameters (± standard error)",
        ]
        for key in ("bgnbd", "pareto_nbd", "gamma_gamma"):
            f = self.fits.get(key)
            if f is None:
                lines.append(f"{_MODEL_LABEL[key]:<12}{'not fitted':>12}")
                continue
            ps = "  ".join(f"{k} {v:.4g} ± {f.se[k]:.2g}" for k, v in f.params.items())
            mark = "   <- selected" if key == self.selected else ""
            lines.append(f"{_MODEL_LABEL[key]:<12}{f.loglik:>12.2f}   {ps}{mark}")
        lines.append(
            f"expected alive at {lg['until']}: {h['p_alive'].sum():,.0f} of {len(h):,} customers"
        )
        rep = self.report()["scenario"]
        pr, sp, dr = rep["purchase_rate_per_year"], rep["spend"], rep["dropout"]
        lines.append(
            f"scenario {rep['name']}: purchases/year mean {pr['mean']:.4g} shape {pr['shape']:.4g}; "
            f"spend mean {sp['mean_per_purchase']:.4g} p {sp['p']:.4g} q {sp['q']:.4g}; dropout "
            f"({dr['cause']}) annual probability {dr['annual_probability']:.4g} frailty shape "
            f"{dr['frailty_shape']:.4g}"
        )
        seg = h["rfm_segment"].value_counts()
        lines.append("RFM segments: " + ", ".join(f"{k} {v:,}" for k, v in seg.items()))
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def write_scenario(self, path: str | Path) -> Path:
        """Write the scenario YAML atomically."""
        return atomic_write_text(path, self.scenario_yaml())

    def write_customers(self, path: str | Path) -> Path:
        """Write the customers file (CSV, dates as YYYY-MM-DD) atomically."""
        out = self.customers.copy()
        for c in ("as_of", "first_purchase", "last_purchase"):
            out[c] = pd.to_datetime(out[c]).dt.strftime("%Y-%m-%d")
        return atomic_write_text(path, out.to_csv(index=False, float_format=CSV_FLOAT_FORMAT))


def _fit_or_none(fn: Any, *args: Any, notes: list[str], label: str) -> FitResult | None:
    try:
        fit = fn(*args)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        notes.append(f"{label} could not be fitted: {exc}")
        return None
    if fit.at_bound:
        notes.append(f"{label}: {fit.bound_note()}")
    elif not fit.converged:
        notes.append(f"{label}: the optimiser did not converge cleanly; standard errors may be NaN")
    return fit


def _scenario_header(cal: Calibration) -> str:
    lg = cal.log.describe()
    sel = cal.fits[cal.selected]
    other = "pareto_nbd" if cal.selected == "bgnbd" else "bgnbd"
    lines = [
        "Calibrated by `retention-sim calibrate` (retention_sim.calibration) from",
        f"{lg['source']}: {lg['customers']} customers, purchases {lg['first_date']} to "
        f"{lg['until']}; time unit {cal.time_unit}.",
        f"Purchases and dropout: {_MODEL_LABEL[cal.selected]} (log-likelihood {sel.loglik:.2f}; "
        + ", ".join(f"{k} {v:.4g}" for k, v in sel.params.items())
        + ").",
    ]
    if other in cal.fits:
        o = cal.fits[other]
        lines.append(
            f"Also fitted: {_MODEL_LABEL[other]} (log-likelihood {o.loglik:.2f}; "
            + ", ".join(f"{k} {v:.4g}" for k, v in o.params.items())
            + ")."
        )
    gg = cal.fits.get("gamma_gamma")
    if gg is not None:
        lines.append(
            "Spend: gamma-gamma ("
            + ", ".join(f"{k} {v:.4g}" for k, v in gg.params.items())
            + "); mean_per_purchase = p gamma / (q - 1)."
        )
    lines += [
        f"Dropout is carried by the acausal cause `{DROPOUT_CAUSE}` with frailty (exact for the",
        "Pareto/NBD; a moment-matched gamma for the BG/NBD). Everything a purchase log cannot",
        "tell is neutral: no arrivals, no other churn cause, no loyalty, satisfaction, service,",
        "social or calendar effects. Channels and responses are package defaults (assumptions),",
        "used only under a contact policy. See docs/model.md, 'Calibration from transaction logs'.",
    ]
    return "".join(f"# {line}\n" for line in lines)


def _check_enough(n: int, x: np.ndarray, until: str, source: str) -> None:
    if n < _MIN_CUSTOMERS or x.sum() < 1:
        raise InputError(
            f"too little data to fit up to {until}: {n} customers and {int(x.sum())} "
            f"repeat purchases (need at least {_MIN_CUSTOMERS} customers and some repeat "
            "purchases; try a later --until)",
            source=source,
        )


def _log_notes(log: TransactionLog) -> list[str]:
    """What the reader did to the log that is worth saying."""
    notes: list[str] = []
    if log.duplicate_rows:
        notes.append(
            f"{log.duplicate_rows} exact duplicate rows "
            f"{'dropped' if log.duplicates == 'drop' else 'kept (they add to that day amount)'}"
        )
    if log.same_day_merged:
        notes.append(
            f"{log.same_day_merged} rows merged into same-day purchases (frequency counts days)"
        )
    return notes


def _fit_purchases(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, model: str, notes: list[str], source: str
) -> tuple[dict[str, FitResult], str]:
    """Both purchase models and the higher likelihood ("auto"), or only the one forced."""
    fits: dict[str, FitResult] = {}
    for key in _FITTERS if model == "auto" else [model]:
        f = _fit_or_none(_FITTERS[key], x, t_x, T, notes=notes, label=_MODEL_LABEL[key])
        if f is not None:
            fits[key] = f
    if not fits:
        what = "neither purchase model" if model == "auto" else f"the {_MODEL_LABEL[model]} model"
        raise InputError(f"{what} could not be fitted to this log", source=source)
    if model != "auto":
        notes.append(f"only the {_MODEL_LABEL[model]} purchase model fitted (--model {model})")
    return fits, max(fits, key=lambda k: fits[k].loglik) if model == "auto" else model


def _fit_spend(
    x: np.ndarray, zbar: np.ndarray, *, notes: list[str], until: str, source: str
) -> tuple[FitResult, dict[str, float]]:
    """Gamma-gamma on the mean of the repeat purchases (customers with x ≥ 1, z̄ > 0), and the
    scenario's spend parameters (q above 1 for a finite mean spend, p at most 1e6)."""
    usable = (x >= 1) & (zbar > 0)
    if (x >= 1).sum() > usable.sum():
        notes.append(
            f"{int((x >= 1).sum() - usable.sum())} customers with repeat purchases worth 0 "
            "left out of the spend fit"
        )
    if usable.sum() < _MIN_CUSTOMERS:
        raise InputError(
            f"only {int(usable.sum())} customers with paid repeat purchases up to {until}: "
            "too few to fit the spend model",
            source=source,
        )
    gg = fit_gamma_gamma(x[usable], zbar[usable])
    gp, gq, gg_gamma = gg.params["p"], gg.params["q"], gg.params["gamma"]
    q_scn, p_scn = max(gq, 1.02), min(gp, 1e6)  # a scenario takes q > 1 and p <= 1e6
    if gq <= 1.02:
        notes.append(
            f"gamma-gamma q = {gq:.3g} <= 1 gives an infinite mean spend; the scenario uses q 1.02"
        )
    if gp > p_scn:
        notes.append(f"gamma-gamma p = {gp:.3g}: spend hardly varies; the scenario uses p 1e6")
    return gg, {"p": p_scn, "q": q_scn, "mean_per_purchase": gp * gg_gamma / (q_scn - 1.0)}


def _fit_log(
    log: TransactionLog, time_unit: str, model: str, notes: list[str]
) -> tuple[pd.DataFrame, dict[str, FitResult], str, dict[str, float], pd.DataFrame]:
    """Histories, both purchase models and the spend model, the posterior, the customers."""
    h = customer_histories(log, time_unit=time_unit)
    x = h["frequency"].to_numpy(dtype=float)
    t_x = h["recency"].to_numpy(dtype=float)
    T = h["T"].to_numpy(dtype=float)
    zbar = h["monetary_value"].to_numpy(dtype=float)
    until_s = log.until.date().isoformat()
    _check_enough(len(h), x, until_s, log.source)
    fits, selected = _fit_purchases(x, t_x, T, model=model, notes=notes, source=log.source)
    fits["gamma_gamma"], spend = _fit_spend(x, zbar, notes=notes, until=until_s, source=log.source)
    sel = fits[selected]
    prm = sel.params
    # posterior of each customer's unobserved state under the selected model
    alive = pareto_nbd_p_alive if selected == "pareto_nbd" else bgnbd_p_alive
    h["p_alive"] = alive(tuple(prm.values()), x, t_x, T)
    add_rfm(h)
    customers = customers_file(
        h, log, time_unit=time_unit, selected=selected, purchase=sel, spend=fits["gamma_gamma"]
    )
    return h, fits, selected, spend, customers


def _check_inputs(
    time_unit: str,
    model: str,
    split: str | Mapping[str, float],
    response: ResponseModel | str | Path | None,
    historical_policy: Policy | str | Path | None,
) -> tuple[ResponseModel | None, Policy | None, str]:
    """Every input but the log is checked before the fits start; files are loaded."""
    if time_unit not in TIME_UNITS:
        raise InputError(f"--time-unit must be day or week, got {time_unit!r}")
    if model not in ("auto", "bgnbd", "pareto_nbd"):
        raise InputError(f"--model must be auto, bgnbd or pareto_nbd, got {model!r}")
    parse_split(split)
    fitted_response = None
    if isinstance(response, ResponseModel):
        fitted_response = response
    elif response is not None:
        from ..config.response import load_response

        fitted_response = load_response(response)
    source = "" if historical_policy is None else str(historical_policy)
    if historical_policy is not None and not isinstance(historical_policy, Policy):
        from ..config.policy import load_policy

        historical_policy = load_policy(historical_policy)
    return fitted_response, historical_policy, source


def calibrate(
    transactions: str | Path | TransactionLog,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    until: Any = None,
    time_unit: Literal["day", "week"] = "week",
    model: Literal["auto", "bgnbd", "pareto_nbd"] = "auto",
    date_format: str | None = None,
    duplicates: Literal["keep", "drop"] = "keep",
    name: str | None = None,
    currency: str = "",
    scenario_out: str | Path | None = None,
    customers_out: str | Path | None = None,
    split: str | Mapping[str, float] = "seed",
    historical_policy: Policy | str | Path | None = None,
    response: ResponseModel | str | Path | None = None,
) -> Calibration:
    """Fit purchase, dropout and spend models to a transaction log and build a scenario.

    Parameters
    ----------
    transactions
        A CSV log (one row per purchase) or a log from
        :func:`~retention_sim.calibration.transactions.read_transactions`.
    customer_col, date_col, amount_col
        Column names in the log.
    until
        Last date of the calibration period (inclusive); default: the last date in the log.
    time_unit
        ``"day"`` or ``"week"``: the unit the models are fitted in (the estimates of ``alpha``
        and ``beta`` are in it; the scenario is the same either way up to fitting precision).
    model
        ``"auto"`` keeps the purchase model with the higher log-likelihood; or force one.
    date_format
        A ``strptime`` format for unusual dates.
    duplicates
        ``"keep"`` or ``"drop"`` exact duplicate rows.
    name
        Scenario name (default: ``calibrated_<file stem>``).
    currency
        Currency label for the scenario's economics.
    scenario_out, customers_out
        If given, write the scenario YAML and the customers file there (atomically).
    split
        How the fitted dropout is shared among churn causes: ``"seed"`` (the seed study's
        shares), ``"lifestyle"`` (one acausal cause: nothing responds to contact) or
        ``{cause: share}``; see :mod:`retention_sim.calibration.historical`.
    historical_policy
        What the company sent while the log was written (default: nothing).
    response
        A fitted response (``calibrate-response``) to include in the scenario.

    Returns
    -------
    Calibration
        Fits, the selected model, the scenario, the customers table and notes.

    Raises
    ------
    InputError
        For a bad log, an ``until`` outside the data, or too little data to fit.
    """
    fitted_response, historical_policy, policy_source = _check_inputs(
        time_unit, model, split, response, historical_policy
    )
    log = (
        transactions
        if isinstance(transactions, TransactionLog)
        else read_transactions(
            transactions,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            until=until,
            date_format=date_format,
            duplicates=duplicates,
        )
    )
    notes = _log_notes(log)
    h, fits, selected, spend, customers = _fit_log(log, time_unit, model, notes)
    data = log_scenario_data(
        log,
        h,
        fits[selected],
        _MODEL_LABEL[selected],
        spend,
        time_unit,
        name,
        currency,
        spend_fit=fits["gamma_gamma"],
    )
    if fitted_response is not None:
        data["response"] = fitted_response.model_dump(mode="json")
    label = check_historical(historical_policy, data, policy_source)
    annual = float(data["churn"]["causes"][DROPOUT_CAUSE]["annual_probability"])
    history = _validate_history(customers, source="(calibration)")
    responsive = make_responsive(
        data,
        history,
        split=split,
        historical=historical_policy,
        historical_label=label,
        dropout_cause=DROPOUT_CAUSE,
    )
    notes += responsive["notes"]
    scenario = scenario_from_dict(data, source="(calibrated scenario)")
    if selected == "bgnbd":
        notes.append(_BGNBD_NOTE)
    notes.append(_money_note(scenario))
    cal = Calibration(
        log, time_unit, h, fits, selected, scenario, data, customers, notes, annual, responsive
    )
    if scenario_out is not None:
        cal.write_scenario(scenario_out)
    if customers_out is not None:
        cal.write_customers(customers_out)
    return cal
