"""``retention-sim robustness``: does the candidate still win in other plausible worlds?"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InputError
from .args import add_execution_options, add_size_options, policy_arg, pos_int, runner_kwargs
from .study_folders import keep_study

__all__ = ["register"]


def _ranges(items: list[str] | None) -> dict[str, tuple[float, float]]:
    """``FIELD=LOW..HIGH`` → ``{FIELD: (LOW, HIGH)}``."""
    out: dict[str, tuple[float, float]] = {}
    for item in items or []:
        field, sep, rng = item.partition("=")
        low, dots, high = rng.partition("..")
        if not sep or not dots or not field.strip():
            raise InputError(f"--vary expects FIELD=LOW..HIGH, got {item!r}")
        try:
            out[field.strip()] = (float(low), float(high))
        except ValueError:
            raise InputError(f"--vary {item!r}: LOW and HIGH must be numbers") from None
    return out


def _cmd_robustness(args: argparse.Namespace) -> int:
    from ..config.scenario import load_scenario
    from ..outputs import write_csv, write_json
    from ..study.comparison import json_ready
    from ..study.robustness import robustness
    from ..study.uncertainty import default_uncertainty

    if len(args.policy) != 2:
        raise InputError("robustness takes two policies: -p BASELINE -p CANDIDATE")
    given = _ranges(args.vary)
    scenario = load_scenario(args.scenario)
    uncertain = given if given else default_uncertainty(scenario)
    baseline, candidate = (policy_arg(p) for p in args.policy)
    result = robustness(
        scenario,
        candidate,
        baseline,
        uncertain,
        draws=args.draws,
        replications=args.replications,
        seed=args.seed,
        customers=args.customers,
        days=args.days,
        objective=args.objective,
        out=args.out,
        **runner_kwargs(args),
    )
    print(result.text)
    if args.out:
        record = {
            "candidate": result.candidate,
            "baseline": result.baseline,
            "objective": result.objective,
            "replications": result.replications,
            "share_better": result.share_better,
            "share_interval": [result.share_low, result.share_high],
            "most_influential": result.most_influential,
            "uncertain": {k: list(v) for k, v in uncertain.items()},
            "uncertainty_from": "--vary" if given else "default (study/uncertainty.py)",
            "sensitivity": json_ready(result.sensitivity.to_dict("records")),
            "text": result.text,
        }
        written, kept = keep_study(
            args,
            lambda out: [
                write_json(out / "robustness.json", record),
                write_csv(out / "robustness_worlds.csv", result.worlds, index=False),
            ],
        )
        print("wrote " + ", ".join(str(p) for p in written))
        print(kept)
    return 0


def register(sub: Any) -> None:
    """Add ``robustness``."""
    p = sub.add_parser(
        "robustness",
        help="share of plausible worlds in which the candidate still wins, and what flips it",
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
        "--vary",
        action="append",
        metavar="FIELD=LOW..HIGH",
        help="an uncertain scenario field and its range (repeat); default: the stated "
        "uncertainty (fitted: its 95%% interval or estimate +/- 2 SE; behavioural assumptions: x0.5 to x1.5)",
    )
    p.add_argument("--draws", type=pos_int, default=20, help="worlds to draw (default 20)")
    p.add_argument(
        "-r", "--replications", type=pos_int, default=2, help="replications per world (default 2)"
    )
    add_size_options(p)
    add_execution_options(p)
    p.add_argument("--out", help="folder for robustness.json, robustness_worlds.csv and the store")
    p.set_defaults(func=_cmd_robustness)
