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

    for path in args.files:
        data = read_yaml_mapping(path)
        if "campaigns" in data or "guardrails" in data:
            from .policy import load_policy

            load_policy(path)
            kind = "policy"
        else:
            load_scenario(path)
            kind = "scenario"
        print(f"{path}: valid {kind}")
    return 0


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
    chk.set_defaults(func=_cmd_check)

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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
