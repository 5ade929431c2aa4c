"""The observed customer base as the simulation's starting population.

A *customers file* (written by ``retention-sim calibrate --customers-out``) lists the real
customers with their history up to an ``as_of`` date and, for each, the posterior of their
unobserved state under the fitted model. :func:`build_observed_population` turns it into the
population arrays: every customer is first drawn alive or not (``P(alive | history)``); those
drawn dead are left out (their row numbers are kept in ``pop.extra``); the others get a purchase
rate, a spend scale and a dropout hazard drawn from their posterior, and their real first
purchase, last purchase, purchase count and spend. Everything the file does not describe
(consent, channel preference, birthday, fatigue tolerance, sensitivities, satisfaction, the
churn clocks of the other causes, social ties, arrivals) is drawn from the scenario as usual.

All draws specific to the observed customers come from the ``observed`` stream, once, at build
time, one draw per customer in file order, so that every policy run with the same seed sees
the same customers in the same state (common random numbers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.scenario import Scenario
from ..errors import InputError
from ..vocabulary import CAUSES
from .population import Population, build_population
from .random_streams import Streams
from .traits import TRAIT_NAMES, draw_traits

__all__ = [
    "DROPOUT_CAUSE",
    "HISTORY_COLUMNS",
    "load_history",
    "validate_history",
    "history_as_of",
    "as_history",
    "build_observed_population",
    "FROM_HISTORY",
]

DROPOUT_CAUSE = "lifestyle"
"""The churn cause that carries the fitted dropout hazard (acausal: nothing modifies it)."""

HISTORY_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "as_of",
    "first_purchase",
    "last_purchase",
    "n_purchases",
    "spend_total",
    "model",
    "p_alive",
    "rate_shape",
    "rate_rate_days",
    "nu_shape",
    "nu_rate",
)
"""Columns every customers file must have (more are needed by each model, see below)."""

#: Traits an observed customer takes from the customers file (or its posterior); every other
#: trait of :data:`~retention_sim.model.traits.TRAIT_NAMES` is drawn from the customer's segment.
FROM_HISTORY: tuple[str, ...] = ("segment", "purchase_rate", "spend_nu")

_MAX_DAILY_PROBABILITY = 0.95  # cap on a customer's daily purchase probability

_MODEL_COLUMNS = {
    "pareto_nbd": ("hazard_shape", "hazard_rate_days"),
    "bgnbd": ("dropout_a", "dropout_b"),
}


def load_history(path: str | Path) -> pd.DataFrame:
    """Read and validate a customers file (see :func:`validate_history`)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", source=p)
    try:
        frame = pd.read_csv(p, dtype={"customer_id": str, "model": str, "segment": str})
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", source=p) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(
            f"not a readable CSV file: {' '.join(str(exc).split())}", source=p
        ) from None
    return validate_history(frame, source=str(p))


