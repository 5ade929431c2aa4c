"""Forecasts of the observed customers: simulated forward (under no marketing contact, or under a
contact policy), beside the closed-form expectation of the fitted purchase model, and checked
against a holdout period.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.policy import Policy
from ..config.scenario import Scenario, load_scenario
from ..errors import InputError
from ..model.observed import DROPOUT_CAUSE, as_history, history_as_of, load_history
from ..model.observed import validate_history as _validate_history
from ..outputs import CSV_FLOAT_FORMAT, atomic_write_text, write_json
from ..vocabulary import CAUSES
from .purchase_models import bgnbd_expected_alive, pareto_nbd_expected_alive
from .transactions import TransactionLog, holdout_counts, parse_date

__all__ = ["Forecast", "forecast", "forecast_notes", "holdout_comparison", "expected_purchases"]


def expected_purchases(history: pd.DataFrame, t1_days: Any, t2_days: Any) -> np.ndarray:
    """Closed-form expected purchases of each customer between ``as_of + t1`` and ``as_of + t2``.

    Uses the posterior in the file: ``P(alive) · (E[X(t2) | alive] − E[X(t1) | alive])`` with
    the Pareto/NBD or BG/NBD conditional expectation (see ``docs/model.md``). Purchases are the
    model's Poisson events; the simulator counts purchase days, which differs only when a
    customer's daily rate is not small.
    """
    h = as_history(history)
    model = str(h["model"].iloc[0])
    R = h["rate_shape"].to_numpy()
    A = h["rate_rate_days"].to_numpy()

    def alive_mean(t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if model == "pareto_nbd":
            return pareto_nbd_expected_alive(
                R, A, h["hazard_shape"].to_numpy(), h["hazard_rate_days"].to_numpy(), t
            )
        return bgnbd_expected_alive(R, A, h["dropout_a"].to_numpy(), h["dropout_b"].to_numpy(), t)

    return h["p_alive"].to_numpy() * (alive_mean(t2_days) - alive_mean(t1_days))


def forecast_notes(scenario: Scenario) -> list[str]:
    """Mechanisms of ``scenario`` that move a no-marketing forecast beyond the fitted model.

    Arrivals are always off in :func:`forecast` and not listed. An empty list means the
    forecast is the fitted model alone.
    """
    notes: list[str] = []
    c = scenario.churn.causes
    split = scenario.churn.dropout_split
    if split is not None:
        notes.append(
            "the fitted dropout is shared among causes ("
            + ", ".join(f"{k} {v:.3g}" for k, v in split.items())
            + "): contacts, satisfaction and the indifference clock move it"
        )
    for name in CAUSES:
        if name in (DROPOUT_CAUSE, "annoyance") or (split is not None and name in split):
            continue
        cause = getattr(c, name)
        if cause.annual_probability > 0 or cause.yearly_probability_beta is not None:
            notes.append(f"churn cause {name} adds hazard on top of the fitted dropout")
    stage_mult = {k: v for k, v in scenario.stages.purchase_multiplier.items() if v != 1.0}
    if stage_mult:
        notes.append(f"stage purchase multipliers {stage_mult}")
    cal = scenario.calendar
    if any(m != 1.0 for m in cal.weekday_purchase_multiplier) or any(
        e.purchase_multiplier != 1.0 for e in cal.events
    ):
        notes.append("calendar: weekday pattern or events change purchase rates")
    lo = scenario.loyalty
    if lo.enabled and (lo.goal_gradient > 0 or lo.post_reward_dip > 0):
        notes.append("loyalty: goal gradient / post-reward dip change purchase rates")
    sat = scenario.satisfaction
    sv = scenario.service
    if sat.purchase_sensitivity > 0 and (sat.spread > 0 or sv.product_issue_rate_per_year > 0):
        notes.append("satisfaction (spread, product issues) changes purchase rates")
    return notes


@dataclass
class Forecast:
    """What :func:`forecast` produced.

    Attributes
    ----------
    customers
        One row per customer of the file: ``customer_id``, ``p_alive``, ``expected_purchases``
        (mean over replications of the simulated purchase days in the window),
        ``expected_purchases_model`` (closed form of the fitted model), ``expected_spend``
        (simulated) and ``prob_any_purchase`` (share of replications with a purchase).
    weekly
        One row per week of the window (the last may be shorter): simulated purchases (mean and
        interval over replications), the model's expectation, and the same cumulated.
    summary
        Totals, interval, settings and which mechanisms besides the fitted model are on.
    """

    customers: pd.DataFrame
    weekly: pd.DataFrame
    summary: dict[str, Any]

    def write(self, path: str | Path) -> list[Path]:
        """Write ``path`` (per customer), ``<stem>_weekly.csv`` and ``<stem>_summary.json``."""
        p = Path(path)
        weekly = self.weekly.copy()
        weekly["week_start"] = pd.to_datetime(weekly["week_start"]).dt.strftime("%Y-%m-%d")
        return [
            atomic_write_text(p, self.customers.to_csv(index=False, float_format=CSV_FLOAT_FORMAT)),
            atomic_write_text(
                p.with_name(f"{p.stem}_weekly.csv"),
                weekly.to_csv(index=False, float_format=CSV_FLOAT_FORMAT),
            ),
            write_json(p.with_name(f"{p.stem}_summary.json"), self.summary),
        ]

    def describe(self) -> str:
        """A readable summary (for the command line)."""
        s = self.summary
        lines = [
            f"forecast {s['from']} to {s['to']} for {s['customers']:,} customers "
            f"(history to {s['as_of']}; expected alive {s['expected_alive']:,.0f}); "
            f"{s['replications']} replications from seed {s['seed']}; contact: "
            f"{'none' if s.get('policy') is None else 'policy ' + repr(s['policy'])}",
            f"purchases: simulated {s['purchases_mean']:,.1f} "
            f"({s['interval']:.0%} interval {s['purchases_lower']:,.0f} to "
            f"{s['purchases_upper']:,.0f}); model {s['purchases_model']:,.1f}",
            f"spend: simulated {s['spend_mean']:,.2f}",
        ]
        on = s["mechanisms_on"]
        lines.append(
            "besides the fitted model: " + ("; ".join(on) if on else "nothing (all neutral)")
        )
        return "\n".join(lines)


def _simulate_window(
    sim_sc: Scenario,
    h: pd.DataFrame,
    *,
    replications: int,
    seed: int,
    day_from: int,
    n_weeks: int,
    policy: Policy | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the replications; per customer: purchases, runs with any, spend; per run and week:
    purchases and spend (only the window's days, only the observed customers)."""
    from ..model.simulation import assemble, build_world, run_world

    n = len(h)
    counts = np.zeros(n)
    any_buy = np.zeros(n)
    spend = np.zeros(n)
    weekly = np.zeros((replications, n_weeks))
    weekly_spend = np.zeros((replications, n_weeks))
    for k in range(replications):
        world = build_world(sim_sc, seed=seed + k, history=h)
        run_world(world, assemble(world, policy))
        tx = world.transactions.arrays()
        rows = tx["customer_id"].astype(np.int64)
        days = tx["day"].astype(np.int64)
        amount = tx["amount"].astype(float)
        keep = (days >= day_from) & (rows < world.pop.n_initial)
        who = world.pop.extra["observed_rows"][rows[keep]]
        c_k = np.bincount(who, minlength=n)
        counts += c_k
        any_buy += c_k > 0
        spend += np.bincount(who, weights=amount[keep], minlength=n)
        wk = (days[keep] - day_from) // 7
        weekly[k] = np.bincount(wk, minlength=n_weeks)
        weekly_spend[k] = np.bincount(wk, weights=amount[keep], minlength=n_weeks)
    return counts, any_buy, spend, weekly, weekly_spend


