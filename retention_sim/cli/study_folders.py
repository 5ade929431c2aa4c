"""Studies never overwrite each other: each study's output files also live in their own folder.

A study command (``compare``, ``sweep``, ``select``, ``optimise``, ``robustness``, ``pilot``)
with ``--out DIR`` writes its files twice::

    DIR/comparison.json, ...                 the latest study on DIR (what DIR always held)
    DIR/study.json                           which study that is (written before the copies)
    DIR/studies/<command>-<id>/comparison.json, ..., study.json
                                             every study ever written to DIR, one folder each

The study *id* hashes the command and every option that defines what was studied: the content
of the scenario and policy files (a preset's name counts as its file), the seed, the sizes, the
replications, the grid, the objective and guardrails, ... Only options that cannot change a
number are left out (where to write, the backend, the workers, the progress bar). Running the
same study again replaces its own folder; a different study gets a new one, so two studies with
different policy sets on one ``--out`` both keep their results. Files found at the top of
``DIR`` that no ``study.json`` accounts for (written by an older version) are copied into
``DIR/studies/earlier-<time>/`` before they are replaced. The result store under ``DIR/runs/``
is shared by all of them, keyed by run, and safe for concurrent writers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..outputs import atomic_write_bytes, write_json

__all__ = ["keep_study", "study_identity", "study_id", "NOT_DEFINING"]

#: Options that never change a study's numbers: where and how it runs, what it prints.
NOT_DEFINING = frozenset(
    {"func", "command", "out", "backend", "workers", "dask", "progress", "no_progress"}
)


def _file_digest(value: str, kind: str) -> str:
    """The SHA-256 of the file ``value`` names (a preset's name counts as its file)."""
    from ..config.presets import resolve_preset

    if value.strip().lower() == "none":
        return "none"
    try:
        path = resolve_preset(value, kind)  # type: ignore[arg-type]
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except Exception:  # the command has already read it; keep the text if it is gone now
        return value


def study_identity(args: argparse.Namespace) -> dict[str, Any]:
    """Everything that defines what a study command studied, JSON-ready.

    The scenario and policy arguments are replaced by the digest of their file's content, so
    an edited policy file is a different study even under the same name.
    """
    ident: dict[str, Any] = {"command": args.command}
    for key, value in sorted(vars(args).items()):
        if key in NOT_DEFINING or callable(value):
            continue
        if key == "scenario" and isinstance(value, str):
            value = {"file": value, "content": _file_digest(value, "scenario")}
        elif key in ("policy", "policies") and value is not None:
            items = value if isinstance(value, list) else [value]
            value = [{"file": v, "content": _file_digest(v, "policy")} for v in items]
        ident[key] = value
    return json.loads(json.dumps(ident, default=str))


def study_id(identity: dict[str, Any]) -> str:
    """A short hash of a study's identity (the name of its folder after the command)."""
    blob = json.dumps(identity, sort_keys=True).encode()
    return f"{identity['command']}-{hashlib.sha256(blob).hexdigest()[:12]}"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _keep_unrecorded(out: Path, names: Sequence[str]) -> Path | None:
    """Copy top-level files no ``study.json`` accounts for into ``studies/earlier-<time>/``."""
    found = [out / n for n in names if (out / n).is_file()]
    if not found or (out / "study.json").is_file():
        return None
    stamp = dt.datetime.fromtimestamp(max(p.stat().st_mtime for p in found), dt.timezone.utc)
    folder = out / "studies" / f"earlier-{stamp:%Y%m%dT%H%M%S}"
    for p in found:
        atomic_write_bytes(folder / p.name, p.read_bytes())
    return folder


def keep_study(
    args: argparse.Namespace, write: Callable[[Path], Sequence[Path]]
) -> tuple[list[Path], str]:
    """Write a study's files into its own folder and copy them to the top of ``args.out``.

    Parameters
    ----------
    args
        The command's parsed arguments (``args.out`` is the output folder).
    write
        Writes the study's files into the folder it is given and returns their paths.

    Returns
    -------
    tuple
        ``(the files at the top of args.out, one line saying where this study and the one it
        replaced at the top are kept)``.
    """
    out = Path(args.out)
    identity = study_identity(args)
    sid = study_id(identity)
    folder = out / "studies" / sid
    written = list(write(folder))
    names = [p.name for p in written]
    record = {"study": sid, "written": _now(), "files": names, "identity": identity}
    write_json(folder / "study.json", record)
    earlier = _keep_unrecorded(out, names)
    try:
        previous = json.loads((out / "study.json").read_text(encoding="utf-8")).get("study")
    except (OSError, ValueError, AttributeError):
        previous = None
    # study.json first: a study stopped while it copies is then finished by its rerun, not
    # taken for files of an older version (those were kept above, before any is replaced)
    write_json(out / "study.json", record)
    top = [atomic_write_bytes(out / p.name, p.read_bytes()) for p in written]
    line = f"this study is kept in {folder}"
    if earlier is not None:
        line += f"; the files it replaced at the top are kept in {earlier}"
    elif previous and previous != sid:
        line += f"; the study it replaced at the top is kept in {out / 'studies' / previous}"
    return top, line
