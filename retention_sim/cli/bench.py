"""``retention-sim bench``: the engine benchmark (see :mod:`retention_sim.study.bench`)."""

from __future__ import annotations

import argparse
from typing import Any

from .args import nonneg_int, pos_int

__all__ = ["register"]


def _cmd_bench(args: argparse.Namespace) -> int:
    from ..outputs import write_json
    from ..study.bench import format_report, load_inputs, run_benchmark, study_benchmark

    policy = None if args.policy == "none" else args.policy
    load_inputs(args.scenario, policy)  # validate first
    if args.study:
        pol, reps, n = args.study
        st = study_benchmark(policies=pol, replications=reps, customers=n, days=args.days)
        print(
            f"whole study: {len(st['policies'])} policies × {reps} replications × {n:,} "
            f"customers × {args.days} days on {st['workers']} workers: "
            f"{st['wall_seconds']:.1f} s wall, {st['seconds_per_run_per_worker']:.2f} s per run "
            f"per worker, {st['nominal_customer_days_per_second']:.3g} customer-days/s (nominal)"
        )
        if args.json:
            write_json(args.json, st)
        return 0
    fig = run_benchmark(
        args.customers,
        args.days,
        scenario=args.scenario,
        policy=policy,
        parallel_customers=args.parallel_customers or None,
    )
    print(format_report(fig))
    if args.json:
        write_json(args.json, fig)
    return 0


def register(sub: Any) -> None:
    """Add ``bench``."""
    from ..study.bench import DEFAULT_POLICY, DEFAULT_SCENARIO

    p = sub.add_parser("bench", help="time the engine: customer-days per second, memory, parts")
    p.add_argument(
        "--customers",
        type=pos_int,
        nargs="+",
        default=[10_000, 100_000, 1_000_000],
        help="sizes of the starting base to time (default 10000 100000 1000000)",
    )
    p.add_argument("--days", type=pos_int, default=365, help="horizon in days (default 365)")
    p.add_argument("--scenario", default=str(DEFAULT_SCENARIO), help="scenario (default: default)")
    p.add_argument(
        "--policy",
        default=str(DEFAULT_POLICY),
        help="policy (default: bau_default); 'none' for no contact policy",
    )
    p.add_argument(
        "--parallel-customers",
        type=nonneg_int,
        default=50_000,
        help="size of each run in the parallel-efficiency check (default 50000; 0 to skip)",
    )
    p.add_argument(
        "--study",
        type=pos_int,
        nargs=3,
        metavar=("POLICIES", "REPLICATIONS", "CUSTOMERS"),
        help="instead, time a whole comparison on two workers (the issue's: 10 20 100000; at "
        "most 10 policies)",
    )
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.set_defaults(func=_cmd_bench)