def validate_history(frame: pd.DataFrame, *, source: str = "(customers)") -> pd.DataFrame:
    """Check a customers table and return a clean copy (dates parsed, numbers as floats).

    Parameters
    ----------
    frame
        One row per customer with at least :data:`HISTORY_COLUMNS` and the columns of its model
        (``hazard_shape, hazard_rate_days`` for ``pareto_nbd``; ``dropout_a, dropout_b`` for
        ``bgnbd``).
    source
        Name used in error messages.

    Raises
    ------
    InputError
        Missing columns, several ``as_of`` dates or models, unparseable dates, or values out of
        range, naming the column and the first offending rows.
    """
    if frame.empty:
        raise InputError("no customers in the file", source=source)
    missing = [c for c in HISTORY_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; write the file with "
            "`retention-sim calibrate --customers-out`",
            source=source,
        )
    h = frame.copy()
    h["customer_id"] = h["customer_id"].astype(str)
    models = h["model"].astype(str).unique()
    if len(models) != 1 or models[0] not in _MODEL_COLUMNS:
        raise InputError(
            f"column 'model' must hold one of {', '.join(_MODEL_COLUMNS)} for every row, "
            f"found {', '.join(map(str, models))}",
            source=source,
        )
    need = _MODEL_COLUMNS[models[0]]
    missing = [c for c in need if c not in h.columns]
    if missing:
        raise InputError(f"model {models[0]} needs column(s) {', '.join(missing)}", source=source)
    for col in ("as_of", "first_purchase", "last_purchase"):
        parsed = pd.to_datetime(h[col], format="%Y-%m-%d", errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():
            raise InputError(
                f"column {col!r}: not a YYYY-MM-DD date on row(s) {_rows(bad)}", source=source
            )
        h[col] = parsed
    if h["as_of"].nunique() != 1:
        raise InputError("column 'as_of' must hold the same date on every row", source=source)
    checks = {
        "n_purchases": lambda v: v >= 1,
        "spend_total": lambda v: v >= 0,
        "p_alive": lambda v: (v >= 0) & (v <= 1),
        "rate_shape": lambda v: v > 0,
        "rate_rate_days": lambda v: v > 0,
        "nu_shape": lambda v: v > 0,
        "nu_rate": lambda v: v > 0,
        **{c: (lambda v: v > 0) for c in need},
    }
    for col, ok in checks.items():
        v = pd.to_numeric(h[col], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(v) & ok(v))
        if bad.any():
            raise InputError(
                f"column {col!r}: missing or out-of-range value on row(s) {_rows(bad)}",
                source=source,
            )
        h[col] = v
    bad = (h["last_purchase"] < h["first_purchase"]) | (h["last_purchase"] > h["as_of"])
    if bad.any():
        raise InputError(
            "last_purchase must lie between first_purchase and as_of; row(s) "
            f"{_rows(bad.to_numpy())}",
            source=source,
        )
    if h["customer_id"].duplicated().any():
        raise InputError(
            f"duplicate customer_id on row(s) {_rows(h['customer_id'].duplicated().to_numpy())}",
            source=source,
        )
    return h.reset_index(drop=True)


def _rows(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)[:5] + 1
    more = f" and {int(mask.sum()) - 5} more" if mask.sum() > 5 else ""
    return ", ".join(str(int(i)) for i in idx) + more


def history_as_of(history: pd.DataFrame) -> pd.Timestamp:
    """The date the history runs to (the same on every row)."""
    return pd.Timestamp(history["as_of"].iloc[0])


def as_history(history: Any) -> pd.DataFrame:
    """A validated customers table from a customers file path or a table."""
    if isinstance(history, (str, Path)):
        return load_history(history)
    if isinstance(history, pd.DataFrame):
        as_of = history.get("as_of")
        if as_of is not None and pd.api.types.is_datetime64_any_dtype(as_of):
            return history  # already validated (dates parsed)
        return validate_history(history)
    raise TypeError("history must be a customers file path or a DataFrame")


def _segment_traits(
    scenario: Scenario, name: str, rng: np.random.Generator, n: int
) -> dict[str, np.ndarray]:
    """Traits of ``n`` customers all drawn from segment ``name``."""
    seg = scenario.population.segments[name].model_copy(update={"share": 1.0})
    pop_cfg = scenario.population.model_copy(update={"segments": {name: seg}})
    return draw_traits(scenario.model_copy(update={"population": pop_cfg}), rng, n)


def _segment_labels(h: pd.DataFrame, seg_names: list[str]) -> np.ndarray:
    """Each customer's segment: the file's ``segment`` column, or the scenario's only one."""
    n = len(h)
    if "segment" in h.columns:
        labels: np.ndarray = h["segment"].astype(str).to_numpy()
        unknown = sorted(set(labels) - set(seg_names))
        if unknown:
            raise InputError(
                f"column 'segment' names unknown segment(s) {unknown}; the scenario has "
                f"{seg_names}",
                field="segment",
            )
    elif len(seg_names) > 1:
        raise InputError(
            "the scenario has several segments; the customers file needs a 'segment' column",
            field="segment",
        )
    else:
        labels = np.full(n, seg_names[0], dtype=object)

    return labels


def _starting_tiers(scenario: Scenario, spend: np.ndarray, tenure: np.ndarray) -> np.ndarray:
    """Loyalty tier from the spend in the last qualification window, pro rata of tenure (the
    file has no dates)."""
    loyalty = scenario.loyalty
    k = spend.size
    if loyalty.enabled:
        window = loyalty.qualification_window_days
        share = np.minimum(window, tenure + 1.0) / (tenure + 1.0)
        thresholds = np.array([t.threshold_points for t in loyalty.tiers])
        points = spend * share * loyalty.points_per_currency
        tier = (np.searchsorted(thresholds, points, side="right") - 1).astype(np.int8)
    else:
        tier = np.zeros(k, dtype=np.int8)
    return tier


def build_observed_population(
    scenario: Scenario,
    streams: Streams,
    history: Any,
    *,
    arrivals_per_day: float,
    horizon_days: int,
    n_reserve: int = 0,
) -> Population:
    """The population whose starting base is the observed customers.

    Parameters
    ----------
    scenario
        The scenario; its ``calendar.start`` must be the day after the history's ``as_of``.
    streams
        The replication's random streams.
    history
        A customers file (path) or a table from :func:`load_history`.
    arrivals_per_day
        Mean arrivals per day during the horizon (as in :func:`build_population`).
    horizon_days
        Length of the simulation in days.
    n_reserve
        Rows reserved for referral arrivals (as in :func:`build_population`).

    Returns
    -------
    Population
        Rows ``0 … n_initial−1`` are the customers drawn alive, in file order;
        ``pop.extra["observed_rows"]`` holds their row numbers in the file and
        ``pop.extra["observed_customer_id"]`` their ids.
    """
    h = as_history(history)
    start = pd.Timestamp(scenario.calendar.start)
    as_of = history_as_of(h)
    if start != as_of + pd.Timedelta(days=1):
        raise InputError(
            f"the customers' history runs to {as_of.date().isoformat()}, so the scenario's "
            f"calendar.start must be {(as_of + pd.Timedelta(days=1)).date().isoformat()}, "
            f"not {start.date().isoformat()} (use `retention-sim forecast --from` for a later "
            "window)",
            field="calendar.start",
        )
    n = len(h)
    model = str(h["model"].iloc[0])
    rng = streams["observed"]
    # one draw of each kind per customer, in file order, whatever the outcome
    alive = rng.random(n) < h["p_alive"].to_numpy()
    lam = rng.gamma(h["rate_shape"].to_numpy(), 1.0 / h["rate_rate_days"].to_numpy())
    nu = rng.gamma(h["nu_shape"].to_numpy(), 1.0 / h["nu_rate"].to_numpy())
    if model == "pareto_nbd":
        mu = rng.gamma(h["hazard_shape"].to_numpy(), 1.0 / h["hazard_rate_days"].to_numpy())
    else:  # BG/NBD: dropout with probability p after each purchase → hazard λ p (see docs)
        mu = lam * rng.beta(h["dropout_a"].to_numpy(), h["dropout_b"].to_numpy())
    u_touch = rng.random(n)
    rows = np.flatnonzero(alive)
    k = rows.size

    seg_names = list(scenario.population.segments)
    labels = _segment_labels(h, seg_names)

    pop = build_population(
        scenario,
        streams,
        n_initial=k,
        arrivals_per_day=arrivals_per_day,
        horizon_days=horizon_days,
        n_reserve=n_reserve,
    )
    base = np.arange(k)
    # segment-specific traits for the observed rows (single segment: already right)
    if len(seg_names) > 1:
        lab = labels[rows]
        for s_idx, name in enumerate(seg_names):
            m = np.flatnonzero(lab == name)
            if m.size == 0:
                continue
            tr = _segment_traits(scenario, name, streams["observed"], m.size)
            pop.segment[m] = s_idx
            for key in TRAIT_NAMES:
                if key not in FROM_HISTORY:
                    getattr(pop, key)[m] = tr[key]

    first = ((h["first_purchase"] - start).dt.days.to_numpy())[rows]
    last = ((h["last_purchase"] - start).dt.days.to_numpy())[rows]
    spend = h["spend_total"].to_numpy()[rows]
    # the models count purchase *days* at rate λ; the engine buys with probability
    # 1 − exp(−rate) a day, so rate = −ln(1 − λ) makes a day's purchase probability λ
    factor = scenario.population.purchase_rate_factor
    lam_rows = lam[rows] if factor is None else lam[rows] * factor
    pop.purchase_rate[base] = -np.log1p(-np.minimum(lam_rows, _MAX_DAILY_PROBABILITY))
    pop.spend_nu[base] = nu[rows]
    split = scenario.churn.dropout_split
    mu = mu * scenario.churn.hazard_scale  # exact when 1
    if split is None:  # all of the fitted dropout in one acausal cause
        pop.base_hazard[base, CAUSES.index(DROPOUT_CAUSE)] = mu[rows]
    else:  # shared among the causes (each share already divided by its historical modifier)
        for cause, share in split.items():
            pop.base_hazard[base, CAUSES.index(cause)] = mu[rows] * share
    pop.acquired_day[base] = first
    pop.first_purchase_day[base] = first
    pop.last_purchase_day[base] = last
    pop.n_purchases[base] = h["n_purchases"].to_numpy()[rows].astype(np.int32)
    pop.spend_total[base] = spend
    tenure = (-first).astype(float)
    if scenario.population.last_valued_touch == "first_purchase":
        pop.last_valued_touch_day[base] = first  # no contact since they arrived
    else:
        pop.last_valued_touch_day[base] = -np.floor(u_touch[rows] * np.minimum(tenure, 90.0))
    tier = _starting_tiers(scenario, spend, tenure)
    pop.tier[base] = tier
    amc = scenario.service.account_managers
    pop.has_account_manager[base] = False
    if amc.count > 0 and k > 0 and amc.top_share > 0:
        top = np.argsort(-spend, kind="stable")[: max(1, int(round(amc.top_share * k)))]
        pop.has_account_manager[top] = True
    pop.extra["observed_rows"] = rows
    pop.extra["observed_customer_id"] = h["customer_id"].to_numpy()[rows]
    return pop
