"""Randomised campaigns: one row per customer, the arm they were assigned to, what was known
about them before, and what they did in the window after.

A randomised campaign is a message sent to some customers and held back from a random control
group (a holdout); A/B tests of several messages have several treatment arms. The file is a CSV
table (``.csv`` or ``.csv.gz``) with

- an **arm** column: the control's name and one name per treatment;
- the **outcomes** of the window: a conversion indicator (0/1, required), and optionally the
  spend in the window (≥ 0, and 0 without a conversion) and a visit or click indicator (0/1);
- **features** known before the campaign, named by the user: numeric columns (recency, past
  spend, …) or categorical ones (a channel, a region), at most 50 levels each.

Every problem is one :class:`~retention_sim.errors.InputError` naming the file, the column and
the first offending lines, raised before anything is fitted.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .tables import examples, lines, missing_column_error, read_csv_text

__all__ = ["Experiment", "Feature", "read_experiment", "experiment_from_table", "MAX_LEVELS"]

#: Most levels a categorical feature may have.
MAX_LEVELS = 50


@dataclass(frozen=True)
class Feature:
    """How one pre-period column enters the model.

    Attributes
    ----------
    name
        The column.
    kind
        ``"numeric"`` (standardised: ``(x − mean) / sd``) or ``"categorical"`` (one indicator
        per level but the first, the reference).
    mean, sd
        Standardisation of a numeric feature, from the rows it was fitted on.
    levels
        Levels of a categorical feature, the reference first.
    """

    name: str
    kind: str
    mean: float = 0.0
    sd: float = 1.0
    levels: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        """Names of the model's columns for this feature."""
        if self.kind == "numeric":
            return [self.name]
        return [f"{self.name}={level}" for level in self.levels[1:]]

    def encode(self, values: pd.Series) -> np.ndarray:
        """The feature's model columns for ``values`` (rows × columns)."""
        if self.kind == "numeric":
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            return ((x - self.mean) / self.sd)[:, None]
        v = values.astype(str).to_numpy()
        return np.stack([(v == level).astype(float) for level in self.levels[1:]], axis=1)


@dataclass
class Experiment:
    """A validated randomised campaign.

    Attributes
    ----------
    source
        The file it was read from.
    frame
        The rows (outcomes as numbers, features as read).
    arm_col, control, treatments
        The arm column, the control's name and the treatments' names (in the order given).
    window_days
        Length of the outcome window, in days.
    conversion_col, spend_col, visit_col
        The outcome columns (``spend_col`` and ``visit_col`` may be ``None``).
    feature_cols
        Pre-period columns that explain the baseline (who converts anyway).
    effect_cols
        Pre-period columns the size of the message's effect may depend on (a subset of the
        features or others).
    channel
        The channel the treatments were sent on.
    files
        The input files it was read from (one CSV, or a message log and a transaction log).
    """

    source: str
    frame: pd.DataFrame
    arm_col: str
    control: str
    treatments: list[str]
    window_days: int
    conversion_col: str
    spend_col: str | None = None
    visit_col: str | None = None
    feature_cols: list[str] = field(default_factory=list)
    effect_cols: list[str] = field(default_factory=list)
    channel: str = "email"
    files: list[str] = field(default_factory=list)

    @property
    def arms(self) -> list[str]:
        """The control, then the treatments."""
        return [self.control, *self.treatments]

    def arm_counts(self) -> dict[str, int]:
        """Customers per arm."""
        counts = self.frame[self.arm_col].value_counts()
        return {a: int(counts.get(a, 0)) for a in self.arms}

    def subset(self, rows: np.ndarray) -> Experiment:
        """The same experiment restricted to ``rows`` (positions in :attr:`frame`)."""
        frame = self.frame.iloc[np.asarray(rows)]
        return Experiment(**{**self.__dict__, "frame": frame})

    def features(self, cols: Sequence[str]) -> list[Feature]:
        """How each of ``cols`` is encoded, learnt from these rows."""
        out = []
        for c in cols:
            v = self.frame[c]
            x = pd.to_numeric(v, errors="coerce")
            if x.notna().all():
                sd = float(x.std(ddof=0))
                out.append(Feature(c, "numeric", float(x.mean()), sd if sd > 0 else 1.0))
            else:
                out.append(Feature(c, "categorical", levels=tuple(sorted(v.astype(str).unique()))))
        return out


def _pick(name: str, known: list[str], what: str, option: str, source: str) -> None:
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise InputError(
        f"{what} {name!r} ({option}) is not in the file; it has {', '.join(map(repr, known))}"
        f"{hint}",
        source=source,
    )


