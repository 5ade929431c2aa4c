"""``retention-sim calibrate`` and ``retention-sim forecast``: scenarios fitted from data."""

from __future__ import annotations

import argparse
from typing import Any

from ..outputs import write_json
from .args import nonneg_int, pos_int

__all__ = ["register"]


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from ..calibration.calibrate import calibrate
    from ..calibration.transactions import read_transactions

    log = read_transactions(  # read here: the overrides of the outlier checks are read options
        args.transactions,
        customer_col=args.customer_col,
        date_col=args.date_col,
        amount_col=args.amount_col,
        until=args.until,
        date_format=args.date_format,
        duplicates="drop" if args.drop_duplicates else "keep",
        allow_far_dates=args.allow_far_dates,
        allow_large_amounts=args.allow_large_amounts,
    )
    cal = calibrate(
        log,
        time_unit=args.time_unit,
        model=args.model,
        name=args.name,
        currency=args.currency,
        split=args.split,
        historical_policy=args.historical_policy,
        response=args.response,
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
        policy=args.policy,
    )
    print(fc.describe())
    if args.out:
        written = fc.write(args.out)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _add_outlier_options(parser: Any, prefix: str = "") -> None:
    """The overrides of the transaction log's outlier checks (far dates, huge amounts)."""
    parser.add_argument(
        "--allow-far-dates",
        action="store_true",
        help=f"{prefix}accept dates far outside the bulk of the log (refused by default as typos)",
    )
    parser.add_argument(
        "--allow-large-amounts",
        action="store_true",
        help=f"{prefix}accept amounts a million times the median or more (refused by default "
        "as typos)",
    )


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
    _add_outlier_options(cal)
    cal.add_argument("--name", help="scenario name (default: calibrated_<file stem>)")
    cal.add_argument("--currency", default="", help="currency label for the scenario")
    cal.add_argument(
        "--split",
        default="seed",
        help="how the fitted dropout is shared among churn causes: seed (the seed study's "
        "shares, default), lifestyle (one cause that contact cannot move) or "
        "CAUSE=SHARE,... (e.g. indifference=0.6,lifestyle=0.4)",
    )
    cal.add_argument(
        "--historical-policy",
        help="policy YAML the company ran while the log was written (default: no contact)",
    )
    cal.add_argument(
        "--response", help="fitted response YAML (calibrate-response) to include in the scenario"
    )
    cal.add_argument("-o", "--out", required=True, help="scenario YAML to write")
    cal.add_argument("--customers-out", help="also write the observed customers (CSV)")
    cal.add_argument("--report", help="also write the fit report (JSON)")
    cal.set_defaults(func=_cmd_calibrate)

    fc = sub.add_parser(
        "forecast",
        help="simulate the observed customers forward (no marketing contact, or --policy)",
    )
    fc.add_argument("scenario", help="scenario YAML (from calibrate)")
    fc.add_argument(
        "--customers-file",
        "--customers",
        dest="customers",
        required=True,
        help="customers file written by calibrate --customers-out (--customers is an alias)",
    )
    fc.add_argument("--from", dest="start", required=True, help="first day of the window")
    fc.add_argument("--to", dest="end", required=True, help="last day of the window")
    fc.add_argument(
        "-r", "--replications", type=pos_int, default=20, help="replications (default 20)"
    )
    fc.add_argument("--seed", type=nonneg_int, default=0, help="seed of the first (default 0)")
    fc.add_argument("--policy", help="contact policy YAML to run (default: no contact)")
    fc.add_argument(
        "-o", "--out", help="per-customer CSV; <stem>_weekly.csv and <stem>_summary.json beside it"
    )
    fc.set_defaults(func=_cmd_forecast)
    _register_response(sub)
    _register_replay(sub)


def _experiment(args: argparse.Namespace, cols: Any) -> Any:
    """The campaign from one per-customer CSV, or from a message log and a transaction log."""
    from ..calibration.campaign_logs import experiment_from_logs
    from ..calibration.experiment import read_experiment
    from ..errors import InputError

    logs = args.messages is not None or args.transactions is not None
    if logs and (args.experiment is not None or args.messages is None or args.transactions is None):
        raise InputError(
            "give either EXPERIMENT.csv, or --messages and --transactions (a platform export)"
        )
    common = dict(
        control=args.control,
        treatments=args.treatment or None,
        window_days=args.window_days,
        effect_cols=cols(args.effect_cols),
        channel=args.channel,
    )
    if logs:
        features = cols(args.feature_cols) or ["recency_days", "frequency", "monetary"]
        return experiment_from_logs(
            args.messages,
            args.transactions,
            arm_col=args.arm_col or "arm",
            feature_cols=features,
            lookback_days=args.lookback_days,
            message_customer_col=args.customer_col,
            message_date_col=args.date_col,
            customer_col=args.customer_col,
            date_col=args.date_col,
            amount_col=args.amount_col,
            table_out=args.write_experiment,
            allow_far_dates=args.allow_far_dates,
            allow_large_amounts=args.allow_large_amounts,
            **common,
        )
    if args.experiment is None or args.arm_col is None or args.conversion_col is None:
        raise InputError(
            "give EXPERIMENT.csv with --arm-col and --conversion-col, or --messages and "
            "--transactions"
        )
    return read_experiment(
        args.experiment,
        arm_col=args.arm_col,
        conversion_col=args.conversion_col,
        spend_col=args.spend_col,
        visit_col=args.visit_col,
        feature_cols=cols(args.feature_cols),
        **common,
    )


