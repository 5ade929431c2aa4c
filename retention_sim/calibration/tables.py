"""Reading the user's CSV tables (transaction logs, experiments): every cell as text, and error
messages that name the file, the column and the first offending lines."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["read_csv_text", "detect_separator", "SEPARATORS", "lines", "examples"]
__all__ += ["missing_column_error"]

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
