"""``retention-sim calibrate`` and ``retention-sim forecast``: scenarios fitted from data."""

from __future__ import annotations

import argparse
from typing import Any

from ..outputs import write_json
from .args import nonneg_int, pos_int

__all__ = ["register"]


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from ..calibration.calibrate import calibrate

    cal = calibrate(
        args.transactions,
        customer_col=args.customer_col,
        date_col=args.date_col,
        amount_col=args.amount_col,
        until=args.until,
        time_unit=args.time_unit,
        model=args.model,
        date_format=args.date_format,
        duplicates="drop" if args.drop_duplicates else "keep",
        name=args.name,
        currency=args.currency,
    )
    print(cal.describe())
    written = [cal.write_scenario(args.out)]
    if args.customers_out:
        written.append(cal.write_customers(args.customers_out))
    if args.report:
        written.append(write_json(args.report, cal.report()))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _cmd_forecast(args: argparse.Namespace) -> int:
    from ..calibration.forecast import forecast

    fc = forecast(
        args.scenario,
        args.customers,
        start=args.start,
        end=args.end,
        replications=args.replications,
        seed=args.seed,
    )
    print(fc.describe())
    if args.out:
        written = fc.write(args.out)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def register(sub: Any) -> None:
    """Add the ``calibrate`` and ``forecast`` sub-commands to ``retention-sim``."""
    cal = sub.add_parser(
        "calibrate",
        help="fit purchase, dropout and spend models to a transaction log; write a scenario",
    )
    cal.add_argument("transactions", help="CSV log, one row per purchase")
    cal.add_argument("--customer-col", default="customer_id", help="default: customer_id")
    cal.add_argument("--date-col", default="date", help="default: date")
    cal.add_argument("--amount-col", default="amount", help="default: amount")
    cal.add_argument("--until", help="last day of the calibration period (default: last date)")
    cal.add_argument(
        "--time-unit",
        choices=("day", "week"),
        default="week",
        help="unit the models are fitted in (default week)",
    )
    cal.add_argument(
        "--model",
        choices=("auto", "bgnbd", "pareto_nbd"),
        default="auto",
        help="purchase model (default auto: the higher log-likelihood)",
    )
    cal.add_argument("--date-format", help="strptime format, if not YYYY-MM-DD or YYYYMMDD")
    cal.add_argument(
        "--drop-duplicates", action="store_true", help="drop exact duplicate rows (default: keep)"
    )
    cal.add_argument("--name", help="scenario name (default: calibrated_<file stem>)")
    cal.add_argument("--currency", default="", help="currency label for the scenario")
    cal.add_argument("-o", "--out", required=True, help="scenario YAML to write")
    cal.add_argument("--customers-out", help="also write the observed customers (CSV)")
    cal.add_argument("--report", help="also write the fit report (JSON)")
    cal.set_defaults(func=_cmd_calibrate)

    fc = sub.add_parser(
        "forecast", help="simulate the observed customers forward with no marketing contact"
    )
    fc.add_argument("scenario", help="scenario YAML (from calibrate)")
    fc.add_argument("--customers", required=True, help="customers file (calibrate --customers-out)")
    fc.add_argument("--from", dest="start", required=True, help="first day of the window")
    fc.add_argument("--to", dest="end", required=True, help="last day of the window")
    fc.add_argument(
        "-r", "--replications", type=pos_int, default=20, help="replications (default 20)"
    )
    fc.add_argument("--seed", type=nonneg_int, default=0, help="seed of the first (default 0)")
    fc.add_argument(
        "-o", "--out", help="per-customer CSV; <stem>_weekly.csv and <stem>_summary.json beside it"
    )
    fc.set_defaults(func=_cmd_forecast)
