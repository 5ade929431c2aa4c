"""Atomic output files: written to a temporary file beside the target, then renamed."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "atomic_write_text",
    "atomic_write_bytes",
    "write_json",
    "write_csv",
    "CSV_DIGITS",
    "CSV_FLOAT_FORMAT",
]

#: Significant digits of every float in an output CSV, and the format that gives them.
CSV_DIGITS = 10
CSV_FLOAT_FORMAT = f"%.{CSV_DIGITS}g"

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import (os.umask can only be read by setting it)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that no half-written file is ever visible."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.is_dir():  # name the target, not the temporary file os.replace would name
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(p))
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are ordinary files
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(p)  # a failed write (a full disk) names no file: name the target
        raise
    return p


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (keys sorted for stable diffs), atomically."""
    return atomic_write_text(
        path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    )


def write_csv(path: str | Path, frame: pd.DataFrame, *, index: bool = True) -> Path:
    """Write a DataFrame as CSV atomically, floats to :data:`CSV_DIGITS` significant digits
    (``0.744``, not ``0.74399999999999999``; money below ten billion to the unit and below)."""
    return atomic_write_text(path, frame.to_csv(index=index, float_format=CSV_FLOAT_FORMAT))
