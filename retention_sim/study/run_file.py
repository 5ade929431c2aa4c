"""The run file of the result store: its record, its checksum and its schema.

One run file holds one (policy, replication) result of a study::

    {"format": 3, "policy": ..., "policy_hash": ..., "replication": k, "seed": ...,
     "metrics": {metric: number}, "daily": {series: [number per day]},
     "groups": {kind: {group: [customers, contribution, retained, churned]}},
     "written": "2026-12-01T18:00:00+00:00", "checksum": "sha256:..."}

The **checksum** is the SHA-256 of the record's canonical JSON (keys sorted, everything but the
checksum and the time written). A file whose content no longer matches its checksum was altered
or damaged after it was written; the study's manifest records every checksum too, so a file
edited *and* re-summed by hand is caught as well (:meth:`ResultStore.load
<retention_sim.study.store.ResultStore.load>`).

The **schema** (:func:`run_problem`) asks for exactly the metrics of the catalogue, each a
number (``NaN`` allowed: a rate of an empty group), exactly the daily series of
:data:`~retention_sim.study.metrics.DAILY_SERIES`, each one number per day of the run, and
groups as ``{kind: {group: four numbers}}``. A number is a JSON number, never a string or a
boolean.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .metrics import DAILY_SERIES, METRICS

__all__ = [
    "CHECKSUM_PREFIX",
    "RESULT_FORMAT",
    "DamagedRun",
    "DamagedRunWarning",
    "check_run",
    "checksum",
    "dump",
    "read_json",
    "run_problem",
]

#: Version of the run-file layout (part of the study key).
RESULT_FORMAT = 3  # 2: runs carry their group outcomes; 3: and a checksum

CHECKSUM_PREFIX = "sha256:"
_NOT_SUMMED = ("checksum", "written")


def dump(obj: Any) -> str:
    """Canonical JSON of a run file or manifest (keys sorted; NaN and infinities kept)."""
    # run files are internal: NaN and infinities survive a round trip as JSON extensions
    return json.dumps(obj, sort_keys=True, allow_nan=True) + "\n"


def checksum(record: Mapping[str, Any]) -> str:
    """The checksum of a run record: SHA-256 of its canonical JSON without the checksum itself
    and the time written (``"sha256:<hex>"``).

    Python floats survive a JSON round trip exactly, so the checksum of a record read back from
    its file equals the checksum computed when it was written.
    """
    body = {k: v for k, v in record.items() if k not in _NOT_SUMMED}
    return CHECKSUM_PREFIX + hashlib.sha256(dump(body).encode("utf-8")).hexdigest()


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _series_problem(daily: Any, days: int | None) -> str | None:
    if not isinstance(daily, dict):
        return "'daily' is not a table of series"
    if set(daily) != set(DAILY_SERIES):
        missing = sorted(set(DAILY_SERIES) - set(daily))
        extra = sorted(set(daily) - set(DAILY_SERIES))
        what = f"misses {', '.join(missing)}" if missing else f"has unknown {', '.join(extra)}"
        return f"'daily' {what}"
    lengths = set()
    for name, values in daily.items():
        if not isinstance(values, list) or not all(_is_number(v) for v in values):
            return f"daily series {name!r} is not a list of numbers"
        lengths.add(len(values))
    if len(lengths) > 1:
        return f"the daily series have different lengths ({', '.join(map(str, sorted(lengths)))})"
    n = lengths.pop() if lengths else 0
    if days is not None and n != days:
        return f"the daily series have {n} days, the study has {days}"
    return None


def _groups_problem(groups: Any) -> str | None:
    if not isinstance(groups, dict):
        return "'groups' is not a table"
    for kind, table in groups.items():
        if not isinstance(table, dict):
            return f"group kind {kind!r} is not a table"
        for name, row in table.items():
            if not (isinstance(row, list) and len(row) == 4 and all(map(_is_number, row))):
                return f"group {kind}/{name} is not four numbers"
    return None


def run_problem(record: Any, *, days: int | None = None) -> str | None:
    """What is wrong with a run record read from a file, or ``None`` if it fits the schema.

    Parameters
    ----------
    record
        The parsed JSON of a run file.
    days
        The study's horizon (the length of every daily series), if known.

    Returns
    -------
    str or None
        One short phrase (``"metric 'profit' is not a number"``), or ``None``.
    """
    if not isinstance(record, dict):
        return "it is not a JSON object"
    if record.get("format") != RESULT_FORMAT:
        return f"its format is {record.get('format')!r}, this version writes {RESULT_FORMAT}"
    for key, kind in (("policy_hash", str), ("replication", int), ("seed", int)):
        if not isinstance(record.get(key), kind) or isinstance(record.get(key), bool):
            return f"{key!r} is missing or not a {kind.__name__}"
    metrics = record.get("metrics")
    if not isinstance(metrics, dict):
        return "'metrics' is missing or not a table"
    for name in METRICS:
        if name not in metrics:
            return f"metric {name!r} is missing"
        if not _is_number(metrics[name]):
            return f"metric {name!r} is not a number ({metrics[name]!r})"
    extra = sorted(set(metrics) - set(METRICS))
    if extra:
        return f"unknown metric {extra[0]!r}"
    if any(isinstance(v, float) and math.isinf(v) for v in metrics.values()):
        return "a metric is infinite"
    return _series_problem(record.get("daily"), days) or _groups_problem(record.get("groups", {}))


class DamagedRunWarning(UserWarning):
    """A stored run failed its checks (schema, checksum, manifest) and is recomputed."""


@dataclass(frozen=True)
class DamagedRun:
    """A run file that failed its checks: where it is, what it holds and what is wrong."""

    path: Path
    policy: str
    replication: int | None
    reason: str

    def line(self) -> str:
        """One line naming the run and the reason."""
        rep = "" if self.replication is None else f" replication {self.replication}"
        return f"{self.path}: run {self.policy}{rep} is damaged ({self.reason})"


def read_json(path: Path) -> tuple[Any, str | None]:
    """``(parsed JSON, None)``, or ``(None, reason)`` for a file that cannot be read or parsed
    (``("", None)`` when it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "", None
    except IsADirectoryError:
        return None, "it is a folder, not a file"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"it cannot be read: {getattr(exc, 'strerror', None) or exc}"
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f"it is not valid JSON: {exc}"


def check_run(
    data: Any, *, days: int | None, recorded: str | None, expect: Mapping[str, Any] | None = None
) -> str | None:
    """Why a parsed run file cannot be used, or ``None``: schema, its checksum, the manifest's
    checksum ``recorded`` and the identity fields ``expect`` (policy hash, replication, seed)."""
    problem = run_problem(data, days=days)
    if problem is not None:
        return problem
    own = data.get("checksum")
    if own != checksum(data):
        return "its content does not match its checksum" if own else "it has no checksum"
    if recorded is not None and recorded != own:
        return "its checksum differs from the one the manifest recorded"
    for key, value in (expect or {}).items():
        if data.get(key) != value:
            return f"its {key} is {data.get(key)!r}, expected {value!r}"
    return None
