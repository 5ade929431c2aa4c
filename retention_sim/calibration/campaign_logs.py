"""Randomised campaigns in the shape messaging platforms export: a message log with a holdout
group, and the transaction log. They become the one-row-per-customer table of
:mod:`retention_sim.calibration.experiment`, so the fit is the same either way.

The **message log** has one row per message sent (a customer may have several) and one per
member of the holdout group: the customer, the day, and the arm (the variant's name, or the
holdout's). A holdout row may leave the day blank; it then counts from the campaign's first
send. Each customer belongs to one arm. Their **send day** ``d0`` is the first day in their
rows.

From the **transaction log** (read by
:func:`~retention_sim.calibration.transactions.read_transactions`, same-day purchases merged),
for each customer of the message log:

- outcomes of the window of ``W`` days from the send day, ``d0 … d0 + W − 1`` (exports give
  days, not times, so a purchase on the send day counts): ``conversion`` (any purchase, 0/1)
  and ``spend`` (their total);
- pre-period features from the purchases before ``d0``: ``recency_days`` (days since the last
  one), ``frequency`` and ``monetary`` (purchase days and spend in the ``lookback_days``
  before ``d0``), ``tenure_days`` (days since the first), ``prior_buyer`` (0/1). A customer
  with no purchase before ``d0`` has ``frequency = monetary = tenure_days = 0`` and
  ``recency_days`` = the days from the log's first date to ``d0``, plus one (longer than
  anyone's who bought).

The window must end by the log's last date, or the last days of the campaign would count as
no purchase: that is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .experiment import Experiment, experiment_from_table
from .tables import lines, missing_column_error, read_csv_text
from .transactions import TransactionLog, parse_dates, read_transactions

__all__ = ["LOG_FEATURES", "campaign_table", "experiment_from_logs"]

#: The pre-period features derived from the transaction log.
LOG_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "prior_buyer",
)


def _read_messages(
    path: Path, customer_col: str, date_col: str, arm_col: str, control: str, date_format
) -> pd.DataFrame:
    """One row per customer: ``customer_id``, ``arm``, ``send_day`` (checked)."""
    src = str(path)
    raw = read_csv_text(path)
    raw.columns = [str(c).strip() for c in raw.columns]
    columns = list(raw.columns)
    for role, name, option in (
        ("customer", customer_col, "--message-customer-col"),
        ("date", date_col, "--message-date-col"),
        ("arm", arm_col, "--arm-col"),
    ):
        if name not in columns:
            raise missing_column_error(src, role, name, option, columns)
    line_no = np.arange(len(raw)) + 2
    cust = raw[customer_col].str.strip()
    arm = raw[arm_col].str.strip()
    text = raw[date_col].str.strip()
    for col, v in ((customer_col, cust), (arm_col, arm)):
        blank = (v == "").to_numpy()
        if blank.any():
            raise InputError(f"column {col!r}: blank value on {lines(blank, line_no)}", source=src)
    if len(raw) == 0:
        raise InputError("the message log has a header but no rows", source=src)
    if not (arm == control).any():
        raise InputError(
            f"control arm {control!r} (--control) is not in column {arm_col!r}; it has "
            f"{', '.join(map(repr, sorted(arm.unique())))}",
            source=src,
        )
    dates, bad = parse_dates(text, date_format=date_format)
    undated = (text == "").to_numpy()
    wrong = bad & ~(undated & (arm == control).to_numpy())
    if wrong.any():
        what = "blank (only holdout rows may be)" if (undated & wrong).any() else "not a date"
        raise InputError(
            f"column {date_col!r}: {what} on {lines(wrong, line_no)}", source=src, field=date_col
        )
    frame = pd.DataFrame({"customer_id": cust, "arm": arm, "day": dates, "line": line_no})
    arms_per = frame.groupby("customer_id", sort=False)["arm"].nunique()
    mixed = frame["customer_id"].isin(arms_per.index[arms_per > 1]).to_numpy()
    if mixed.any():
        raise InputError(
            f"column {arm_col!r}: {int((arms_per > 1).sum())} customer(s) are in more than one "
            f"arm, on {lines(mixed, line_no)}; a randomised campaign puts each in one",
            source=src,
        )
    sent = frame.loc[frame["arm"] != control, "day"]
    if sent.isna().all():
        raise InputError(f"no dated message for any arm but {control!r}", source=src)
    frame["day"] = frame["day"].fillna(sent.min())
    return (
        frame.groupby("customer_id", sort=False)
        .agg(arm=("arm", "first"), send_day=("day", "min"), line=("line", "first"))
        .reset_index()
    )


def campaign_table(
    messages: pd.DataFrame, log: TransactionLog, *, window_days: int, lookback_days: int = 365
) -> pd.DataFrame:
    """The one-row-per-customer table of a message log's customers (see the module docstring).

    Parameters
    ----------
    messages
        One row per customer: ``customer_id``, ``arm``, ``send_day`` (a date).
    log
        The transaction log; all of it is used (its ``transactions`` and ``holdout``).
    window_days
        Length of the outcome window, from the send day.
    lookback_days
        Days before the send day that ``frequency`` and ``monetary`` count.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``arm``, ``send_day`` (ISO text), the features of
        :data:`LOG_FEATURES`, ``conversion`` and ``spend``.
    """
    tx = pd.concat([log.transactions, log.holdout], ignore_index=True)
    tx = tx.loc[tx["customer_id"].isin(messages["customer_id"])]
    d0 = messages.set_index("customer_id")["send_day"]
    t = tx.assign(lag=(tx["date"] - tx["customer_id"].map(d0)).dt.days.to_numpy())
    before = t.loc[t["lag"] < 0].groupby("customer_id")
    recent = t.loc[(t["lag"] < 0) & (t["lag"] >= -lookback_days)].groupby("customer_id")
    window = t.loc[(t["lag"] >= 0) & (t["lag"] < window_days)].groupby("customer_id")
    ids = messages["customer_id"]
    first_gap = before["lag"].min().reindex(ids)  # most negative: the first purchase
    last_gap = before["lag"].max().reindex(ids)
    span = (messages["send_day"] - log.first_date).dt.days.to_numpy() + 1
    prior = last_gap.notna().to_numpy()
    return pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "arm": messages["arm"].to_numpy(),
            "send_day": messages["send_day"].dt.strftime("%Y-%m-%d").to_numpy(),
            "recency_days": np.where(prior, -last_gap.to_numpy(), span).astype(int),
            "frequency": recent.size().reindex(ids, fill_value=0).to_numpy(),
            "monetary": recent["amount"].sum().reindex(ids, fill_value=0.0).to_numpy(),
            "tenure_days": np.where(prior, -first_gap.to_numpy(), 0).astype(int),
            "prior_buyer": prior.astype(int),
            "conversion": (window.size().reindex(ids, fill_value=0).to_numpy() > 0).astype(int),
            "spend": window["amount"].sum().reindex(ids, fill_value=0.0).to_numpy(),
        }
    )


def experiment_from_logs(
    messages: str | Path,
    transactions: str | Path,
    *,
    control: str,
    treatments: Sequence[str] | None = None,
    window_days: int,
    feature_cols: Sequence[str] = ("recency_days", "frequency", "monetary"),
    effect_cols: Sequence[str] = (),
    channel: str = "email",
    lookback_days: int = 365,
    arm_col: str = "arm",
    message_customer_col: str = "customer_id",
    message_date_col: str = "date",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    date_format: str | None = None,
    table_out: str | Path | None = None,
    allow_far_dates: bool = False,
    allow_large_amounts: bool = False,
) -> Experiment:
    """Read a message log and a transaction log as one randomised campaign.

    Parameters
    ----------
    messages, transactions
        The message log (customer, day, arm) and the transaction log (customer, day, amount).
    control, treatments, window_days, effect_cols, channel
        As for :func:`~retention_sim.calibration.experiment.read_experiment`.
    feature_cols
        Pre-period features among :data:`LOG_FEATURES` (default recency, frequency, monetary).
    lookback_days
        Days before the send that ``frequency`` and ``monetary`` count.
    arm_col, message_customer_col, message_date_col
        Columns of the message log.
    customer_col, date_col, amount_col, date_format
        Columns and date format of the transaction log (and the message log's dates).
    allow_far_dates, allow_large_amounts
        Accept the transaction log's far dates and huge amounts (see
        :func:`~retention_sim.calibration.transactions.read_transactions`).
    table_out
        If given, also write the derived table there (CSV): the one-row-per-customer file
        ``retention-sim replay`` and ``calibrate-response`` read.

    Returns
    -------
    Experiment
        The campaign, with outcome columns ``conversion`` and ``spend``.

    Raises
    ------
    InputError
        A bad or missing column in either file, a customer in two arms, a window running
        past the end of the transaction log, a bad feature name, or any problem of
        :func:`~retention_sim.calibration.experiment.read_experiment`.
    """
    if isinstance(window_days, bool) or not isinstance(window_days, (int, np.integer)):
        raise InputError(f"window_days must be a whole number of days, got {window_days!r}")
    if window_days < 1 or lookback_days < 1:
        raise InputError("window_days and lookback_days must be at least 1")
    unknown = sorted((set(feature_cols) | set(effect_cols)) - set(LOG_FEATURES))
    if unknown:
        raise InputError(
            f"--feature-cols/--effect-cols: {unknown} are not derived from the logs; choose "
            f"among {', '.join(LOG_FEATURES)}"
        )
    mpath = Path(messages)
    msgs = _read_messages(
        mpath, message_customer_col, message_date_col, arm_col, control, date_format
    )
    log = read_transactions(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        date_format=date_format,
        allow_far_dates=allow_far_dates,
        allow_large_amounts=allow_large_amounts,
    )
    end = msgs["send_day"].max() + pd.Timedelta(days=window_days - 1)
    if end > log.last_date:
        raise InputError(
            f"the window of the last send ({msgs['send_day'].max().date()} + {window_days} days) "
            f"runs to {end.date()}, past the transaction log's last day "
            f"{log.last_date.date()}: its last days would count as no purchase",
            source=log.source,
        )
    table = campaign_table(msgs, log, window_days=window_days, lookback_days=lookback_days)
    ex = experiment_from_table(
        table.astype(str),  # floats as repr: read back exactly
        source=str(mpath),
        arm_col="arm",
        control=control,
        treatments=treatments,
        window_days=window_days,
        conversion_col="conversion",
        spend_col="spend",
        feature_cols=feature_cols,
        effect_cols=effect_cols,
        channel=channel,
        files=[str(mpath), log.source],
    )
    if table_out is not None:
        from ..outputs import CSV_FLOAT_FORMAT, atomic_write_text

        atomic_write_text(table_out, table.to_csv(index=False, float_format=CSV_FLOAT_FORMAT))
    return ex