def _indicator(raw: pd.DataFrame, col: str, line_no: np.ndarray, src: str) -> np.ndarray:
    x = pd.to_numeric(raw[col].str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(x, (0.0, 1.0))
    if bad.any():
        raise InputError(
            f"column {col!r}: {int(bad.sum())} value(s) are not 0 or 1 on "
            f"{lines(bad, line_no)}: {examples(bad, raw[col])}",
            source=src,
        )
    return x


def _spend(raw: pd.DataFrame, col: str, conv: np.ndarray, line_no: np.ndarray, src: str):
    x = pd.to_numeric(raw[col].str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        raise InputError(
            f"column {col!r}: {int(bad.sum())} value(s) are not amounts of 0 or more on "
            f"{lines(bad, line_no)}: {examples(bad, raw[col])}",
            source=src,
        )
    bad = (x > 0) & (conv == 0)
    if bad.any():
        raise InputError(
            f"column {col!r}: spend without a conversion on {lines(bad, line_no)}",
            source=src,
        )
    return x


def _check_features(raw: pd.DataFrame, cols: Sequence[str], line_no: np.ndarray, src: str):
    for c in cols:
        v = raw[c].str.strip()
        blank = (v == "").to_numpy()
        if blank.any():
            raise InputError(f"column {c!r}: blank value on {lines(blank, line_no)}", source=src)
        numeric = pd.to_numeric(v, errors="coerce")
        if numeric.notna().all():
            bad = ~np.isfinite(numeric.to_numpy(dtype=float))
            if bad.any():
                raise InputError(
                    f"column {c!r}: infinite value on {lines(bad, line_no)}", source=src
                )
        elif v.nunique() > MAX_LEVELS:
            raise InputError(
                f"column {c!r}: {v.nunique()} different text values; a categorical feature may "
                f"have at most {MAX_LEVELS} (is it a number with a typo, or an id?)",
                source=src,
            )


def read_experiment(
    path: str | Path,
    *,
    arm_col: str,
    control: str,
    treatments: Sequence[str] | None = None,
    window_days: int,
    conversion_col: str,
    spend_col: str | None = None,
    visit_col: str | None = None,
    feature_cols: Sequence[str] = (),
    effect_cols: Sequence[str] = (),
    channel: str = "email",
    sep: str | None = None,
) -> Experiment:
    """Read and validate a randomised campaign (see the module docstring).

    Parameters
    ----------
    path
        The CSV file (``.csv`` or ``.csv.gz``).
    arm_col, control
        The arm column and the control's name in it.
    treatments
        The treatment arms to keep (default: every other arm in the file).
    window_days
        Length of the outcome window in days (at least 1).
    conversion_col, spend_col, visit_col
        Outcome columns.
    feature_cols, effect_cols
        Pre-period columns for the baseline and for the size of the effect.
    channel
        The treatments' channel.
    sep
        The field separator.

    Raises
    ------
    InputError
        A missing column, an arm that is not in the file, an empty control arm, a single arm,
        non-numeric or out-of-range outcomes, blank or unusable features.
    """
    return experiment_from_table(
        read_csv_text(Path(path), sep),
        source=str(Path(path)),
        arm_col=arm_col,
        control=control,
        treatments=treatments,
        window_days=window_days,
        conversion_col=conversion_col,
        spend_col=spend_col,
        visit_col=visit_col,
        feature_cols=feature_cols,
        effect_cols=effect_cols,
        channel=channel,
    )


def experiment_from_table(
    raw: pd.DataFrame,
    *,
    source: str,
    arm_col: str,
    control: str,
    treatments: Sequence[str] | None = None,
    window_days: int,
    conversion_col: str,
    spend_col: str | None = None,
    visit_col: str | None = None,
    feature_cols: Sequence[str] = (),
    effect_cols: Sequence[str] = (),
    channel: str = "email",
    files: Sequence[str] = (),
) -> Experiment:
    """Validate a table of text cells as a randomised campaign (what :func:`read_experiment`
    does once the file is read); ``source`` names it in errors, ``files`` are the inputs it
    was made from (default: ``source``)."""
    src = source
    if isinstance(window_days, bool) or not isinstance(window_days, (int, np.integer)):
        raise InputError(f"window_days must be a whole number of days, got {window_days!r}")
    if window_days < 1:
        raise InputError(f"window_days must be at least 1, got {window_days}")
    raw = raw.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    columns = list(raw.columns)
    needed: list[tuple[str | None, str, str]] = [
        (arm_col, "arm", "--arm-col"),
        (conversion_col, "conversion", "--conversion-col"),
    ]
    needed += [(spend_col, "spend", "--spend-col"), (visit_col, "visit", "--visit-col")]
    needed += [(c, "feature", "--feature-cols") for c in feature_cols]
    needed += [(c, "effect", "--effect-cols") for c in effect_cols]
    for name, role, option in needed:
        if name is not None and name not in columns:
            raise missing_column_error(src, role, name, option, columns)
    raw = raw.loc[~(raw.apply(lambda c: c.str.strip()) == "").all(axis=1)]
    line_no = raw.index.to_numpy() + 2  # line 1 is the header
    arms = raw[arm_col].str.strip()
    present = sorted(arms.unique())
    _pick(control, present, "control arm", "--control", src)
    chosen = [a for a in present if a != control] if treatments is None else list(treatments)
    for t in chosen:
        _pick(t, present, "treatment arm", "--treatment", src)
    if control in chosen:
        raise InputError(f"arm {control!r} is both the control and a treatment", source=src)
    if not chosen:
        raise InputError(
            f"column {arm_col!r} holds only the control arm {control!r}: an experiment needs a "
            "treatment arm too",
            source=src,
        )
    keep = arms.isin([control, *chosen]).to_numpy()
    raw, line_no, arms = raw.loc[keep], line_no[keep], arms[keep]
    frame = raw.copy()
    frame[arm_col] = arms
    frame[conversion_col] = conv = _indicator(raw, conversion_col, line_no, src)
    if visit_col is not None:
        frame[visit_col] = _indicator(raw, visit_col, line_no, src)
    if spend_col is not None:
        frame[spend_col] = _spend(raw, spend_col, conv, line_no, src)
    _check_features(raw, list(dict.fromkeys([*feature_cols, *effect_cols])), line_no, src)
    return Experiment(
        source=src,
        frame=frame.reset_index(drop=True),
        arm_col=arm_col,
        control=control,
        treatments=chosen,
        window_days=int(window_days),
        conversion_col=conversion_col,
        spend_col=spend_col,
        visit_col=visit_col,
        feature_cols=list(feature_cols),
        effect_cols=list(effect_cols),
        channel=channel,
        files=list(files) or [src],
    )
