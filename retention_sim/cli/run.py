"""``retention-sim run`` (one simulation) and ``retention-sim check`` (validate files)."""

from __future__ import annotations

import argparse
from typing import Any

from .args import add_size_options

__all__ = ["register", "format_summary"]


def _format_money(x: float) -> str:
    return f"{x:,.0f}"


def format_summary(summary: dict[str, Any]) -> str:
    """A readable block of the headline metrics of one run."""
    cur = summary.get("currency", "")
    lines = [
        f"scenario {summary['scenario']}  policy {summary['policy']}  seed {summary['seed']}  "
        f"{summary['days']} days from {summary['start_date']}",
        f"customers   start {summary['customers_start']:,}  acquired "
        f"{summary['customers_acquired']:,}  end {summary['customers_end']:,}",
        f"retention rate {summary['retention_rate']:.1%} ((end - acquired) / start)   net churn "
        f"rate {summary['churn_rate']:.1%} ((start - end) / start: the net fall in the count)",
        f"starting customers who churned {1.0 - summary['initial_base_retained']:.1%}   "
        f"(retained {summary['initial_base_retained']:.1%}; all churned, new ones included: "
        f"{summary['churned']:,})",
        f"revenue {_format_money(summary['revenue'])} {cur}   profit "
        f"{_format_money(summary['profit'])} {cur}   CLV {_format_money(summary['clv'])} {cur}",
        "churn by cause:",
    ]
    churned = summary["churned"] or 1
    for cause, n in summary["churn_by_cause"].items():
        lines.append(f"  {cause:<16}{n:>8,}  {n / churned:6.1%}")
    m = summary.get("messages")
    if m:
        lines.append(
            f"messages delivered {m['delivered']:,}  opened {m['open_rate']:.1%}  clicked "
            f"{m['click_rate']:.1%}  unsubscribes {m['unsubscribes']:,}  complaints "
            f"{m['complaints']:,}  contact cost {_format_money(summary['contact_cost'])} {cur}"
        )
        refused = ", ".join(f"{k} {v:,}" for k, v in m["refused"].items() if v)
        lines.append(
            f"messages refused {m['refused_total']:,}" + (f" ({refused})" if refused else "")
        )
        t = summary.get("touches", {})
        lines.append(
            f"touches {t.get('per_purchase_cycle', float('nan')):.1f} per purchase cycle (between "
            f"two purchases), {t.get('before_first_repeat', float('nan')):.1f} before a new "
            f"customer's second purchase, {t.get('per_purchase', float('nan')):.1f} messages per "
            "purchase"
        )
    sv = summary.get("service", {})
    if sv.get("requests"):
        lines.append(
            f"service desk: {sv['requests']:,} requests, mean wait {sv['mean_wait_hours']:.2f} h, "
            f"abandoned {sv['abandoned_share']:.1%}"
        )
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace) -> int:
    from ..config.scenario import load_scenario
    from ..model.simulation import simulate

    scenario = load_scenario(args.scenario)
    policy = None
    if args.policy:
        from ..config.policy import load_policy

        policy = load_policy(args.policy, scenario=scenario)
    result = simulate(
        scenario,
        policy,
        seed=args.seed,
        customers=args.customers,
        days=args.days,
        record_messages=args.record_messages,
    )
    print(format_summary(result.summary))
    if args.out:
        written = result.write(args.out, messages=args.record_messages)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from ..config.files import read_yaml_mapping
    from ..config.scenario import load_scenario

    scenario = load_scenario(args.scenario) if args.scenario else None
    for path in args.files:
        data = read_yaml_mapping(path)
        # a policy has campaigns, guardrails, programmes or a budget; a scenario a calendar
        if "calendar" not in data and (
            {"campaigns", "guardrails", "programmes", "monthly_budget"} & set(data)
            or "population" not in data
        ):
            from ..config.policy import load_policy

            load_policy(path, scenario=scenario)
            kind = "policy" + (f" for scenario {scenario.name!r}" if scenario else "")
        else:
            load_scenario(path)
            kind = "scenario"
        print(f"{path}: valid {kind}")
    return 0


def register(sub: Any) -> None:
    """Add ``run`` and ``check``."""
    run = sub.add_parser("run", help="simulate one scenario (optionally under a policy)")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--policy", help="policy YAML file (default: no marketing contact)")
    add_size_options(run, allow_empty_base=True)
    run.add_argument("--out", help="folder for summary.json, daily.csv, transactions.csv")
    run.add_argument(
        "--record-messages", action="store_true", help="also write messages.csv (audit log)"
    )
    run.set_defaults(func=_cmd_run)

    chk = sub.add_parser("check", help="validate scenario and policy files")
    chk.add_argument("files", nargs="+", help="scenario or policy YAML files")
    chk.add_argument(
        "--scenario",
        help="also check that policies use only this scenario's channels, segments and tiers",
    )
    chk.set_defaults(func=_cmd_check)
