"""The Bain check on every preset: +5 points of one-year retention, and what profit does over one
year and three (docs/model.md, §10; the validation notebook).

Two ways to the lift, each against the preset's BAU policy on common random numbers:

- ``hazard``: the counterfactual of lower churn hazards (``retention_profit_effect``);
- ``lever``: a lever a strategist pulls, a win-back sequence to the customers who left
  (``win_back_sequence``: on each one's preferred channel, Zalo at the car dealer; 30 days after
  the last purchase, then every N days, with the BAU win-back's offer), N searched over 60, 30,
  14, 7 days (``lever_profit_effect``);
- ``candidates``: the levers tried before choosing, on the default preset at a small size.

Run: ``.venv/bin/python benchmarks/bench_retention_economics.py --measure lever`` (about 15
minutes with two workers; ``hazard`` takes as long again; ``candidates`` about a minute).
Prints one Markdown table row per preset.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from retention_sim import load_scenario
from retention_sim.config.policy import Policy, load_policy, policy_from_dict
from retention_sim.study.retention_economics import (
    lever_profit_effect,
    retention_profit_effect,
    win_back_sequence,
)

PRESETS = [
    ("default", "bau_default"),
    ("fashion_retail", "bau_fashion_retail"),
    ("grocery", "bau_grocery"),
    ("premium_durables", "bau_premium_durables"),
    ("saas", "bau_saas"),
]
#: The win-back sequence's channel: each customer's preferred one, except at the car dealer,
#: whose preferred channels include the phone (15,000 VND a call, one call a month at most):
#: there the consultants' Zalo (80% consent, 75% opened) reaches more of the lost.
CHANNEL = {"premium_durables": "zalo"}
#: Days between win-back messages to the lost, weakest first.
LEVER_VALUES = [60, 30, 14, 7]
PRESENT = ["new", "active", "loyal", "at_risk", "lapsed", "won_back"]

HEADERS = {
    "hazard": "| scenario | policy | 1-year retention | hazard scale | profit, 1 year | profit, 3 years |",
    "lever": "| scenario | policy | 1-year retention | win-back every | profit, 1 year | profit, 3 years |",
    "candidates": "| lever (default, bau_default) | value | 1-year retention | profit, 1 year |",
}


def _change(e: Any, days: int) -> str:
    return f"{e.profit_change[days]:+.1%} ± {e.profit_change_se[days]:.1%}"


def hazard_row(scenario_name: str, policy_name: str, customers: int, replications: int) -> str:
    """The counterfactual of lower churn hazards on one preset."""
    sc = load_scenario(scenario_name)
    e = retention_profit_effect(
        sc, load_policy(policy_name, scenario=sc), customers=customers, replications=replications
    )
    return (
        f"| {scenario_name} | {policy_name} | {e.retention:.1%} → {e.retention_lifted:.1%} "
        f"| {e.hazard_scale:.3f} | {_change(e, 365)} | {_change(e, 1095)} |"
    )


def lever_row(scenario_name: str, policy_name: str, customers: int, replications: int) -> str:
    """The win-back sequence's interval searched for +5 points on one preset."""
    sc = load_scenario(scenario_name)
    bau = load_policy(policy_name, scenario=sc)
    push, lever = win_back_sequence(bau, channel=CHANNEL.get(scenario_name, "preferred"))
    e = lever_profit_effect(
        sc,
        bau,
        lever,
        LEVER_VALUES,
        lever_policy=push,
        customers=customers,
        replications=replications,
    )
    value = f"{e.value:g} days" if e.reached else f"{e.value:g} days (not reached)"
    tried = ", ".join(f"{v:g}: {r:.2%}" for v, r in e.tried)
    print(f"{scenario_name}: base {e.retention:.2%}; tried {tried}", file=sys.stderr, flush=True)
    return (
        f"| {scenario_name} | {policy_name} | {e.retention:.1%} → {e.retention_lifted:.1%} "
        f"| {value} | {_change(e, 365)} | {_change(e, 1095)} |"
    )


