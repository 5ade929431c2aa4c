"""The ``retention-sim`` command line.

Every sub-command turns bad input into one line on standard error and exit status 2; nothing
already written is removed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import InputError

__all__ = ["main", "build_parser"]

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, like every other bad input
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {v}")
    return v


def _pos_int(text: str) -> int:
    v = _nonneg_int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


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
        f"retention rate {summary['retention_rate']:.1%}   churn rate {summary['churn_rate']:.1%}"
        f"   (seed formulas; initial base retained {summary['initial_base_retained']:.1%})",
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
    sv = summary.get("service", {})
    if sv.get("requests"):
        lines.append(
            f"service desk: {sv['requests']:,} requests, mean wait {sv['mean_wait_hours']:.2f} h, "
            f"abandoned {sv['abandoned_share']:.1%}"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- commands
def _cmd_run(args: argparse.Namespace) -> int:
    from .scenario import load_scenario
    from .simulation import simulate

    scenario = load_scenario(args.scenario)
    policy = None
    if args.policy:
        from .policy import load_policy

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
    from .files import read_yaml_mapping
    from .scenario import load_scenario

    scenario = load_scenario(args.scenario) if args.scenario else None
    for path in args.files:
        data = read_yaml_mapping(path)
        # a policy has campaigns, guardrails, programmes or a budget; a scenario a calendar
        if "calendar" not in data and (
            {"campaigns", "guardrails", "programmes", "monthly_budget"} & set(data)
            or "population" not in data
        ):
            from .policy import load_policy

            load_policy(path, scenario=scenario)
            kind = "policy" + (f" for scenario {scenario.name!r}" if scenario else "")
        else:
            load_scenario(path)
            kind = "scenario"
        print(f"{path}: valid {kind}")
    return 0


def _pos_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def _policy_arg(path: str) -> Any:
    """``none`` means no marketing contact at all; anything else is a policy file."""
    return None if path.strip().lower() == "none" else path


def _guardrails(items: Sequence[str] | None) -> dict[str, Any]:
    """``METRIC=LIMIT`` (upper limit on the candidate's mean) or ``METRIC=increase:LIMIT``."""
    out: dict[str, Any] = {}
    for item in items or []:
        metric, sep, limit = item.partition("=")
        if not sep or not metric.strip() or not limit.strip():
            raise InputError(f"--guardrail expects METRIC=LIMIT, got {item!r}")
        kind = "max"
        if limit.strip().startswith("increase:"):
            kind, limit = "max_increase", limit.strip()[len("increase:") :]
        try:
            value = float(limit)
        except ValueError:
            raise InputError(f"--guardrail {item!r}: the limit must be a number") from None
        out[metric.strip()] = value if kind == "max" else {"max_increase": value}
    return out


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
    from .experiment import compare, parse_guardrails
    from .scenario import load_scenario

    guardrails = _guardrails(args.guardrail)
    parse_guardrails(guardrails)  # refuse unknown metrics before hours of simulation
    scenario = load_scenario(args.scenario)
    comparison = compare(
        scenario,
        [_policy_arg(p) for p in args.policy],
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

    from .outputs import write_csv, write_json
    from .scenario import load_scenario
    from .sweep import format_sweep, sweep

    scenario = load_scenario(args.scenario)
    grid = _grid(args.grid)
    frame = sweep(
        scenario,
        _policy_arg(args.policy) if args.policy else None,
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


def _study_options(p: argparse.ArgumentParser, replications: int) -> None:
    p.add_argument(
        "-r", "--replications", type=_pos_int, default=replications, help="replications per arm"
    )
    p.add_argument("--seed", type=_nonneg_int, default=0, help="study seed")
    p.add_argument("--customers", type=_pos_int, help="size of the starting base")
    p.add_argument("--days", type=_pos_int, help="horizon in days")
    p.add_argument("--objective", default="profit", help="metric to improve (default profit)")
    p.add_argument(
        "--backend",
        choices=("serial", "processes", "dask"),
        default="processes",
        help="where runs execute (default: a local process pool)",
    )
    p.add_argument("--workers", type=_pos_int, help="worker processes (default: one per core)")
    p.add_argument(
        "--dask", metavar="local|ADDRESS", help="run on Dask: 'local' or tcp://host:8786"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``retention-sim`` (sub-commands register themselves here)."""
    p = _Parser(prog="retention-sim", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="simulate one scenario (optionally under a policy)")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--policy", help="policy YAML file (default: no marketing contact)")
    run.add_argument("--customers", type=_nonneg_int, help="size of the starting base")
    run.add_argument("--days", type=_pos_int, help="horizon in days")
    run.add_argument("--seed", type=_nonneg_int, default=0)
    run.add_argument("--out", help="folder for summary.json, daily.csv, transactions.csv")
    run.add_argument(
        "--record-messages", action="store_true", help="also write messages.csv (audit log)"
    )
    run.set_defaults(func=_cmd_run)

    chk = sub.add_parser("check", help="validate scenario and policy files")
    chk.add_argument("files", nargs="+")
    chk.add_argument(
        "--scenario",
        help="also check that policies use only this scenario's channels, segments and tiers",
    )
    chk.set_defaults(func=_cmd_check)

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
    _study_options(cmp_, replications=20)
    cmp_.add_argument(
        "--target-halfwidth",
        type=_pos_float,
        help="add replications until the paired interval on the objective is this narrow",
    )
    cmp_.add_argument("--max-replications", type=_pos_int, help="cap with --target-halfwidth")
    cmp_.add_argument(
        "--guardrail",
        action="append",
        metavar="METRIC=LIMIT",
        help="upper limit on a candidate's mean (METRIC=increase:X limits the increase over the "
        "baseline); repeat",
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
    _study_options(swp, replications=10)
    swp.add_argument("--out", help="folder for sweep.json, sweep.csv and the result store")
    swp.set_defaults(func=_cmd_sweep)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return p


_EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``retention-sim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"retention-sim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("retention-sim: interrupted; files already written are kept", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"retention-sim: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _register_calibration(sub: Any) -> None:
    """``calibrate`` and ``forecast`` (defined in :mod:`retention_sim.calibration`)."""
    from .calibration import register_cli

    register_cli(sub)


_EXTRA_COMMANDS.append(_register_calibration)


def _register_report_and_bench(sub: Any) -> None:
    """``report`` (:mod:`retention_sim.report`) and ``bench`` (:mod:`retention_sim.bench`)."""
    from . import bench, report

    report.register_cli(sub)
    b = sub.add_parser("bench", help="time the engine: customer-days per second, memory, parts")
    bench.add_arguments(b)
    b.set_defaults(func=bench.run_from_args)


_EXTRA_COMMANDS.append(_register_report_and_bench)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
