"""Transaction logs: reading and validating one row per purchase, and per-customer histories.

A log is a CSV file with a header and at least three columns: the customer, the date of the
purchase and its amount (names configurable). Rules, applied in this order:

- **Validation.** A missing column, an empty file, a blank customer id, a date that does not
  parse, or an amount that is missing, non-numeric, infinite or negative raises one
  :class:`~retention_sim.errors.InputError` naming the file, the column and the offending
  line numbers (line 1 is the header). Zero amounts are allowed (a free order is a purchase).
  Returns and refunds (negative amounts) must be netted or removed before calibrating.
- **Implausible values** are refused next, each with an override, while reading (before any
  fitting starts), because one of them silently sets the cut-off or dominates a fit:

  - *Far dates.* With ``lo`` and ``hi`` the 1st and 99th percentiles of the rows' dates
    (dates of the log itself, so at least 98% of the rows lie between them), a date before
    ``lo - M`` or after ``hi + M``, ``M = max(2 (hi - lo), 365 days)``, is refused
    (``allow_far_dates``, ``--allow-far-dates``). A typo in the year (1900, 2100) lands years
    away from the bulk and would become the first or last date, and with it ``until`` and every
    customer's ``T``. The percentiles ignore up to 1% of the rows at each end, so the typos do
    not widen the range that judges them; the margin is twice the central span (a long log may
    have a long thin tail) and at least a year. A log whose dates fill its period (steady or
    growing trade, any simulated log) cannot trip it: its 1% tails are far shorter than twice
    the rest. An exponentially growing trade trips it only for rows dating from when it sold
    a millionth of its final rate (``e**-13.8``). Logs of fewer than 100 rows are not judged
    (the percentiles are then the first and last date). No clock is read: a simulated log may
    lie in the future, and a file is judged the same on any day.
  - *Large amounts.* With ``m`` the median and ``s = 1.4826 MAD`` the robust spread of
    ``log10`` of the positive amounts, an amount above ``10**(m + max(6, 8 s))`` (at least a
    million times the median and 8 robust standard deviations above it), or above ``1e15``
    in any case, is refused (``allow_large_amounts``, ``--allow-large-amounts``): a typo, a
    wrong unit or a sentinel such as ``1e300`` would dominate the spend fit. For lognormal
    amounts the chance of refusing a genuine row is at most ``P(Z > 8) = 6e-16`` whatever
    their spread; for ``sigma = 1.5`` (natural log, a heavy retail tail) it is
    ``P(Z > 9.2) = 1.6e-20`` a row, ``1.6e-15`` for a log of 100,000 rows.
- **Dates.** ``YYYY-MM-DD`` (ISO 8601, with or without a time of day) or ``YYYYMMDD``, or any
  ``strptime`` format given as ``date_format``. Only the calendar date is used: the time of
  day and any time zone offset are dropped (the wall-clock date as written).
- **Duplicate rows** (same customer, same timestamp, same amount) are kept by default and
  counted: they are treated as separate purchases on that day, so with the same-day rule below
  they add to that day's amount but not to the number of purchases. ``duplicates="drop"``
  removes them first.
- **Same-day purchases** of one customer are merged into one purchase whose amount is their sum
  (the convention of the BG/NBD literature and of the simulator, where a customer buys at most
  once a day). ``frequency`` therefore counts purchase *days*.
- **The cut-off** ``until`` (inclusive) splits the log into the calibration period and what
  comes after (kept as ``TransactionLog.holdout`` for validation). It must lie within the
  dates of the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from .tables import (
    AMOUNT_MAX,
    examples,
    far_dates,
    large_amounts,
    lines,
    missing_column_error,
    read_csv_text,
)

__all__ = [
    "TIME_UNITS",
    "TransactionLog",
    "read_transactions",
    "customer_histories",
    "holdout_counts",
    "parse_date",
    "parse_dates",
]

TIME_UNITS: dict[str, int] = {"day": 1, "week": 7}
"""Length of each supported time unit, in days."""


@dataclass(frozen=True)
class TransactionLog:
    """A validated transaction log, same-day purchases merged, split at ``until``.

    Attributes
    ----------
    transactions
        The calibration period: ``customer_id`` (str), ``date`` (datetime64, midnight) and
        ``amount`` (float), one row per customer and purchase day, sorted by customer and date.
    holdout
        The purchases after ``until``, in the same layout (empty when ``until`` is the last date).
    source
        Where the log came from (the file name).
    first_date, last_date
        First and last purchase date in the whole file.
    until
        The end of the calibration period (inclusive).
    rows_read
        Data rows read from the file (blank lines excluded).
    duplicate_rows
        Exact duplicate rows found (kept or dropped according to ``duplicates``).
    duplicates
        ``"keep"`` or ``"drop"``.
    same_day_merged
        Rows folded into another purchase of the same customer on the same day.
    """

    transactions: pd.DataFrame
    holdout: pd.DataFrame
    source: str
    first_date: pd.Timestamp
    last_date: pd.Timestamp
    until: pd.Timestamp
    rows_read: int
    duplicate_rows: int
    duplicates: str
    same_day_merged: int

    @property
    def n_customers(self) -> int:
        """Customers with at least one purchase up to ``until``."""
        return int(self.transactions["customer_id"].nunique())

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts about the log (counts, dates, how rows were handled)."""
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "first_date": self.first_date.date().isoformat(),
            "last_date": self.last_date.date().isoformat(),
            "until": self.until.date().isoformat(),
            "customers": self.n_customers,
            "purchase_days_until": int(len(self.transactions)),
            "purchase_days_after_until": int(len(self.holdout)),
            "duplicate_rows": self.duplicate_rows,
            "duplicates": self.duplicates,
            "same_day_rows_merged": self.same_day_merged,
        }


