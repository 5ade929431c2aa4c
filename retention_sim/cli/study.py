"""``retention-sim compare`` and ``retention-sim sweep``: studies of policies."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InputError
from .args import (
    add_execution_options,
    add_guardrail_option,
    add_size_options,
    add_study_options,
    guardrails_from_args,
    policy_arg,
    pos_float,
    pos_int,
    runner_kwargs,
)
from .study_folders import keep_study

__all__ = ["register", "runs_line"]


def runs_line(info: Mapping[Any, Any]) -> str:
    """How many runs a study read from its result store and how many it computed."""
    loaded, computed = int(info.get("runs_loaded", 0)), int(info.get("runs_computed", 0))
    return (
        f"result store: {loaded:,} finished run{'s' if loaded != 1 else ''} reused, "
        f"{computed:,} computed"
    )


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

    guardrails = guardrails_from_args(args)  # refuse unknown metrics before hours of simulation
    scenario = load_scenario(args.scenario)
    comparison = compare(
        scenario,
        [policy_arg(p) for p in args.policy],
        baseline=args.baseline,
        replications=args.replications,
        seed=args.seed,
        customers=args.customers,
        days=args.days,
        out=args.out,
        target_halfwidth=args.target_halfwidth,
        max_replications=args.max_replications,
        objective=args.objective,
        **runner_kwargs(args),
        by=args.by,
    )
    print(comparison.to_text())
    for kind in comparison.by_kinds:
        from ..study.comparison import format_by

        print()
        print(format_by(comparison.by_group(kind), comparison.currency))
    verdict = None
    if comparison.candidates:
        verdict = comparison.verdict(args.objective, guardrails, min_effect=args.min_effect)
        print()
        print(verdict.text)
    if args.out:
        print(runs_line(comparison.info))
        written, kept = keep_study(args, lambda d: comparison.write(d, verdict=verdict))
        print("wrote " + ", ".join(str(p) for p in written))
        print(kept)
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:

    from ..config.scenario import load_scenario
    from ..outputs import write_csv, write_json
    from ..study.sweep import format_sweep, sweep, sweep_wide

    guardrails = guardrails_from_args(args)
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
        out=args.out,
        **runner_kwargs(args),
        guardrails=guardrails,
    )
    print(format_sweep(frame))
    if args.out:
        print(runs_line(frame.attrs))
        wide = sweep_wide(frame)
        record = {
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash(),
            "policy": args.policy,
            "grid": grid,
            **{
                k: v
                for k, v in frame.attrs.items()
                if k not in ("runs_computed", "runs_loaded", "runs")
            },
            "points": wide.astype(object).where(wide.notna(), None).to_dict("records"),
        }
        written, kept = keep_study(
            args,
            lambda out: [
                write_json(out / "sweep.json", record),
                write_csv(out / "sweep.csv", frame, index=False),  # long: point x metric
                write_csv(out / "runs.csv", frame.attrs["runs"], index=False),
            ],
        )
        print("wrote " + ", ".join(str(p) for p in written))
        print(kept)
    return 0


def _cmd_select(args: argparse.Namespace) -> int:
    from ..config.scenario import load_scenario
    from ..study.select import parse_indifference, select

    guardrails = guardrails_from_args(args)  # refuse bad input before any run
    parse_indifference(args.indifference)
    scenario = load_scenario(args.scenario)
    result = select(
        scenario,
        [policy_arg(p) for p in args.policy],
        pcs=args.pcs,
        indifference=args.indifference,
        objective=args.objective,
        guardrails=guardrails,
        first_stage=args.first_stage,
        max_replications=args.max_replications,
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


def _pcs(text: str) -> float:
    v = pos_float(text)
    if not v < 1:
        raise argparse.ArgumentTypeError(f"must be below 1, got {text}")
    return v


def register(sub: Any) -> None:
    """Add ``compare``, ``sweep`` and ``select``."""
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
        "--by",
        action="append",
        choices=("segment", "start_stage", "rfm_segment", "tier", "consent_channel"),
        help="break every difference down by this group of the starting base (repeat)",
    )
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
    add_guardrail_option(swp, min_effect=False)
    swp.add_argument("--out", help="folder for sweep.json, sweep.csv and the result store")
    swp.set_defaults(func=_cmd_sweep)

    sel = sub.add_parser(
        "select",
        help="pick the best of many policies with a stated probability of being right (KN)",
    )
    sel.add_argument("scenario", help="scenario YAML file")
    sel.add_argument(
        "-p",
        "--policy",
        action="append",
        required=True,
        help="policy YAML file (repeat, at least two; 'none' = no contact)",
    )
    sel.add_argument(
        "--pcs",
        type=_pcs,
        default=0.95,
        help="stated probability of correct selection (default 0.95)",
    )
    sel.add_argument(
        "--indifference",
        default="1%",
        help="smallest difference worth finding: in the objective's units, or a share of the "
        "first policy's mean such as 1%% (default 1%%)",
    )
    sel.add_argument(
        "--first-stage",
        type=pos_int,
        default=10,
        help="replications of every policy before the sequential part (default 10)",
    )
    sel.add_argument(
        "--max-replications",
        type=pos_int,
        default=500,
        help="cap per policy; reaching it voids the guarantee (default 500)",
    )
    add_size_options(sel)
    add_execution_options(sel)
    add_guardrail_option(sel, min_effect=False)
    sel.add_argument("--out", help="folder for selection.json and the result store")
    sel.set_defaults(func=_cmd_select)
