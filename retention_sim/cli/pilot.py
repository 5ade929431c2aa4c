"""``retention-sim pilot``: the A/B test that would confirm a simulated verdict."""

from __future__ import annotations

import argparse
from typing import Any

from .args import add_runner_options, nonneg_int, policy_arg, pos_int, runner_kwargs
from .study_folders import keep_study

__all__ = ["register"]


def _share(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number between 0 and 1, got {text!r}"
        ) from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1, got {text}")
    return v


def _cmd_pilot(args: argparse.Namespace) -> int:
    from ..config.scenario import load_scenario
    from ..study.pilot import plan_pilot

    if len(args.policy) != 2:
        from ..errors import InputError

        raise InputError("pilot takes two policies: -p BASELINE -p CANDIDATE")
    scenario = load_scenario(args.scenario)
    plan = plan_pilot(
        scenario,
        [policy_arg(p) for p in args.policy],
        metric=args.metric,
        power=args.power,
        alpha=args.alpha,
        weeks=args.weeks,
        customers_per_arm=args.customers_per_arm,
        customers=args.customers,
        replications=args.replications,
        looks=args.looks,
        pilots=args.pilots,
        seed=args.seed,
        **runner_kwargs(args),
    )
    print(plan.text)
    if args.out:
        written, kept = keep_study(args, lambda out: [plan.write(out)])
        print(f"wrote {written[0]}")
        print(kept)
    return 0


def register(sub: Any) -> None:
    """Add ``pilot``."""
    p = sub.add_parser(
        "pilot",
        help="size the real A/B pilot that would confirm a candidate, with a stopping rule",
    )
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument(
        "-p",
        "--policy",
        action="append",
        required=True,
        help="policy YAML file: the baseline, then the candidate ('none' = no contact)",
    )
    p.add_argument(
        "--metric",
        choices=("profit", "retention", "conversion"),
        default="profit",
        help="per-customer outcome the pilot compares (default profit)",
    )
    p.add_argument("--power", type=_share, default=0.8, help="power (default 0.8)")
    p.add_argument("--alpha", type=_share, default=0.05, help="two-sided level (default 0.05)")
    p.add_argument(
        "--weeks",
        type=pos_int,
        help="pilot length (default: the shortest that fits --customers-per-arm, else 8)",
    )
    p.add_argument(
        "--customers-per-arm",
        type=pos_int,
        help="customers you can spare per arm: also gives the smallest effect they detect",
    )
    p.add_argument(
        "--looks",
        type=pos_int,
        default=4,
        help="waves of the O'Brien-Fleming stopping rule (default 4; 1 = one analysis)",
    )
    p.add_argument(
        "--pilots",
        type=nonneg_int,
        default=400,
        help="simulated pilots that check the power in the model (default 400; 0 = none)",
    )
    p.add_argument(
        "-r",
        "--replications",
        type=pos_int,
        default=1,
        help="planning worlds per pilot length (default 1)",
    )
    p.add_argument(
        "--customers",
        type=pos_int,
        default=10_000,
        help="size of the simulated base, for planning and for each simulated pilot "
        "(default 10000)",
    )
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed (default 0)")
    add_runner_options(p)
    p.add_argument("--out", help="folder for pilot.json")
    p.set_defaults(func=_cmd_pilot)