# ----------------------------------------------------------------------------- helpers
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def parse_dates(values: pd.Series, *, date_format: str | None) -> tuple[pd.Series, np.ndarray]:
    """Parse date strings to midnight; return the dates (NaT where unparseable) and that mask."""
    text = values.str.strip()
    if date_format is not None:
        try:
            parsed = pd.to_datetime(text, format=date_format, errors="coerce")
        except ValueError as exc:  # a bad directive is refused even with errors="coerce"
            raise InputError(f"--date-format {date_format!r} is not a date format: {exc}") from None
    elif text.str.fullmatch(r"\d{8}").all():
        parsed = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    else:
        # ISO 8601 only (ambiguous forms such as 01/02/1997 are refused, not guessed); the
        # calendar date is taken as written, whatever the time of day or offset
        iso = text.str.match(_ISO)
        parsed = pd.to_datetime(
            text.str.slice(0, 10).where(iso), format="%Y-%m-%d", errors="coerce"
        )
    parsed = pd.Series(parsed, index=values.index)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    parsed = parsed.dt.normalize()
    return parsed, parsed.isna().to_numpy()


def parse_date(text: str | Any, *, what: str = "date") -> pd.Timestamp:
    """Parse one date (``YYYY-MM-DD``, ``YYYYMMDD``, or a ``date``/``datetime``) to midnight."""
    if isinstance(text, pd.Timestamp):
        return text.normalize()
    if hasattr(text, "year") and hasattr(text, "month"):
        return pd.Timestamp(text).normalize()
    s = str(text).strip()
    fmt = "%Y%m%d" if re.fullmatch(r"\d{8}", s) else "%Y-%m-%d"
    try:
        return pd.to_datetime(s[:10] if fmt == "%Y-%m-%d" else s, format=fmt).normalize()
    except (ValueError, TypeError):
        raise InputError(f"{what} {s!r} is not a date (expected YYYY-MM-DD)") from None


# ----------------------------------------------------------------------------- outliers
def _check_outliers(
    raw: pd.DataFrame,
    line_no: np.ndarray,
    src: str,
    dates: pd.Series,
    amount: pd.Series,
    *,
    date_col: str,
    amount_col: str,
    allow_far_dates: bool,
    allow_large_amounts: bool,
) -> None:
    """Refuse far dates and large amounts, naming the lines and the option that accepts them."""
    if not allow_far_dates:
        bad, lo, hi, margin = far_dates(dates)
        if bad.any():
            raise InputError(
                f"column {date_col!r}: {int(bad.sum())} date(s) far outside the rest of the log "
                f"on {lines(bad, line_no)}: {examples(bad, raw[date_col])}; 98% of the rows are "
                f"dated {lo.date().isoformat()} to {hi.date().isoformat()}, and a date more than "
                f"{margin:,} days outside that (twice its length, at least a year) is taken for a "
                "typo: correct it, or pass --allow-far-dates if it is real",
                source=src,
            )
    if not allow_large_amounts:
        bad, median, factor = large_amounts(amount.to_numpy(dtype=float))
        if bad.any():
            cap = f"{AMOUNT_MAX:.0e}".replace("+", "")
            raise InputError(
                f"column {amount_col!r}: {int(bad.sum())} amount(s) implausibly large on "
                f"{lines(bad, line_no)}: {examples(bad, raw[amount_col])}; the median amount is "
                f"{median:.4g}, and an amount more than {factor:,.0f} times that (or above {cap}) "
                "is taken for a typo or a wrong unit: correct it, or pass --allow-large-amounts "
                "if it is real",
                source=src,
            )


