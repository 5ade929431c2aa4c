"""``retention-sim compare`` and ``retention-sim sweep``: studies of policies."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from .args import (
    add_guardrail_option,
    add_study_options,
    parse_guardrail_options,
    policy_arg,
    pos_float,
    pos_int,
)

__all__ = ["register"]


def _grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``FIELD=v1,v2,...`` → ``{FIELD: [v1, v2, ...]}`` (values read as YAML scalars)."""
    import yaml

    grid: dict[str, list[Any]] = {}
    for item in items:
        field, sep, values = item.partition("=")
        if not sep or not field.strip() or not values.strip():
            raise InputError(f"--grid expects FIELD=v1,v2,..., got {item!r}")
        parsed = []
        for tok in values.split(","):
            tok = tok.strip()
            if not tok:
                raise InputError(f"--grid {item!r}: empty value")
            try:
                v = yaml.safe_load(tok)
            except yaml.YAMLError:
                v = tok
            if isinstance(v, (dict, list)) or v is None:
                raise InputError(f"--grid {item!r}: {tok!r} is not a single value")
            parsed.append(v)
        if field.strip() in grid:
            raise InputError(f"--grid field {field.strip()!r} is given twice")
        grid[field.strip()] = parsed
    return grid


def _cmd_compare(args: argparse.Namespace) -> int:
    from ..config.scenario import load_scenario
    from ..study.compare import compare
    from ..study.verdict import parse_guardrails

    guardrails = parse_guardrail_options(args.guardrail)
    parse_guardrails(guardrails)  # refuse unknown metrics before hours of simulation
    scenario = load_scenario(args.scenario)
    comparison = compare(
        scenario,
        [policy_arg(p) for p in args.policy],
        baseline=args.baseline,
        replications=args.replications,
        seed=args.seed,
        customers=args.customers,
        days=args.days,
        backend=args.backend,
        workers=args.workers,
        dask=args.dask,
        out=args.out,
        target_halfwidth=args.target_halfwidth,
        max_replications=args.max_replications,
        objective=args.objective,
        progress=not args.no_progress,
    )
    print(comparison.to_text())
    verdict = None
    if comparison.candidates:
        verdict = comparison.verdict(args.objective, guardrails)
        print()
        print(verdict.text)
    if args.out:
        written = comparison.write(args.out, verdict=verdict)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..config.scenario import load_scenario
    from ..outputs import write_csv, write_json
    from ..study.sweep import format_sweep, sweep

    scenario = load_scenario(args.scenario)
    grid = _grid(args.grid)
    frame = sweep(
        scenario,
        policy_arg(args.policy) if args.policy else None,
        grid,
        replications=args.replications,
        seed=args.seed,
        customers=args.customers,
        days=args.days,
        objective=args.objective,
        metrics=args.metric or None,
        backend=args.backend,
        workers=args.workers,
        dask=args.dask,
        out=args.out,
        progress=not args.no_progress,
    )
    print(format_sweep(frame))
    if args.out:
        out = Path(args.out)
        record = {
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash(),
            "policy": args.policy,
            "grid": grid,
            **{k: v for k, v in frame.attrs.items() if k not in ("runs_computed", "runs_loaded")},
            "points": frame.astype(object).where(frame.notna(), None).to_dict("records"),
        }
        written = [
            write_json(out / "sweep.json", record),
            write_csv(out / "sweep.csv", frame, index=False),
        ]
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def register(sub: Any) -> None:
    """Add ``compare`` and ``sweep``."""
    cmp_ = sub.add_parser(
        "compare",
        help="compare policies with common random numbers; print the table and the verdict",
    )
    cmp_.add_argument("scenario", help="scenario YAML file")
    cmp_.add_argument(
        "-p",
        "--policy",
        action="append",
        required=True,
        help="policy YAML file (repeat; 'none' = no contact); the first is the baseline",
    )
    cmp_.add_argument("--baseline", help="name of the baseline policy (default: the first)")
    add_study_options(cmp_, replications=20)
    cmp_.add_argument(
        "--target-halfwidth",
        type=pos_float,
        help="add replications until the paired interval on the objective is this narrow",
    )
    cmp_.add_argument("--max-replications", type=pos_int, help="cap with --target-halfwidth")
    add_guardrail_option(cmp_)
    cmp_.add_argument(
        "--out", help="folder for comparison.json, comparison.csv and the result store"
    )
    cmp_.set_defaults(func=_cmd_compare)

    swp = sub.add_parser("sweep", help="what-if curve over policy or scenario fields")
    swp.add_argument("scenario", help="scenario YAML file")
    swp.add_argument("-p", "--policy", help="policy YAML file (default: no contact)")
    swp.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="FIELD=v1,v2,...",
        help="e.g. policy:campaigns.0.cadence.every_n_days=1,3,7,14 or "
        "scenario:service.agents=2,4,6 (repeat for a product)",
    )
    swp.add_argument("--metric", action="append", help="metric to tabulate (repeat)")
    add_study_options(swp, replications=10)
    swp.add_argument("--out", help="folder for sweep.json, sweep.csv and the result store")
    swp.set_defaults(func=_cmd_sweep)
