"""Replaying a randomised campaign in the simulator (``retention-sim replay``).

One agent per customer of the experiment file. Its purchase rate is set so that, without a
message, it buys in the window with the probability the fitted baseline gives its pre-period
features, ``p0_i = 1 − exp(−W·λ_i)``; its basket is gamma with the fitted shape and the baseline
mean for its features. On day 0 every treatment arm's customers get their arm's message on the
simulator's own channel mechanics (a campaign with ``response: ARM``, see
:mod:`retention_sim.model.contacts.fitted_effects`); days ``1 … W`` are the window. Nothing
else moves: no churn, arrivals, loyalty, satisfaction or service effects. With a visit model,
each agent's visit hazard is set the same way from the fitted baseline visit probability, and
the message moves it by the fitted visit effect (:mod:`retention_sim.model.visits`).

Two kinds of run:

- **counterfactual**, one per arm, every customer given that arm: each customer's probability
  of converting in the window and expected spend, read from the simulator's own daily
  purchase probabilities (:class:`~retention_sim.model.purchases.PurchaseTracker`), so without
  draw noise (``customers.csv``);
- **as assigned**, ``replications`` times with the seeds of
  :func:`~retention_sim.study.execution.replication_seed`: every customer in their own arm,
  the purchases drawn; each arm's realised conversion rate and spend per customer across the
  replications give the interval a rerun of the experiment would fall in (``arms.csv``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.policy import Policy, policy_from_dict
from ..config.response import ResponseModel
from ..config.scenario import Scenario, scenario_from_dict
from ..outputs import write_csv
from ..vocabulary import CHANNEL_INDEX
from .experiment import Experiment
from .response_fit import design_columns, model_features, predict

__all__ = ["Replay", "replay", "replay_world", "simulate_experiment"]

START = "2000-01-03"  # a Monday; the replay's calendar has no events or weekday effects


def _scenario(model: ResponseModel, arms: Sequence[str], n: int) -> Scenario:
    shape = model.spend.shape if model.spend is not None else 6.0
    seg = {
        "purchase_rate_per_year": {"mean": 1.0, "shape": 1.0},
        "spend": {"mean_per_purchase": 100.0, "p": shape, "q": 4.0},
        "frailty_shape": None,
    }
    off = {"annual_probability": 0}
    channel = next(iter(model.conversion.effects.values())).channel
    return scenario_from_dict(
        {
            "name": "replay",
            "calendar": {"start": START, "horizon_days": model.window_days + 1},
            "population": {
                "initial_customers": max(n, 1),
                "arrivals_per_day": 0,
                "tenure": {"mean_years": 0},
                "birthday_known_share": 0,
                "segments": {a: {"share": 1.0 / len(arms), **seg} for a in arms},
            },
            "churn": {
                "causes": {
                    **{c: off for c in ("death", "relocation", "friends", "lifestyle")},
                    "competitor": {"annual_probability": 0, "events_per_year": 0},
                    "dissatisfaction": off,
                    "indifference": off,
                    "annoyance": {"annual_probability_per_excess": 0},
                }
            },
            "social": {"mean_ties": 0},
            "loyalty": {"enabled": False},
            "satisfaction": {"purchase_sensitivity": 0, "spread": 0},
            "service": {"agents": 0, "product_issue_rate_per_year": 0, "inquiry_rate_per_year": 0},
            "channels": {
                channel: {
                    "consent_share": 1.0,
                    "cost_per_message": 0,
                    "open_rate": 0.2,
                    "click_rate": 0.02,
                    "unsubscribe_rate": 0,
                    "complaint_rate": 0,
                }
            },
            "response": model.model_dump(mode="json"),
        },
        source="(replay)",
    )


def _policy(model: ResponseModel, scenario: Scenario) -> Policy:
    campaigns = [
        {
            "name": arm,
            "type": "notification",
            "channel": e.channel,
            "cadence": {"dates": [START]},
            "audience": {"segments": [arm]},
            "response": arm,
        }
        for arm, e in model.conversion.effects.items()
    ]
    return policy_from_dict({"name": "replay", "campaigns": campaigns}, scenario=scenario)


def replay_world(
    model: ResponseModel, frame: pd.DataFrame, arms: np.ndarray, *, seed: int
) -> tuple[Any, Any]:
    """The world of one replay run and its mechanisms (nothing has run yet).

    ``arms`` gives each row's arm (the control or a treatment of ``model``).
    """
    from ..model.purchases import PurchaseTracker
    from ..model.simulation import assemble, build_world
    from ..model.visits import VisitTracker

    control = model.source.control
    arm_names = [control, *model.conversion.effects]
    n = len(frame)
    sc = _scenario(model, arm_names, n)
    world = build_world(sc, seed=seed, customers=n)
    pop = world.pop
    base = predict(model, frame, control)
    w = model.window_days
    pop.purchase_rate[:] = -np.log1p(-np.minimum(base.conversion, 1.0 - 1e-12)) / w
    if base.visit is not None:  # visits in the window with the fitted baseline probability
        pop.visit_rate[:] = -np.log1p(-np.minimum(base.visit, 1.0 - 1e-12)) / w
    shape = sc.population.segments[control].spend.p
    if model.spend is not None and base.spend is not None:
        basket = base.spend / np.maximum(base.conversion, 1e-300)  # baseline mean per converter
        pop.spend_nu[:] = shape / np.maximum(basket, 1e-12)
    code = {a: k for k, a in enumerate(arm_names)}
    pop.segment[:] = np.array([code[a] for a in arms], dtype=pop.segment.dtype)
    channel = next(iter(model.conversion.effects.values())).channel
    pop.consent[:] = False
    pop.consent[:, CHANNEL_INDEX[channel]] = True
    pop.extra["response_features"] = design_columns(
        frame, model_features(model, model.effect_features)
    )
    mechanisms = assemble(world, _policy(model, sc))
    mechanisms.purchases.tracker = PurchaseTracker(pop.capacity, 1, w)
    mechanisms.visits.tracker = VisitTracker(pop.capacity, 1, w)
    return world, mechanisms


def _run(model: ResponseModel, frame: pd.DataFrame, arms: np.ndarray, seed: int):
    from ..model.simulation import run_world

    world, m = replay_world(model, frame, arms, seed=seed)
    run_world(world, m)
    tx = world.transactions.arrays()
    in_window = tx["day"] >= 1
    rows = tx["customer_id"].astype(np.int64)[in_window]
    bought = np.bincount(rows, minlength=len(frame)) > 0
    spend = np.bincount(rows, weights=tx["amount"][in_window], minlength=len(frame))
    visited = m.visits.tracker.visit_days[: len(frame)] > 0
    return (m.purchases.tracker, m.visits.tracker), bought, spend, visited


@dataclass
class Replay:
    """What :func:`replay` produced.

    Attributes
    ----------
    arms
        One row per arm: customers, observed and simulated conversion, spend per customer and
        (with a visit column and a visit model) visits, each with a 95% interval (observed:
        normal approximation; simulated: the 2.5–97.5% range of the replications' realised arm
        means).
    customers
        Long format: ``row`` (0-based in the input file), ``arm``, ``conversion_probability``,
        ``expected_spend`` (and ``visit_probability`` with a visit model): every customer under
        every arm, the control included.
    """

    arms: pd.DataFrame
    customers: pd.DataFrame

    def write(self, out: str | Path) -> list[Path]:
        """Write ``arms.csv`` and ``customers.csv`` under ``out`` (atomically)."""
        out = Path(out)
        return [
            write_csv(out / "arms.csv", self.arms, index=False),
            write_csv(out / "customers.csv", self.customers, index=False),
        ]


def _observed(values: np.ndarray) -> tuple[float, float, float]:
    m = float(values.mean())
    se = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else float("nan")
    return m, m - 1.96 * se, m + 1.96 * se


def replay(
    experiment: Experiment,
    model: ResponseModel,
    *,
    rows: np.ndarray | None = None,
    replications: int = 20,
    seed: int = 0,
) -> Replay:
    """Replay ``experiment`` (or its ``rows``) in the simulator under ``model``.

    Parameters
    ----------
    experiment
        The campaign (its features, arms and observed outcomes).
    model
        A fitted response model whose features the experiment has.
    rows
        Replay these rows only (0-based positions in the file), e.g. the half not fitted on.
    replications
        Runs with the customers in their own arms (for the simulated intervals).
    seed
        Seed of the study; replication ``k`` uses ``replication_seed(seed, k)``.
    """
    from ..model.random_streams import replication_seed

    ex = experiment if rows is None else experiment.subset(rows)
    positions = np.arange(len(experiment.frame)) if rows is None else np.asarray(rows)
    frame = ex.frame
    arms = frame[ex.arm_col].to_numpy()
    arm_names = [model.source.control, *model.conversion.effects]
    long = []
    for a in arm_names:
        (tracker, visits), *_ = _run(model, frame, np.full(len(frame), a, dtype=object), seed)
        cols = {
            "row": positions,
            "arm": a,
            "conversion_probability": tracker.probability,
            "expected_spend": tracker.expected_spend,
        }
        if model.visit is not None:
            cols["visit_probability"] = visits.probability[: len(frame)]
        long.append(pd.DataFrame(cols))
    customers = pd.concat(long, ignore_index=True)
    realised = [
        _run(model, frame, arms, replication_seed(seed, k))[1:] for k in range(replications)
    ]
    table = []
    for a in arm_names:
        mask = arms == a
        mine = customers[customers["arm"] == a]
        probs = mine["conversion_probability"].to_numpy()[mask]
        spends = mine["expected_spend"].to_numpy()[mask]
        conv_runs = np.array([b[mask].mean() for b, _, _ in realised])
        spend_runs = np.array([s[mask].mean() for _, s, _ in realised])
        o_c = _observed(frame.loc[mask, ex.conversion_col].to_numpy(float))
        row: dict[str, Any] = {
            "arm": a,
            "customers": int(mask.sum()),
            "conversion_observed": o_c[0],
            "conversion_observed_low": o_c[1],
            "conversion_observed_high": o_c[2],
            "conversion_simulated": float(probs.mean()),
            "conversion_simulated_low": float(np.quantile(conv_runs, 0.025)),
            "conversion_simulated_high": float(np.quantile(conv_runs, 0.975)),
        }
        if ex.spend_col is not None:
            o_s = _observed(frame.loc[mask, ex.spend_col].to_numpy(float))
            row.update(
                spend_observed=o_s[0],
                spend_observed_low=o_s[1],
                spend_observed_high=o_s[2],
                spend_simulated=float(spends.mean()),
                spend_simulated_low=float(np.quantile(spend_runs, 0.025)),
                spend_simulated_high=float(np.quantile(spend_runs, 0.975)),
            )
        if ex.visit_col is not None and model.visit is not None:
            o_v = _observed(frame.loc[mask, ex.visit_col].to_numpy(float))
            visit_runs = np.array([v[mask].mean() for _, _, v in realised])
            row.update(
                visit_observed=o_v[0],
                visit_observed_low=o_v[1],
                visit_observed_high=o_v[2],
                visit_simulated=float(mine["visit_probability"].to_numpy()[mask].mean()),
                visit_simulated_low=float(np.quantile(visit_runs, 0.025)),
                visit_simulated_high=float(np.quantile(visit_runs, 0.975)),
            )
        table.append(row)
    return Replay(arms=pd.DataFrame(table), customers=customers)


def simulate_experiment(
    model: ResponseModel, frame: pd.DataFrame, arms: np.ndarray, *, seed: int
) -> pd.DataFrame:
    """An experiment drawn by the simulator: ``frame`` with each row's arm and what it did in
    the window (``conversion`` 0/1 and ``spend``) under ``model``, one draw per customer."""
    _, bought, spend, visited = _run(model, frame, arms, seed)
    out = frame.copy()
    out["arm"] = arms
    out["conversion"] = bought.astype(int)
    out["spend"] = spend
    if model.visit is not None:
        out["visit"] = visited.astype(int)
    return out