def _with_campaign(policy: Policy, campaign: dict[str, Any]) -> tuple[Policy, str]:
    data = policy.model_dump(mode="json")
    data["campaigns"].append(campaign)
    data["name"] = f"{policy.name}+{campaign['name']}"
    field = f"policy:campaigns.{len(data['campaigns']) - 1}.cadence.every_n_days"
    return policy_from_dict(data, source="(benchmark)"), field


def candidate_rows(customers: int, replications: int) -> list[str]:
    """Each candidate lever at one setting on the default preset, one year."""
    sc = load_scenario("default")
    bau = load_policy("bau_default", scenario=sc)
    touch = {
        "type": "notification",
        "channel": "zalo",
        "cadence": {"every_n_days": 30},
        "audience": {"stages": PRESENT},
    }
    value_add, every = _with_campaign(bau, {"name": "value_add", **touch, "content": "info"})
    reward, every_reward = _with_campaign(
        bau, {"name": "member_reward", **touch, "content": "reward"}
    )
    push, wb_lever = win_back_sequence(bau)
    push_zalo, _ = win_back_sequence(bau, channel="zalo")
    cases: list[tuple[str, str, Any, Policy | None]] = [
        (
            "valued touches, ceiling: the indifference clock never grows",
            "scenario:churn.causes.indifference.growth_per_30_days",
            0.0,
            None,
        ),
        (
            "promotional e-mail (weekly in BAU), every N days",
            "policy:campaigns.0.cadence.every_n_days",
            2,
            None,
        ),
        ("value-add Zalo message (info) to the base, every N days", every, 30, value_add),
        ("value-add Zalo message (info) to the base, every N days", every, 7, value_add),
        ("member-reward Zalo message to the base, every N days", every_reward, 30, reward),
        ("win-back sequence to the lost (Zalo), every N days", wb_lever, 7, push_zalo),
        ("win-back sequence to the lost (preferred channel), every N days", wb_lever, 30, push),
        ("win-back sequence to the lost (preferred channel), every N days", wb_lever, 7, push),
    ]
    rows = []
    for label, field, value, lever_policy in cases:
        e = lever_profit_effect(
            sc,
            bau,
            field,
            [value],
            lever_policy=lever_policy,
            customers=customers,
            replications=replications,
            horizons=(365,),
        )
        rows.append(
            f"| {label} | {value:g} | {e.retention:.1%} → {e.retention_lifted:.1%} "
            f"({100 * (e.retention_lifted - e.retention):+.1f} points) | {_change(e, 365)} |"
        )
    return rows


def _task(kind: str, scenario_name: str, policy_name: str, customers: int, reps: int) -> str:
    t0 = time.perf_counter()
    row = (hazard_row if kind == "hazard" else lever_row)(
        scenario_name, policy_name, customers, reps
    )
    return f"{row}  ({time.perf_counter() - t0:.0f} s)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--measure", nargs="+", choices=list(HEADERS), default=["hazard", "lever"])
    ap.add_argument("--customers", type=int, default=4000)
    ap.add_argument("--replications", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    for kind in args.measure:
        print(f"\n{HEADERS[kind]}\n|{'---|' * (HEADERS[kind].count('|') - 1)}", flush=True)
        if kind == "candidates":
            for row in candidate_rows(customers=2000, replications=2):
                print(row, flush=True)
            continue
        # the slowest preset (saas) first, so that the two workers finish together
        order = sorted(PRESETS, key=lambda p: p[0] != "saas")
        with ProcessPoolExecutor(args.workers) as pool:
            futures = {
                p: pool.submit(_task, kind, *p, args.customers, args.replications) for p in order
            }
            for p in PRESETS:
                print(futures[p].result(), flush=True)


if __name__ == "__main__":
    main()
