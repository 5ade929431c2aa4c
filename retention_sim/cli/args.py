"""Argument types and the option groups several commands share, so options never drift apart.

Every type raises :class:`argparse.ArgumentTypeError`, which the parser turns into one line and
exit status 2.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ..errors import InputError, did_you_mean

__all__ = [
    "EXIT_BAD_INPUT",
    "check_writable_dir",
    "HelpFormatter",
    "Parser",
    "nonneg_int",
    "pos_int",
    "pos_float",
    "policy_arg",
    "parse_guardrail_options",
    "add_size_options",
    "add_study_options",
    "add_guardrail_option",
    "add_execution_options",
    "add_runner_options",
    "runner_kwargs",
    "guardrails_from_args",
    "share_arg",
]

EXIT_BAD_INPUT = 2


def check_writable_dir(path: str | Path) -> Path:
    """Make sure files can be written in the folder ``path``, before any long work starts.

    Folders that did not exist are created for the check and removed again.

    Raises
    ------
    InputError
        The folder cannot be created or written in (one line naming it and why).
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError("is a file, not a folder; give a folder for the outputs", source=p)
    missing = [d for d in (p, *p.parents) if not d.exists()]
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"cannot write outputs here: {exc.strerror or exc}", source=p) from None
    finally:
        for d in missing:  # deepest first: leave no empty folder behind a refused command
            try:
                d.rmdir()
            except OSError:
                break
    return p


class HelpFormatter(argparse.HelpFormatter):
    """Plain-text help: every option's default shown (unless its help already gives it), and
    docstring markup (````x````) printed as plain text."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is argparse.SUPPRESS or "default" in text.lower():
            return text
        if not action.option_strings or action.required or action.nargs == 0:
            return text
        if action.default is None or action.default == [] or action.default == "":
            return text + " (default: none)"
        return text + " (default: %(default)s)"

    def _format_text(self, text: str) -> str:
        return super()._format_text(text.replace("``", ""))

    def _expand_help(self, action: argparse.Action) -> str:
        return super()._expand_help(action).replace("``", "")


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2, like every bad input,
    and whose help is plain text with every default shown (:class:`HelpFormatter`)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        hit = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if hit:  # a mistyped command or choice: say which one was meant
            choices = re.findall(r"'([^']*)'", hit.group(2)) or hit.group(2).split(", ")
            message += did_you_mean(hit.group(1), choices)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def nonneg_int(text: str) -> int:
    """A whole number ≥ 0."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {v}")
    return v


def pos_int(text: str) -> int:
    """A whole number ≥ 1."""
    v = nonneg_int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def pos_float(text: str) -> float:
    """A finite number > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def policy_arg(path: str) -> str | None:
    """``none`` means no marketing contact at all; anything else is a policy file."""
    return None if path.strip().lower() == "none" else path


def parse_guardrail_options(items: Sequence[str] | None) -> dict[str, Any]:
    """``METRIC=LIMIT`` (upper limit on the candidate's mean), ``METRIC=increase:LIMIT`` or
    ``METRIC=off`` (``None``: drop that default guardrail)."""
    out: dict[str, Any] = {}
    for item in items or []:
        metric, sep, limit = item.partition("=")
        if not sep or not metric.strip() or not limit.strip():
            raise InputError(f"--guardrail expects METRIC=LIMIT, got {item!r}")
        if limit.strip().lower() == "off":
            out[metric.strip()] = None
            continue
        kind = "max"
        if limit.strip().startswith("increase:"):
            kind, limit = "max_increase", limit.strip()[len("increase:") :]
        try:
            value = float(limit)
        except ValueError:
            raise InputError(f"--guardrail {item!r}: the limit must be a number") from None
        out[metric.strip()] = value if kind == "max" else {"max_increase": value}
    return out


def add_size_options(p: argparse.ArgumentParser, *, allow_empty_base: bool = False) -> None:
    """``--customers``, ``--days`` and ``--seed``: the size and luck of a run or a study."""
    kind = nonneg_int if allow_empty_base else pos_int
    p.add_argument("--customers", type=kind, help="size of the starting base (default: scenario)")
    p.add_argument("--days", type=pos_int, help="horizon in days (default: scenario)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed (default 0)")


def add_guardrail_option(p: argparse.ArgumentParser, *, min_effect: bool = True) -> None:
    """``--guardrail METRIC=LIMIT`` (repeatable), ``--no-default-guardrails``, ``--min-effect``."""
    from ..study.guardrails import DEFAULT_GUARDRAILS, DEFAULT_MIN_EFFECT

    defaults = ", ".join(f"{k}={v:g}" for k, v in DEFAULT_GUARDRAILS.items())
    p.add_argument(
        "--guardrail",
        action="append",
        metavar="METRIC=LIMIT",
        help="upper limit on a candidate's mean, held only if its 95%% upper bound is inside "
        "(METRIC=increase:X limits the increase over the baseline; METRIC=off drops a default); "
        f"repeat; added to the defaults ({defaults})",
    )
    p.add_argument(
        "--no-default-guardrails",
        action="store_true",
        help="start from no guardrails instead of the defaults",
    )
    if not min_effect:
        return
    p.add_argument(
        "--min-effect",
        type=share_arg,
        default=DEFAULT_MIN_EFFECT,
        metavar="SHARE",
        help="smallest change that matters, as a share of the baseline: 1%% or 0.01 "
        f"(default {100 * DEFAULT_MIN_EFFECT:g}%%; 0 turns the near-tie rule off)",
    )


def guardrails_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The guardrails a judging command applies: the defaults (unless
    ``--no-default-guardrails``) with every ``--guardrail`` on top, validated."""
    from ..study.guardrails import merge_guardrails

    return merge_guardrails(
        parse_guardrail_options(args.guardrail), defaults=not args.no_default_guardrails
    )


def share_arg(text: str) -> float:
    """``1%`` or ``0.01`` → 0.01 (a non-negative share)."""
    t = text.strip()
    scale = 100.0 if t.endswith("%") else 1.0
    try:
        v = float(t.rstrip("%")) / scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a share such as 1% or 0.01, got {text!r}"
        ) from None
    if not 0 <= v < 1e6 or v != v:
        raise argparse.ArgumentTypeError(f"must be a non-negative share, got {text}")
    return v


def add_study_options(p: argparse.ArgumentParser, *, replications: int) -> None:
    """The options of every command that runs replications of policies."""
    p.add_argument(
        "-r",
        "--replications",
        type=pos_int,
        default=replications,
        help=f"replications per arm (default {replications})",
    )
    add_size_options(p)
    add_execution_options(p)


def add_execution_options(p: argparse.ArgumentParser) -> None:
    """``--objective``, then the runner options (:func:`add_runner_options`)."""
    p.add_argument("--objective", default="profit", help="metric to improve (default profit)")
    add_runner_options(p)


def add_runner_options(p: argparse.ArgumentParser) -> None:
    """``--backend``, ``--workers``, ``--dask``, ``--no-progress``: where runs execute."""
    p.add_argument(
        "--backend",
        choices=("serial", "processes", "dask"),
        default="processes",
        help="where runs execute (default: a local process pool)",
    )
    p.add_argument("--workers", type=pos_int, help="worker processes (default: one per core)")
    p.add_argument(
        "--dask", metavar="local|ADDRESS", help="run on Dask: 'local' or tcp://host:8786"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def runner_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of a study function that :func:`add_runner_options` parsed:
    ``backend``, ``workers``, ``dask`` and ``progress``."""
    return {
        "backend": args.backend,
        "workers": args.workers,
        "dask": args.dask,
        "progress": not args.no_progress,
    }
