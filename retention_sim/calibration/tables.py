"""Reading the user's CSV tables (transaction logs, experiments): every cell as text, error
messages that name the file, the column and the first offending lines, and the rules for
implausible dates and amounts (explained in :mod:`retention_sim.calibration.transactions`)."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["read_csv_text", "detect_separator", "SEPARATORS", "lines", "examples"]
__all__ += ["missing_column_error", "far_dates", "large_amounts", "AMOUNT_MAX"]

_MAX_LISTED = 5  # offending lines quoted in one error message
#: The field separators recognised in a header line, by name.
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def detect_separator(p: Path) -> str:
    """The separator of ``p``'s header line: whichever of :data:`SEPARATORS` it holds most
    often (a comma when it holds none, e.g. a one-column file). Quoted names are skipped."""
    import gzip

    opener = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rt", encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return ","
    unquoted = "".join(header.split('"')[::2])
    counts = {s: unquoted.count(s) for s in SEPARATORS}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def read_csv_text(p: Path, sep: str | None = None) -> pd.DataFrame:
    """Every cell as text (nothing guessed), or one line saying why the file is unreadable.

    ``sep=None`` takes the separator from the header line (:func:`detect_separator`), so a
    semicolon-, tab- or pipe-separated export reads as well as a comma-separated one."""
    src = str(p)
    if p.is_dir():
        raise InputError("is a folder, not a file; give the CSV file itself", source=src)
    if not p.is_file():
        raise InputError("file not found", source=src)
    if sep is None:
        sep = detect_separator(p)
    try:
        return pd.read_csv(
            p,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8",
        )
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty (no header, no rows)", source=src) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=src) from None
    except pd.errors.ParserError as exc:
        msg = " ".join(str(exc).split())
        raise InputError(f"not a valid CSV table: {msg}", source=src) from None


def lines(mask: np.ndarray, line_no: np.ndarray) -> str:
    """``"lines 3, 7 and 2 more"``: the first offending line numbers."""
    bad = line_no[mask]
    shown = ", ".join(str(int(v)) for v in bad[:_MAX_LISTED])
    more = f" and {bad.size - _MAX_LISTED} more" if bad.size > _MAX_LISTED else ""
    return f"line{'s' if bad.size > 1 else ''} {shown}{more}"


def examples(mask: np.ndarray, values: pd.Series) -> str:
    """The first three offending values, quoted."""
    vals = values.to_numpy()[mask][:3]
    return ", ".join(repr(str(v)) for v in vals)


def missing_column_error(
    path: str, role: str, name: str, option: str, columns: list[str]
) -> InputError:
    """A missing column, with the columns the file has and the closest name."""
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in columns], n=1, cutoff=0.6)
    hint = ""
    if close:
        original = next(c for c in columns if c.lower() == close[0])
        hint = f"; did you mean {original!r}?"
    return InputError(
        f"missing {role} column {name!r} (choose it with {option}); the file has columns "
        f"{', '.join(repr(c) for c in columns)}{hint}",
        source=path,
    )


# ----------------------------------------------------------------------------- outliers
_DATE_QUANTILES = (0.01, 0.99)  # the bulk of the log: 98% of its rows
_DATE_SPAN_FACTOR, _DATE_MIN_MARGIN_DAYS = 2.0, 365
_AMOUNT_MIN_DECADES, _AMOUNT_ROBUST_SIGMAS = 6.0, 8.0
#: An amount above this is refused whatever the rest of the log (see :func:`large_amounts`).
AMOUNT_MAX = 1e15


def far_dates(dates: pd.Series) -> tuple[np.ndarray, pd.Timestamp, pd.Timestamp, int]:
    """Rows dated far outside the bulk of the log (the rule: the ``transactions`` docstring).

    Returns
    -------
    tuple
        The mask of far dates, the 1st and 99th percentile dates and the margin in days.
    """
    day = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    lo, hi = (int(np.quantile(day, q, method="inverted_cdf")) for q in _DATE_QUANTILES)
    margin = max(int(np.ceil(_DATE_SPAN_FACTOR * (hi - lo))), _DATE_MIN_MARGIN_DAYS)
    as_date = lambda d: pd.Timestamp(np.datetime64(d, "D"))  # noqa: E731
    return (day < lo - margin) | (day > hi + margin), as_date(lo), as_date(hi), margin


def large_amounts(amount: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Amounts implausibly far above the rest (the rule: the ``transactions`` docstring).

    Returns
    -------
    tuple
        The mask of large amounts, the median positive amount (geometric middle) and the
        factor above it that is refused (``nan`` and ``inf`` when no amount is positive).
    """
    positive = amount[amount > 0]
    if positive.size == 0:
        return amount > AMOUNT_MAX, float("nan"), float("inf")
    logs = np.log10(positive)
    centre = float(np.median(logs))
    spread = 1.4826 * float(np.median(np.abs(logs - centre)))
    decades = max(_AMOUNT_MIN_DECADES, _AMOUNT_ROBUST_SIGMAS * spread)
    limit = min(10.0 ** (centre + decades), AMOUNT_MAX)
    return amount > limit, 10.0**centre, 10.0**decades