def _weekly_frame(
    h: pd.DataFrame,
    weekly: np.ndarray,
    weekly_spend: np.ndarray,
    *,
    as_of: pd.Timestamp,
    day_from: int,
    horizon: int,
    q: tuple[float, float],
) -> tuple[pd.DataFrame, np.ndarray]:
    """The weekly aggregate (simulated with its interval, and the model's), and the simulated
    cumulative purchases per run and week."""
    q_lo, q_hi = q
    n_weeks = weekly.shape[1]
    t_lo = np.arange(n_weeks) * 7 + day_from
    t_hi = np.minimum(t_lo + 7, horizon)
    model_week = np.array(
        [float(expected_purchases(h, a, b).sum()) for a, b in zip(t_lo, t_hi, strict=True)]
    )
    cum = np.cumsum(weekly, axis=1)
    week_start = as_of + pd.to_timedelta(t_lo + 1, unit="D")
    weekly_frame = pd.DataFrame(
        {
            "week_start": week_start,
            "days": (t_hi - t_lo).astype(np.int64),
            "purchases_mean": weekly.mean(axis=0),
            "purchases_lower": np.quantile(weekly, q_lo, axis=0),
            "purchases_upper": np.quantile(weekly, q_hi, axis=0),
            "purchases_model": model_week,
            "cumulative_mean": cum.mean(axis=0),
            "cumulative_lower": np.quantile(cum, q_lo, axis=0),
            "cumulative_upper": np.quantile(cum, q_hi, axis=0),
            "cumulative_model": np.cumsum(model_week),
            "spend_mean": weekly_spend.mean(axis=0),
        }
    )
    return weekly_frame, cum


