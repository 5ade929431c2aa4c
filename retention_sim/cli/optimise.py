"""``retention-sim optimise``: the best value of policy fields, for the base and per group."""

from __future__ import annotations

import argparse
from typing import Any

from .args import (
    add_execution_options,
    add_guardrail_option,
    add_size_options,
    guardrails_from_args,
    policy_arg,
    pos_int,
    runner_kwargs,
)
from .study_folders import keep_study

__all__ = ["register"]


def _cmd_optimise(args: argparse.Namespace) -> int:
    from ..config.scenario import load_scenario
    from ..study.optimise import optimise, parse_vary

    guardrails = guardrails_from_args(args)  # bad input is refused before any run
    parse_vary(args.vary)
    scenario = load_scenario(args.scenario)
    result = optimise(
        scenario,
        policy_arg(args.policy),
        args.vary,
        by=args.by,
        objective=args.objective,
        guardrails=guardrails,
        replications=args.replications,
        grid=args.grid,
        seed=args.seed,
        customers=args.customers,
        days=args.days,
        out=args.out,
        **runner_kwargs(args),
    )
    print(result.text)
    if args.out:
        written, kept = keep_study(args, result.write)
        print("wrote " + ", ".join(str(p) for p in written))
        print(kept)
    return 0


def register(sub: Any) -> None:
    """Add ``optimise``."""
    p = sub.add_parser(
        "optimise",
        help="adaptive search for the best value of policy fields, per group, under guardrails",
    )
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("-p", "--policy", required=True, help="policy YAML file whose fields vary")
    p.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="FIELD=LOW..HIGH",
        help="a field and its range, e.g. policy:campaigns.0.cadence.every_n_days=1..60 "
        "(whole-number bounds search whole numbers; repeat)",
    )
    p.add_argument(
        "--by",
        action="append",
        choices=("segment", "start_stage", "rfm_segment", "tier", "consent_channel"),
        help="also find the best value for each group of the starting base (repeat)",
    )
    p.add_argument(
        "-r", "--replications", type=pos_int, default=10, help="replications per point (default 10)"
    )
    p.add_argument(
        "--grid", type=pos_int, default=5, help="values per field on the starting grid (default 5)"
    )
    add_size_options(p)
    add_execution_options(p)
    add_guardrail_option(p, min_effect=False)
    p.add_argument("--out", help="folder for optimum.json and the result store")
    p.set_defaults(func=_cmd_optimise)