def _cmd_calibrate_response(args: argparse.Namespace) -> int:
    from ..calibration.response_fit import fit_response

    def cols(text: str | None) -> list[str]:
        return [c.strip() for c in (text or "").split(",") if c.strip()]

    fit = fit_response(_experiment(args, cols), form=args.form)
    m = fit.model
    print(
        f"fitted from {m.source.file}: "
        + ", ".join(f"{a} {n:,}" for a, n in m.source.rows.items())
        + f"; window {m.window_days} days"
    )
    for name in ("conversion", "visit"):
        r = getattr(m, name)
        if r is None:
            continue
        ll = r.log_likelihood
        print(
            f"{name}: {r.form} (log-likelihood multiplicative {ll['multiplicative']:.2f}, "
            f"additive {ll['additive']:.2f})"
        )
        for arm, e in r.effects.items():
            print(f"  {arm}: {e.intercept.estimate:+.5g} ± {e.intercept.se or float('nan'):.2g}")
    written = [fit.write(args.out)]
    if args.report:
        written.append(write_json(args.report, fit.report()))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _register_response(sub: Any) -> None:
    r = sub.add_parser(
        "calibrate-response",
        help="fit what a message does (conversion, visits, spend) from a randomised campaign",
    )
    r.add_argument(
        "experiment", nargs="?", help="CSV, one row per customer: arm, features, outcomes"
    )
    r.add_argument(
        "--messages",
        help="instead of EXPERIMENT.csv: a message log (customer, date, arm; holdout rows "
        "included), with --transactions",
    )
    r.add_argument("--transactions", help="the purchase log (customer, date, amount)")
    r.add_argument(
        "--lookback-days",
        type=pos_int,
        default=365,
        help="days before the send that frequency and monetary count (logs; default 365)",
    )
    r.add_argument("--customer-col", default="customer_id", help="logs: default customer_id")
    r.add_argument("--date-col", default="date", help="logs: default date")
    r.add_argument("--amount-col", default="amount", help="logs: default amount")
    _add_outlier_options(r, "logs: ")
    r.add_argument(
        "--write-experiment", help="logs: also write the derived one-row-per-customer table"
    )
    r.add_argument("--arm-col", help="column holding each customer's arm (logs: default arm)")
    r.add_argument("--control", required=True, help="name of the control (holdout) arm")
    r.add_argument(
        "--treatment", action="append", help="a treatment arm (repeat; default: all others)"
    )
    r.add_argument("--window-days", type=pos_int, required=True, help="days the outcomes cover")
    r.add_argument("--conversion-col", help="0/1: bought in the window (not with logs)")
    r.add_argument("--spend-col", help="amount spent in the window (optional)")
    r.add_argument("--visit-col", help="0/1: visited or clicked in the window (optional)")
    r.add_argument(
        "--feature-cols",
        help="comma-separated pre-period columns explaining the baseline (logs: among "
        "recency_days, frequency, monetary, tenure_days, prior_buyer; default the first three)",
    )
    r.add_argument(
        "--effect-cols", help="comma-separated columns the size of the effect may depend on"
    )
    r.add_argument("--channel", default="email", help="channel of the treatments (default email)")
    r.add_argument(
        "--form",
        choices=("auto", "multiplicative", "additive"),
        default="auto",
        help="effect on the odds or on the probability (default auto: the higher likelihood)",
    )
    r.add_argument("-o", "--out", required=True, help="response YAML to write")
    r.add_argument("--report", help="also write the fit report (JSON)")
    r.set_defaults(func=_cmd_calibrate_response)


def _cmd_replay(args: argparse.Namespace) -> int:
    from ..calibration.experiment import read_experiment
    from ..calibration.replay import replay
    from ..config.response import load_response

    model = load_response(args.response)
    ex = read_experiment(
        args.experiment,
        arm_col=args.arm_col or model.source.arm_column,
        control=args.control or model.source.control,
        treatments=list(model.conversion.effects),
        window_days=model.window_days,
        conversion_col=args.conversion_col,
        spend_col=args.spend_col,
        visit_col=args.visit_col,
        feature_cols=model.baseline_features,
        effect_cols=model.effect_features,
    )
    result = replay(ex, model, replications=args.replications, seed=args.seed)
    for r in result.arms.to_dict("records"):
        line = (
            f"{r['arm']:<20} {r['customers']:>8,}  conversion observed "
            f"{100 * r['conversion_observed']:.3f}%  simulated "
            f"{100 * r['conversion_simulated']:.3f}%"
        )
        if "spend_observed" in r:
            line += (
                f"  spend observed {r['spend_observed']:.4g}  simulated {r['spend_simulated']:.4g}"
            )
        if "visit_observed" in r:
            line += (
                f"  visits observed {100 * r['visit_observed']:.2f}%  simulated "
                f"{100 * r['visit_simulated']:.2f}%"
            )
        print(line)
    written = result.write(args.out)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _register_replay(sub: Any) -> None:
    r = sub.add_parser(
        "replay", help="replay a randomised campaign in the simulator under a fitted response"
    )
    r.add_argument("experiment", help="CSV, one row per customer (as for calibrate-response)")
    r.add_argument("--response", required=True, help="response YAML from calibrate-response")
    r.add_argument("--arm-col", help="arm column (default: the one the response was fitted on)")
    r.add_argument("--control", help="control arm (default: the response's)")
    r.add_argument("--conversion-col", required=True, help="0/1: bought in the window")
    r.add_argument("--visit-col", help="0/1: visited or clicked in the window (optional)")
    r.add_argument("--spend-col", help="amount spent in the window (optional)")
    r.add_argument(
        "-r", "--replications", type=pos_int, default=20, help="replications (default 20)"
    )
    r.add_argument("--seed", type=nonneg_int, default=0, help="seed (default 0)")
    r.add_argument("--out", required=True, help="folder for arms.csv and customers.csv")
    r.set_defaults(func=_cmd_replay)
