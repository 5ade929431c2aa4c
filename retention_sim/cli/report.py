"""``retention-sim report``: the policy-comparison report (papermill notebook → HTML)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .args import (
    add_guardrail_option,
    add_size_options,
    guardrails_from_args,
    nonneg_int,
    pos_int,
)

__all__ = ["register"]


def _cmd_report(args: argparse.Namespace) -> int:
    from ..reporting.report import render_report
    from .study_folders import keep_study

    guardrails = guardrails_from_args(args)  # refuse unknown metrics before a kernel starts

    def write(folder: Path) -> list[Path]:
        html = render_report(
            args.scenario,
            args.policies,
            out=folder,
            store=Path(args.out) / "store",
            baseline=args.baseline,
            replications=args.replications,
            customers=args.customers,
            days=args.days,
            seed=args.seed,
            objective=args.objective,
            guardrails=guardrails,
            min_effect=args.min_effect,
            title=args.title,
            workers=args.workers,
            pilots=args.pilots,
            robustness_draws=args.robustness_draws,
            progress=not args.no_progress,
        )
        return [html, folder / "report.ipynb"]

    # each report in OUT/studies/report-<id>/, the latest also at the top of OUT; the runs of
    # every report in one store, OUT/store
    (html, notebook), line = keep_study(args, write)
    print(f"wrote {html} and {notebook}")
    print(line)
    return 0


def _replications(text: str) -> int:
    v = pos_int(text)
    if v < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2 (intervals need two), got {v}")
    return v


def register(sub: Any) -> None:
    """Add ``report``."""
    r = sub.add_parser(
        "report", help="render the policy-comparison report (papermill notebook → HTML)"
    )
    r.add_argument("scenario", help="scenario YAML file or preset name")
    r.add_argument(
        "-p",
        "--policy",
        action="append",
        required=True,
        dest="policies",
        help="policy YAML file or preset name (repeat; the first is the baseline unless "
        "--baseline)",
    )
    r.add_argument("--baseline", help="name of the baseline policy (default: the first)")
    r.add_argument(
        "-r", "--replications", type=_replications, default=10, help="replications (default 10)"
    )
    add_size_options(r)
    r.add_argument("--objective", default="profit", help="metric to improve (default profit)")
    add_guardrail_option(r)
    r.add_argument("--title", default="Policy comparison", help="the report's title")
    r.add_argument("--workers", type=pos_int, help="worker processes (default: one per core)")
    r.add_argument(
        "--pilots",
        type=nonneg_int,
        default=100,
        help="simulated pilots that check the pilot plan's power (default 100; 0 = none)",
    )
    r.add_argument(
        "--robustness-draws",
        type=nonneg_int,
        default=10,
        help="plausible worlds for the robustness section (default 10; 0 = none)",
    )
    r.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (the replications, then the notebook's cells)",
    )
    r.add_argument(
        "--out", required=True, help="output folder, e.g. reports/NAME (keeps its result store)"
    )
    r.set_defaults(func=_cmd_report)