def _window(h: pd.DataFrame, start: Any, end: Any) -> tuple[pd.Timestamp, ...]:
    """The history's ``as_of`` and the window's first and last days (checked)."""
    as_of = history_as_of(h)
    t_from = parse_date(start, what="--from")
    t_to = parse_date(end, what="--to")
    if t_from <= as_of:
        raise InputError(
            f"--from {t_from.date().isoformat()} must be after the customers' history, which "
            f"runs to {as_of.date().isoformat()}"
        )
    if t_to < t_from:
        raise InputError(
            f"--to {t_to.date().isoformat()} is before --from {t_from.date().isoformat()}"
        )
    return as_of, t_from, t_to


def forecast(
    scenario: Scenario | str | Path,
    customers: pd.DataFrame | str | Path,
    *,
    start: Any,
    end: Any,
    replications: int = 20,
    seed: int = 0,
    interval: float = 0.9,
    policy: Policy | str | Path | None = None,
) -> Forecast:
    """Simulate the observed customers forward under no marketing contact (or ``policy``).

    Parameters
    ----------
    scenario
        The scenario (usually written by :func:`calibrate`). Its calendar start and horizon are
        replaced (the run starts the day after the history's ``as_of`` and ends on ``end``) and
        arrivals are switched off; everything else is used as it is (see
        :func:`forecast_notes`).
    customers
        The customers file (or its table) written by :func:`calibrate`.
    start, end
        First and last day of the forecast window (inclusive); ``start`` must be after the
        history's ``as_of``. Days between ``as_of`` and ``start`` are simulated but not counted.
    replications
        Number of replications; replication ``k`` uses seed ``seed + k``.
    seed
        Seed of the first replication.
    interval
        Central probability of the reported intervals (over replications).
    policy
        A contact policy (or its YAML) to run instead of no contact. The closed-form model
        column stays the fitted model (what the log's own history predicts).

    Returns
    -------
    Forecast
        Per-customer expectations, the weekly aggregate and a summary.
    """
    if replications < 1:
        raise InputError("replications must be at least 1")
    if not 0.0 < interval < 1.0:
        raise InputError("interval must be between 0 and 1")
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if policy is not None and not isinstance(policy, Policy):
        from ..config.policy import load_policy

        policy = load_policy(policy, scenario=sc)
    h = (
        load_history(customers)
        if isinstance(customers, (str, Path))
        else _validate_history(customers)
    )
    as_of, t_from, t_to = _window(h, start, end)
    horizon = int((t_to - as_of).days)
    day_from = int((t_from - as_of).days) - 1  # simulation day of t_from (day 0 = as_of + 1)
    sim_sc = sc.with_overrides(
        {
            "calendar.start": (as_of + pd.Timedelta(days=1)).date().isoformat(),
            "calendar.horizon_days": horizon,
            "population.arrivals_per_day": 0.0,
        }
    )
    n = len(h)
    n_weeks = -(-(horizon - day_from) // 7)
    counts, any_buy, spend, weekly, weekly_spend = _simulate_window(
        sim_sc,
        h,
        replications=replications,
        seed=seed,
        day_from=day_from,
        n_weeks=n_weeks,
        policy=policy,
    )
    q_lo, q_hi = (1.0 - interval) / 2.0, 1.0 - (1.0 - interval) / 2.0
    weekly_frame, cum = _weekly_frame(
        h, weekly, weekly_spend, as_of=as_of, day_from=day_from, horizon=horizon, q=(q_lo, q_hi)
    )
    per_customer_model = expected_purchases(h, float(day_from), float(horizon))
    per_customer = pd.DataFrame(
        {
            "customer_id": h["customer_id"].to_numpy(),
            "p_alive": h["p_alive"].to_numpy(),
            "expected_purchases": counts / replications,
            "expected_purchases_model": per_customer_model,
            "prob_any_purchase": any_buy / replications,
            "expected_spend": spend / replications,
        }
    )
    totals = cum[:, -1] if n_weeks else np.zeros(replications)
    summary = {
        "scenario": sc.name,
        "policy": None if policy is None else policy.name,
        "as_of": as_of.date().isoformat(),
        "from": t_from.date().isoformat(),
        "to": t_to.date().isoformat(),
        "customers": int(n),
        "expected_alive": float(h["p_alive"].sum()),
        "replications": int(replications),
        "seed": int(seed),
        "interval": float(interval),
        "purchases_mean": float(totals.mean()),
        "purchases_lower": float(np.quantile(totals, q_lo)),
        "purchases_upper": float(np.quantile(totals, q_hi)),
        "purchases_sd": float(totals.std(ddof=1)) if replications > 1 else None,  # JSON null
        "purchases_model": float(per_customer_model.sum()),
        "spend_mean": float(spend.sum() / replications),
        "mechanisms_on": forecast_notes(sim_sc),
        "interval_covers": "simulation and posterior draws at the fitted parameters; "
        "parameter uncertainty is not included",
    }
    return Forecast(customers=per_customer, weekly=weekly_frame, summary=summary)


def holdout_comparison(fc: Forecast, log: TransactionLog) -> tuple[dict[str, Any], pd.DataFrame]:
    """Compare a forecast with what the customers actually did (a split log).

    Parameters
    ----------
    fc
        A forecast of the customers calibrated on ``log`` (up to ``log.until``).
    log
        The whole log, read with the same ``until``: its ``holdout`` holds what happened.

    Returns
    -------
    tuple
        A JSON-ready dict (totals, relative errors of the model and of the simulator, the same
        for the cumulative repeat purchases since each customer's first purchase, per-customer
        correlations, whether the actual total is inside the simulated interval) and the weekly
        frame of the forecast with ``actual`` and ``cumulative_actual`` columns.
    """
    s = fc.summary
    ids = pd.Index(fc.customers["customer_id"].astype(str))
    actual = holdout_counts(log, ids, start=s["from"], end=s["to"]).to_numpy()
    model = fc.customers["expected_purchases_model"].to_numpy()
    sim = fc.customers["expected_purchases"].to_numpy()
    calib = (log.transactions.groupby("customer_id").size() - 1).reindex(ids, fill_value=0)
    before = float(calib.sum())
    tot = float(actual.sum())

    def rel(x: float, y: float) -> float:
        return x / y - 1.0 if y else float("nan")

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")

    out = {
        "from": s["from"],
        "to": s["to"],
        "customers": int(ids.size),
        "actual": tot,
        "model": float(model.sum()),
        "simulated": float(sim.sum()),
        "simulated_interval": [s["purchases_lower"], s["purchases_upper"]],
        "actual_inside_interval": bool(s["purchases_lower"] <= tot <= s["purchases_upper"]),
        "error_model": rel(float(model.sum()), tot),
        "error_simulated": rel(float(sim.sum()), tot),
        "repeat_purchases_before": before,
        "cumulative_error_model": rel(before + float(model.sum()), before + tot),
        "cumulative_error_simulated": rel(before + float(sim.sum()), before + tot),
        "correlation_model": corr(model, actual),
        "correlation_simulated": corr(sim, actual),
    }
    weekly = fc.weekly.copy()
    h = log.holdout
    h = h.loc[(h["date"] >= pd.Timestamp(s["from"])) & (h["date"] <= pd.Timestamp(s["to"]))]
    h = h.loc[h["customer_id"].isin(ids)]
    week = ((h["date"] - pd.Timestamp(s["from"])).dt.days // 7).to_numpy()
    weekly["actual"] = np.bincount(week, minlength=len(weekly))[: len(weekly)]
    weekly["cumulative_actual"] = weekly["actual"].cumsum()
    return out, weekly
