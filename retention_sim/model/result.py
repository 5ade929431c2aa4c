"""The outcome of one run: daily series, a summary, the final customers and the transactions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..config.policy import RFM_SEGMENTS, Policy
from ..outputs import write_csv, write_json
from ..vocabulary import CAUSES, CHANNELS, STAGES
from .contacts.engine import ContactEngine
from .enrolment import enrolment_of
from .fatigue import total_fatigue
from .loyalty import programme_summary
from .rfm import rfm_scores, rfm_segments
from .service_desk import KINDS, ServiceDesk
from .world import World

__all__ = ["SimulationResult", "build_result"]

COST_COLUMNS = ("reward_cost", "contact_cost", "discount_cost", "staff_cost", "acquisition_cost")


class SimulationResult:
    """What a run produced.

    Attributes
    ----------
    daily
        One row per date: customers by stage, purchases, revenue, churn by cause, service waits,
        costs and profit.
    summary
        Headline metrics (``retention_rate``, ``churn_rate``, ``churn_by_cause``, ``revenue``,
        ``profit``, ``clv``, ...), JSON-ready.
    customers
        The final state of every customer who was ever in the base.
    transactions
        ``customer_id, date, amount``: every purchase in the horizon (the layout ``lifetimes`` and
        ``pymc-marketing`` read).
    extras
        Optional extra outputs: ``contribution`` (each row's discounted contribution, indexed
        by ``customer_id``), ``messages`` when recorded, ``observed_customer_id``.

    ``customers`` and ``transactions`` are kept as compact arrays and turned into frames the
    first time they are read: a study that only needs the summary and the daily series (every
    replication of an experiment) never pays for them.
    """

    def __init__(
        self,
        daily: pd.DataFrame,
        summary: dict[str, Any],
        customers: pd.DataFrame | Callable[[], pd.DataFrame],
        transactions: pd.DataFrame | Callable[[], pd.DataFrame],
        extras: dict[str, Any] | None = None,
    ) -> None:
        self.daily = daily
        self.summary = summary
        self._customers = customers
        self._transactions = transactions
        self.extras: dict[str, Any] = {} if extras is None else extras

    @property
    def customers(self) -> pd.DataFrame:
        """The final state of every customer who was ever in the base (built on first use)."""
        if not isinstance(self._customers, pd.DataFrame):
            self._customers = self._customers()
        return self._customers

    @property
    def transactions(self) -> pd.DataFrame:
        """Every purchase: ``customer_id, date, amount``, by date (built on first use)."""
        if not isinstance(self._transactions, pd.DataFrame):
            self._transactions = self._transactions()
        return self._transactions

    def write(self, out: str | Path, *, messages: bool = False) -> list[Path]:
        """Write ``summary.json``, ``daily.csv`` and ``transactions.csv`` under ``out``.

        Every file is written atomically. With ``messages=True`` and a recorded message log,
        ``messages.csv`` is written too.
        """
        out = Path(out)
        written = [
            write_json(out / "summary.json", self.summary),
            write_csv(out / "daily.csv", self.daily),
            write_csv(out / "transactions.csv", self.transactions, index=False),
        ]
        if messages and self.extras.get("messages") is not None:
            written.append(write_csv(out / "messages.csv", self.extras["messages"], index=False))
        return written


@dataclass(frozen=True)
class _CustomersFrame:
    """Builds the customers frame from compact columns (picklable, unlike a closure)."""

    start: pd.Timestamp
    columns: dict[str, np.ndarray]
    segment_names: tuple[str, ...]
    tier_names: tuple[str, ...]

    def __call__(self) -> pd.DataFrame:
        c = self.columns
        start = self.start

        def dates(days: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
            out = start + pd.to_timedelta(days.astype(np.int64), unit="D")
            if valid is not None:
                out = out.where(valid, pd.NaT)
            return np.asarray(out)

        seg = np.array(self.segment_names, dtype=object)
        tiers = np.array(self.tier_names, dtype=object)
        stage_names = np.array(STAGES, dtype=object)
        cause_names = np.array(CAUSES + ("",), dtype=object)
        churn_day = c["churn_day"]
        frame = pd.DataFrame(
            {
                "customer_id": c["customer_id"].astype(np.int64),
                "segment": seg[c["segment"]],
                "acquired_date": dates(c["acquired_day"]),
                "stage": stage_names[c["stage"]],
                "tier": tiers[c["tier"]],
                "purchases": c["purchases"],
                "spend_total": c["spend_total"],
                "last_purchase_date": dates(c["last_purchase_day"]),
                "churn_date": dates(np.maximum(churn_day, 0), churn_day >= 0),
                "churn_cause": cause_names[c["churn_cause"]],
                "times_won_back": c["times_won_back"],
                "satisfaction": c["satisfaction"],
                "points": c["points"],
                "preferred_channel": np.array(CHANNELS + ("",), dtype=object)[
                    c["preferred_channel"]
                ],
                "fatigue": c["fatigue"],
                "fatigue_tolerance": c["fatigue_tolerance"].astype(float),
            }
        )
        if "enrolled" in c:  # only when the scenario says who is a member of the programme
            frame["enrolled"] = c["enrolled"]
        return frame


@dataclass(frozen=True)
class _TransactionsFrame:
    """Builds the transactions frame from the run's event log arrays."""

    start: pd.Timestamp
    columns: dict[str, np.ndarray]

    def __call__(self) -> pd.DataFrame:
        tx = self.columns
        order = np.lexsort((tx["customer_id"], tx["day"]))  # by date, then customer
        tdays = tx["day"][order].astype(np.int64)
        return pd.DataFrame(
            {
                "customer_id": tx["customer_id"][order].astype(np.int64),
                "date": self.start + pd.to_timedelta(tdays, unit="D"),
                "amount": tx["amount"][order].astype(float),
            }
        )


