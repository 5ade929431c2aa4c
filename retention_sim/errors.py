"""The one error type users see: bad input, named by file and field."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["InputError", "ProbabilityClipWarning", "did_you_mean", "unknown"]


class InputError(ValueError):
    """Bad user input: a file, the field inside it, and what is wrong.

    The CLI prints ``str(error)`` as one line and exits with status 2.

    Parameters
    ----------
    problem
        What is wrong, in words a user can act on.
    source
        The file (or other input) the problem was found in, if any.
    field
        The dotted path of the offending field inside the file, if any.
    """

    def __init__(self, problem: str, *, source: str | Path | None = None, field: str | None = None):
        self.problem = " ".join(str(problem).split())
        self.source = str(source) if source is not None else None
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.source:
            parts.append(self.source)
        if self.field:
            parts.append(self.field)
        where = ": ".join(parts)
        return f"{where}: {self.problem}" if where else self.problem


class ProbabilityClipWarning(UserWarning):
    """A combination of parameters pushed a probability outside [0, 1]; it was clipped."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""`` if none is close."""
    close = difflib.get_close_matches(str(word), sorted(map(str, choices)), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


def unknown(what: str, word: str, choices: Iterable[str]) -> str:
    """``"unknown WHAT 'word' (did you mean 'x'?)"``, or with the known names listed when none
    is close."""
    choices = list(choices)
    hint = did_you_mean(word, choices)
    return f"unknown {what} {word!r}" + (hint or f"; known: {', '.join(map(str, choices))}")
