"""The retention-sim command line: simulate, compare and sweep contact policies, calibrate from
transaction logs, render reports, time the engine.

Every sub-command turns bad input into one line on standard error and exit status 2; nothing
already written is removed. Each command group lives in its own module and adds its
sub-commands with ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import InputError
from . import bench, calibration, optimise, pilot, report, robustness, run, store, study
from .args import EXIT_BAD_INPUT, Parser, check_writable_dir

__all__ = ["main", "build_parser", "os_error_line", "COMMAND_GROUPS"]

#: The command groups, in the order their commands appear in ``retention-sim --help``.
COMMAND_GROUPS = (run, study, optimise, pilot, robustness, calibration, report, store, bench)


def build_parser() -> Parser:
    """The argument parser of ``retention-sim``, every command group registered."""
    p = Parser(prog="retention-sim", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"retention-sim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return p


#: Commands whose output option names a file (its folder is checked), not a folder.
_FILE_OUTPUTS = {"calibrate": ("out", "customers_out", "report"), "forecast": ("out",)}
_FILE_OUTPUTS |= {"calibrate-response": ("out", "report"), "bench": ("json",)}


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output place that cannot be written, before any work starts."""
    files = _FILE_OUTPUTS.get(args.command)
    if files is None:
        if getattr(args, "out", None):
            check_writable_dir(args.out)
        return
    for name in files:
        target = getattr(args, name, None)
        if target:
            if Path(target).is_dir():
                raise InputError("is a folder; give a file name", source=target)
            check_writable_dir(Path(target).parent)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``retention-sim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    terminated: list[int] = []
    with _sigterm_as_interrupt(terminated), warnings.catch_warnings():
        warnings.showwarning = _warning_line
        try:
            _check_outputs(args)
            return int(args.func(args) or 0)
        except InputError as exc:
            print(f"retention-sim: error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print("retention-sim: interrupted; files already written are kept", file=sys.stderr)
            return EXIT_TERMINATED if terminated else 130
        except OSError as exc:
            print(f"retention-sim: error: {os_error_line(exc)}", file=sys.stderr)
            return EXIT_BAD_INPUT


#: Exit status after SIGTERM (128 + 15, as a shell reports it).
EXIT_TERMINATED = 143


@contextlib.contextmanager
def _sigterm_as_interrupt(terminated: list[int]) -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while a command runs: the pool is stopped, finished runs are
    recorded in their manifest and nothing written is removed (the default SIGTERM would skip
    every cleanup). The previous handler is restored afterwards."""

    def stop(signum: int, frame: Any) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _warning_line(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
    """Show a warning as one line, ``retention-sim: warning: ...`` (no file, line or source)."""
    print(f"retention-sim: warning: {message}", file=sys.stderr)


def os_error_line(exc: OSError) -> str:
    """``"FILE: problem"`` for a file's error, the problem alone otherwise (a Dask scheduler
    that cannot be reached has no file)."""
    problem = " ".join(str(exc.strerror or exc).split())
    return f"{exc.filename}: {problem}" if exc.filename else problem