def _service_daily(world: World) -> tuple[pd.DataFrame, dict[str, Any]]:
    a = world.service_log.arrays()
    h = world.horizon
    if a["day"].size == 0:
        zeros = np.zeros(h)
        frame = pd.DataFrame({"service_wait_hours_mean": zeros, "service_abandoned": zeros})
        return frame, {
            "requests": 0,
            "served": 0,
            "abandoned_share": 0.0,
            "mean_wait_hours": 0.0,
            "p90_wait_hours": 0.0,
            "by_kind": _by_kind(np.zeros(0, dtype=np.int64), np.zeros(0)),
        }
    day = a["day"].astype(np.int64)
    wait = a["wait_hours"].astype(float)
    served = a["served"].astype(bool)
    n = np.bincount(day, minlength=h)[:h]
    tot = np.bincount(day, weights=wait, minlength=h)[:h]
    ab = np.bincount(day, weights=~served, minlength=h)[:h]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, tot / np.maximum(n, 1), 0.0)
    frame = pd.DataFrame({"service_wait_hours_mean": mean, "service_abandoned": ab})
    stats = {
        "requests": int(day.size),
        "served": int(served.sum()),
        "abandoned_share": float((~served).mean()),
        "mean_wait_hours": float(wait.mean()),
        "p90_wait_hours": float(np.quantile(wait, 0.9)),
        "by_kind": _by_kind(a["kind"].astype(np.int64), wait),
    }
    return frame, stats


def _by_kind(kind: np.ndarray, wait: np.ndarray) -> dict[str, dict[str, float]]:
    """Requests and mean wait per kind of request (issue, inquiry, call, reply)."""
    out = {}
    for k, name in enumerate(KINDS):
        w = wait[kind == k]
        out[name] = {"requests": int(w.size), "mean_wait_hours": float(w.mean()) if w.size else 0.0}
    return out