# ----------------------------------------------------------------------------- reading
def _checked_values(
    raw: pd.DataFrame,
    line_no: np.ndarray,
    src: str,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    date_format: str | None,
    allow_far_dates: bool,
    allow_large_amounts: bool,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Customer ids, dates and amounts, every value checked (the first bad lines named)."""
    cust = raw[customer_col].str.strip()
    bad = (cust == "").to_numpy()
    if bad.any():
        raise InputError(
            f"column {customer_col!r}: blank customer id on {lines(bad, line_no)}", source=src
        )
    dates, bad = parse_dates(raw[date_col], date_format=date_format)
    if bad.any():
        expected = f"format {date_format!r}" if date_format else "YYYY-MM-DD or YYYYMMDD"
        raise InputError(
            f"column {date_col!r}: {int(bad.sum())} value(s) are not dates ({expected}) on "
            f"{lines(bad, line_no)}: {examples(bad, raw[date_col])}",
            source=src,
        )
    amount = pd.to_numeric(raw[amount_col].str.strip(), errors="coerce")
    bad = (~np.isfinite(amount.to_numpy(dtype=float, na_value=np.nan))) | amount.isna().to_numpy()
    if bad.any():
        decimal_comma = raw[amount_col][bad].str.strip().str.fullmatch(r"-?\d+,\d+").all()
        hint = (
            "; they look like decimal commas: write amounts with a decimal point (12.50)"
            if decimal_comma
            else ""
        )
        raise InputError(
            f"column {amount_col!r}: {int(bad.sum())} value(s) are not numbers on "
            f"{lines(bad, line_no)}: {examples(bad, raw[amount_col])}{hint}",
            source=src,
        )
    bad = (amount < 0).to_numpy()
    if bad.any():
        raise InputError(
            f"column {amount_col!r}: {int(bad.sum())} negative amount(s) on "
            f"{lines(bad, line_no)}: {examples(bad, raw[amount_col])}; returns and refunds "
            "are not purchases: net them into the original purchase or remove them",
            source=src,
        )
    _check_outliers(
        raw,
        line_no,
        src,
        dates,
        amount,
        date_col=date_col,
        amount_col=amount_col,
        allow_far_dates=allow_far_dates,
        allow_large_amounts=allow_large_amounts,
    )
    return cust, dates, amount


def read_transactions(
    path: str | Path,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    until: str | Any | None = None,
    date_format: str | None = None,
    duplicates: Literal["keep", "drop"] = "keep",
    sep: str | None = None,
    allow_far_dates: bool = False,
    allow_large_amounts: bool = False,
) -> TransactionLog:
    """Read and validate a transaction log (one row per purchase).

    Parameters
    ----------
    path
        A CSV file with a header row.
    customer_col, date_col, amount_col
        Names of the customer, date and amount columns.
    until
        Last date of the calibration period (inclusive); default: the last date in the file.
        It must lie between the first and the last date of the log.
    date_format
        A ``strptime`` format for the dates, when they are neither ISO 8601 nor ``YYYYMMDD``.
    duplicates
        ``"keep"`` (default) or ``"drop"`` exact duplicate rows (see the module docstring).
    sep
        Field separator (``None``: the one the header line uses, see :func:`.tables.detect_separator`).
    allow_far_dates, allow_large_amounts
        Accept far dates and large amounts, refused by default (rules: the module docstring).

    Returns
    -------
    TransactionLog
        The validated log, same-day purchases merged, split at ``until``.

    Raises
    ------
    InputError
        One line naming the file, the problem and the offending lines.
    """
    if duplicates not in ("keep", "drop"):
        raise ValueError("duplicates must be 'keep' or 'drop'")
    src = str(Path(path))
    raw = read_csv_text(Path(path), sep)
    columns = [str(c) for c in raw.columns]
    raw.columns = [c.strip() for c in columns]
    columns = list(raw.columns)
    for role, name, option in (
        ("customer", customer_col, "--customer-col"),
        ("date", date_col, "--date-col"),
        ("amount", amount_col, "--amount-col"),
    ):
        if name not in raw.columns:
            raise missing_column_error(src, role, name, option, columns)
    line_no = np.arange(raw.shape[0]) + 2  # line 1 is the header
    blank = (
        (raw[[customer_col, date_col, amount_col]].apply(lambda c: c.str.strip()) == "")
        .all(axis=1)
        .to_numpy()
    )
    raw, line_no = raw.loc[~blank], line_no[~blank]
    if raw.empty:
        raise InputError("the file has a header but no purchase rows", source=src)

    cust, dates, amount = _checked_values(
        raw,
        line_no,
        src,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        date_format=date_format,
        allow_far_dates=allow_far_dates,
        allow_large_amounts=allow_large_amounts,
    )
    frame = pd.DataFrame(
        {
            "customer_id": cust.to_numpy(),
            "stamp": dates.to_numpy(),
            "amount": amount.to_numpy(dtype=float),
        }
    )
    dup = frame.duplicated(keep="first").to_numpy()
    n_dup = int(dup.sum())
    if duplicates == "drop" and n_dup:
        frame = frame.loc[~dup]
    frame["date"] = frame["stamp"].dt.normalize()
    first, last = frame["date"].min(), frame["date"].max()
    if until is None:
        cut = last
    else:
        cut = parse_date(until, what="--until")
        if cut < first or cut > last:
            raise InputError(
                f"--until {cut.date().isoformat()} is outside the data, which runs from "
                f"{first.date().isoformat()} to {last.date().isoformat()}",
                source=src,
            )
    merged = (
        frame.groupby(["customer_id", "date"], sort=True, as_index=False)["amount"]
        .sum()
        .reset_index(drop=True)
    )
    same_day = len(frame) - len(merged)
    early = merged["date"] <= cut
    return TransactionLog(
        transactions=merged.loc[early].reset_index(drop=True),
        holdout=merged.loc[~early].reset_index(drop=True),
        source=src,
        first_date=first,
        last_date=last,
        until=cut,
        rows_read=int(raw.shape[0]),
        duplicate_rows=n_dup,
        duplicates=duplicates,
        same_day_merged=int(same_day),
    )


# ----------------------------------------------------------------------------- histories
def customer_histories(log: TransactionLog, *, time_unit: str = "week") -> pd.DataFrame:
    """Each customer's history at ``log.until``: the inputs of the BG/NBD, Pareto/NBD and
    gamma–gamma models, and the raw RFM quantities.

    Parameters
    ----------
    log
        A log from :func:`read_transactions`.
    time_unit
        ``"day"`` or ``"week"``: the unit of ``recency`` and ``T``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id``, with ``first_purchase``, ``last_purchase`` (dates),
        ``frequency`` (repeat purchase days ``x``), ``recency`` (``t_x``: last minus first
        purchase), ``T`` (``until`` minus first purchase), ``n_purchases`` (``x + 1``),
        ``spend_total``, ``first_amount``, ``monetary_value`` (mean of the repeat purchases,
        the gamma–gamma ``z̄``; 0 when ``x = 0``), ``average_order_value`` (mean of all
        purchases) and ``days_since_last_purchase``.
    """
    if time_unit not in TIME_UNITS:
        raise InputError(f"time unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}")
    unit = float(TIME_UNITS[time_unit])
    tx = log.transactions
    g = tx.groupby("customer_id", sort=True)
    first = g["date"].min()
    last = g["date"].max()
    n = g.size()
    total = g["amount"].sum()
    first_amount = g["amount"].first()
    x = n - 1
    repeat_total = total - first_amount
    out = pd.DataFrame(
        {
            "first_purchase": first,
            "last_purchase": last,
            "frequency": x.astype(np.int64),
            "recency": (last - first).dt.days / unit,
            "T": (log.until - first).dt.days / unit,
            "n_purchases": n.astype(np.int64),
            "spend_total": total,
            "first_amount": first_amount,
            "monetary_value": np.where(x > 0, repeat_total / np.maximum(x, 1), 0.0),
            "average_order_value": total / n,
            "days_since_last_purchase": (log.until - last).dt.days.astype(np.int64),
        }
    )
    out.index.name = "customer_id"
    ids = out.index.to_series()
    if ids.str.fullmatch(r"\d{1,18}").all():  # numeric ids: numeric order, not string order
        out = out.iloc[np.argsort(ids.astype(np.int64).to_numpy(), kind="stable")]
    return out


def holdout_counts(
    log: TransactionLog,
    customers: pd.Index,
    *,
    start: str | Any | None = None,
    end: str | Any | None = None,
) -> pd.Series:
    """Purchase days of each customer after ``log.until`` (from ``start`` to ``end``, inclusive).

    Parameters
    ----------
    log
        A log from :func:`read_transactions`.
    customers
        The customers to count for (customers without purchases get 0).
    start
        First date counted; default: the day after ``log.until``.
    end
        Last date counted; default: the end of the log.
    """
    h = log.holdout
    if start is not None:
        h = h.loc[h["date"] >= parse_date(start, what="start")]
    if end is not None:
        h = h.loc[h["date"] <= parse_date(end, what="end")]
    counts = h.groupby("customer_id").size()
    return counts.reindex(customers, fill_value=0).astype(np.int64).rename("holdout_purchases")
