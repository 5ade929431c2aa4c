"""``retention-sim store verify DIR``: check a result store without recomputing anything."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["register", "EXIT_DAMAGED"]

#: Exit status of ``store verify`` when at least one run is damaged.
EXIT_DAMAGED = 1


def _cmd_verify(args: argparse.Namespace) -> int:
    from ..study.store import verify_store

    root = Path(args.dir)
    if not (root / "runs").is_dir():
        what = "does not exist" if not root.exists() else "is not a result store (no runs/ folder)"
        raise InputError(what, source=args.dir)
    checked, damaged = verify_store(root)
    for bad in damaged:
        print(bad.line())
    print(
        f"result store {root}: {checked:,} run file{'s' if checked != 1 else ''} checked, "
        f"{len(damaged):,} damaged" + ("; a study on this store recomputes them" if damaged else "")
    )
    return EXIT_DAMAGED if damaged else 0


def register(sub: Any) -> None:
    """Add ``store`` (with ``store verify``)."""
    store = sub.add_parser("store", help="check a study's result store")
    actions = store.add_subparsers(
        dest="action", required=True, parser_class=type(store), help="what to do with the store"
    )
    verify = actions.add_parser(
        "verify",
        help="report every damaged run (schema, checksum, manifest) without recomputing any",
    )
    verify.add_argument("dir", help="the store's folder (a study's --out)")
    verify.set_defaults(func=_cmd_verify)