def _daily_frame(world: World) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The daily series (every documented column, zeros included) and the service statistics."""
    log = world.log
    base_cols = (
        ["customers"]
        + [f"customers_{s}" for s in STAGES]
        + ["arrivals", "purchases", "revenue", "gross_margin"]
        + [f"churn_{c}" for c in CAUSES]
        + list(COST_COLUMNS)
    )
    for c in base_cols:
        log._col(c)  # make sure every documented column exists, even when all zero
    daily = log.frame(pd.Timestamp(world.scenario.calendar.start), order=base_cols)
    svc, svc_stats = _service_daily(world)
    daily["service_wait_hours_mean"] = svc["service_wait_hours_mean"].to_numpy()
    daily["service_abandoned"] = svc["service_abandoned"].to_numpy()
    daily["churned"] = daily[[f"churn_{c}" for c in CAUSES]].sum(axis=1)
    daily["profit"] = (
        daily["gross_margin"]
        + log.column("membership_fees")
        - daily[list(COST_COLUMNS)].sum(axis=1)
    )
    return daily, svc_stats


def _summary(
    world: World,
    daily: pd.DataFrame,
    service: dict[str, Any],
    policy: Policy | None,
) -> dict[str, Any]:
    """The headline metrics of a finished run (without the messages block)."""
    sc = world.scenario
    pop = world.pop
    log = world.log
    n0 = pop.n_initial
    ever = world.present | (pop.churn_day >= 0)
    n_ever = int(ever.sum())
    end = int(world.present.sum())
    acquired = int(log.total("arrivals"))
    churn_counts = {c: int(log.total(f"churn_{c}")) for c in CAUSES}
    churned = sum(churn_counts.values())
    costs = {c: log.total(c) for c in COST_COLUMNS}
    margin = log.total("gross_margin")
    profit = margin - sum(costs.values())
    stage_end = {s: int(daily[f"customers_{s}"].iloc[-1]) for s in STAGES}
    return {
        "scenario": sc.name,
        "scenario_hash": sc.content_hash(),
        "policy": policy.name if policy is not None else "no_contact",
        "seed": world.seed,
        "version": __version__,
        "start_date": sc.calendar.start.isoformat(),
        "days": world.horizon,
        "currency": sc.economics.currency,
        "customers_start": n0,
        "customers_end": end,
        "customers_acquired": acquired,
        "retention_rate": (end - acquired) / n0 if n0 else 0.0,
        "churn_rate": (n0 - end) / n0 if n0 else 0.0,
        "initial_base_retained": float(world.present[:n0].mean()) if n0 else 0.0,
        "churned": churned,
        "churn_by_cause": churn_counts,
        "churn_share_by_cause": {
            c: (k / churned if churned else 0.0) for c, k in churn_counts.items()
        },
        "purchases": int(log.total("purchases")),
        "revenue": log.total("revenue"),
        "gross_margin": margin,
        **costs,
        "profit": profit,
        "clv": float(pop.pv_contribution[ever].sum() / n_ever) if n_ever else 0.0,
        "customers_by_stage_start": dict(zip(STAGES, world.stage_counts_start, strict=True)),
        "customers_by_stage_end": stage_end,
        "stage_transitions": {
            STAGES[i]: {STAGES[j]: int(world.transitions[i, j]) for j in range(len(STAGES))}
            for i in range(len(STAGES))
        },
        "won_back": int(log.total("won_back")),
        "reactivated": int(log.total("reactivated")),
        "product_issues": int(log.total("product_issues")),
        "service": service,
        "tier_upgrades": int(log.total("tier_upgrades")),
        "tier_demotions": int(log.total("tier_demotions")),
        "rewards_redeemed": int(log.total("rewards_redeemed")),
        # enrolment, gifts, bonus points, perks: only those the scenario switches on
        **programme_summary(world),
        "satisfaction_mean_end": float(daily["satisfaction_mean"].iloc[-1]) if end else 0.0,
        "touches": _touches(log),
        # only when the scenario models visits (model/visits.py)
        **({"visits": int(log.total("visits"))} if log.has("visits") else {}),
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _touches(log: Any) -> dict[str, float]:
    """Marketing touches per purchase cycle (see ``purchases._close_purchase_cycles``).

    ``per_purchase_cycle``: mean touches delivered between two consecutive purchases in the
    run (cycles still open at the end are not counted); ``before_first_repeat``: the same for a
    new customer's first cycle, arrival to second purchase; ``per_purchase``: every message
    delivered over every purchase. 0 where there is nothing to average (its count is then 0).
    """
    cycles, first = log.total("purchase_cycles"), log.total("first_repeats")
    return {
        "per_purchase_cycle": _ratio(log.total("cycle_touches"), cycles),
        "purchase_cycles": int(cycles),
        "before_first_repeat": _ratio(log.total("first_repeat_touches"), first),
        "first_repeats": int(first),
        "per_purchase": _ratio(log.total("messages_delivered"), log.total("purchases")),
    }


def _customers(world: World) -> _CustomersFrame:
    """The final state of every customer who was ever in the base, as compact columns."""
    pop = world.pop
    rows = np.flatnonzero(world.present | (pop.churn_day >= 0))
    return _CustomersFrame(
        start=pd.Timestamp(world.scenario.calendar.start),
        columns={
            "customer_id": rows,
            "segment": pop.segment[rows],
            "acquired_day": pop.acquired_day[rows],
            "stage": pop.stage[rows],
            "tier": pop.tier[rows],
            "purchases": pop.n_purchases[rows],
            "spend_total": pop.spend_total[rows],
            "last_purchase_day": pop.last_purchase_day[rows],
            "churn_day": pop.churn_day[rows],
            "churn_cause": pop.churn_cause[rows],
            "times_won_back": pop.times_won_back[rows],
            "satisfaction": pop.satisfaction[rows],
            "points": pop.points[rows],
            "preferred_channel": pop.preferred_channel[rows],
            "fatigue": total_fatigue(pop, rows),
            "fatigue_tolerance": pop.fatigue_tolerance[rows],
            **({"enrolled": pop.enrolled[rows]} if enrolment_of(world.scenario) else {}),
        },
        segment_names=tuple(pop.segment_names),
        tier_names=tuple(pop.tier_names),
    )


#: The groups a study can break its differences down by, read on day 0 of the run.
GROUP_KINDS: tuple[str, ...] = ("segment", "start_stage", "rfm_segment", "tier", "consent_channel")


def record_start(world: World) -> None:
    """Keep who is in the base on day 0, with their stage and tier then (``pop.extra``)."""
    pop = world.pop
    rows = np.flatnonzero(world.present)
    pop.extra["start_rows"] = rows
    pop.extra["start_stage"] = pop.stage[rows].copy()
    pop.extra["start_tier"] = pop.tier[rows].copy()
    r, f, _m, _shares = rfm_scores(
        -pop.last_purchase_day[rows], pop.n_purchases[rows], pop.spend_total[rows]
    )  # day 0: recency is the days since the last purchase
    pop.extra["start_rfm"] = rfm_segments(r, f)


def group_outcomes(world: World) -> dict[str, dict[str, list[float]]]:
    """Per group of the starting base: ``[customers, contribution, retained, churned]``.

    ``contribution`` is the group's discounted margin less the contact, discount and gift costs
    booked to its customers; ``retained`` counts those not churned at the end, ``churned``
    those who are. Groups are read on day 0: ``segment``, ``start_stage``, ``rfm_segment``
    (scored among the starting base as the engine scores audiences), ``tier`` and
    ``consent_channel`` (the preferred channel). Empty without :func:`record_start`.
    """
    pop = world.pop
    if "start_rows" not in pop.extra:
        return {}
    rows = pop.extra["start_rows"]
    churned = pop.stage[rows] == STAGES.index("churned")
    contrib = pop.pv_contribution[rows]
    labels = {
        "segment": np.array(pop.segment_names, dtype=object)[pop.segment[rows]],
        "start_stage": np.array(STAGES, dtype=object)[pop.extra["start_stage"]],
        "rfm_segment": np.array(RFM_SEGMENTS, dtype=object)[pop.extra["start_rfm"]],
        "tier": np.array(pop.tier_names, dtype=object)[pop.extra["start_tier"]],
        "consent_channel": np.array(CHANNELS + ("none",), dtype=object)[
            pop.preferred_channel[rows]
        ],
    }
    out: dict[str, dict[str, list[float]]] = {}
    for kind, lab in labels.items():
        out[kind] = {
            str(g): [
                float(m.sum()),
                float(contrib[m].sum()),
                float((~churned[m]).sum()),
                float(churned[m].sum()),
            ]
            for g in sorted(set(lab))
            for m in [lab == g]
        }
    return out


def build_result(
    world: World, *, desk: ServiceDesk, contacts: ContactEngine | None = None
) -> SimulationResult:
    """Turn a finished world into a :class:`SimulationResult`.

    Parameters
    ----------
    world
        The finished run.
    desk
        Its service desk (for the staff counts).
    contacts
        Its contact engine, if it ran under a policy (for the messages block and the log).
    """
    daily, svc_stats = _daily_frame(world)
    service = {
        **svc_stats,
        "agents": desk.n_agents,
        "account_managers": desk.n_managers,
        "extra_agent_days": desk.extra_agent_days,
    }
    summary = _summary(world, daily, service, contacts.policy if contacts is not None else None)
    log = world.log
    if contacts is not None:
        n_ever = int((world.present | (world.pop.churn_day >= 0)).sum())
        summary["messages"] = contacts.summary()
        summary["contact_cost_per_customer"] = summary["contact_cost"] / n_ever if n_ever else 0.0
        summary["unsubscribe_rate"] = summary["messages"]["unsubscribe_rate"]
        summary["complaint_rate"] = summary["messages"]["complaint_rate"]
        summary["over_fatigue_share"] = summary["messages"]["fatigue"]["over_tolerance_share"]
    summary["membership_fees"] = log.total("membership_fees")
    summary["profit"] = summary["profit"] + summary["membership_fees"]
    start = pd.Timestamp(world.scenario.calendar.start)
    transactions = _TransactionsFrame(start=start, columns=world.transactions.arrays())
    result = SimulationResult(
        daily=daily, summary=summary, customers=_customers(world), transactions=transactions
    )
    if contacts is not None and contacts.msg_log is not None:
        result.extras["messages"] = contacts.messages_frame()
    # each row's discounted contribution: margin on purchases less contact, discount and gift
    # costs booked to it (the per-customer profit a pilot measures; §10)
    result.extras["contribution"] = world.pop.pv_contribution.copy()
    result.extras["groups"] = group_outcomes(world)
    if "survey_unhappy" in world.pop.extra:  # rows that ever answered a survey unhappy
        result.extras["survey_unhappy"] = np.flatnonzero(world.pop.extra["survey_unhappy"])
    return result
