"""The retention-sim command line: simulate, compare and sweep contact policies, calibrate from
transaction logs, render reports, time the engine.

Every sub-command turns bad input into one line on standard error and exit status 2; nothing
already written is removed. Each command group lives in its own module and adds its
sub-commands with ``register(subparsers)``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import InputError
from . import bench, calibration, optimise, pilot, report, robustness, run, study
from .args import EXIT_BAD_INPUT, Parser

__all__ = ["main", "build_parser", "COMMAND_GROUPS"]

#: The command groups, in the order their commands appear in ``retention-sim --help``.
COMMAND_GROUPS = (run, study, optimise, pilot, robustness, calibration, report, bench)


def build_parser() -> Parser:
    """The argument parser of ``retention-sim``, every command group registered."""
    p = Parser(prog="retention-sim", description=(__doc__ or "").split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``retention-sim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"retention-sim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("retention-sim: interrupted; files already written are kept", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"retention-sim: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
