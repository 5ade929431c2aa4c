"""Robustness of a verdict: does the candidate still win in other plausible worlds?

:func:`robustness` samples ``draws`` worlds from ranges of uncertain scenario parameters (fatigue
sensitivity, response rates, churn hazards, ...), runs candidate and baseline in every world with
the same replications and seeds (paired), and reports

- the share of worlds in which the candidate beats the baseline on the objective (the mean paired
  difference over the world's replications is on the better side of zero), with a Wilson 95%
  interval for the sampling of worlds, and
- how sensitive the verdict is to each parameter: the Spearman rank correlation between the
  parameter's value and the paired difference across worlds; the parameter with the largest
  absolute correlation is named the most influential.

Sampling
    Latin hypercube on the unit cube (one stratum per draw and dimension, a random permutation
    per dimension, a uniform jitter inside each stratum), scaled to the ranges. The generator is
    seeded by ``SeedSequence([seed, 0x524F42])`` (``"ROB"``), so the worlds depend on the seed
    only, never on global random state. Fields whose value is an integer in the scenario are
    rounded.

Seeds
    Replication ``k`` uses ``replication_seed(seed, k)`` in *every* world, so worlds differ by
    their parameters and not by their luck, which sharpens the sensitivity estimates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.policy import Policy
from ..config.scenario import Scenario
from ..errors import InputError
from . import statistics as st
from .design import (
    Arm,
    check_common,
    resolve_policies,
    resolve_scenario,
    run_arms,
)
from .execution import Backend, Runner
from .metrics import LOWER_IS_BETTER, format_metric, metric_index, metric_label
from .store import ResultStore
from .sweep import parse_field

__all__ = ["Robustness", "robustness", "latin_hypercube"]

_SAMPLING_KEY = 0x524F42


def latin_hypercube(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of a Latin hypercube in ``[0, 1)^d``.

    Parameters
    ----------
    n
        Number of points (one per stratum of every dimension).
    d
        Number of dimensions.
    rng
        The generator to draw from.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, d)``.
    """
    u = np.empty((n, d))
    for j in range(d):
        u[:, j] = (rng.permutation(n) + rng.random(n)) / n
    return u


@dataclass(frozen=True)
class Robustness:
    """The outcome of :func:`robustness`.

    Attributes
    ----------
    worlds
        One row per sampled world: ``world``, each uncertain parameter, ``baseline`` and
        ``candidate`` (objective means over the world's replications), ``difference`` (mean paired
        difference candidate − baseline) and ``better`` (candidate better in this world).
    sensitivity
        One row per parameter: ``parameter``, ``low``, ``high`` (its range), ``spearman`` (rank
        correlation with the difference), ``p_value``, ``flips_at`` (where a straight-line fit
        of the difference on the parameter crosses zero inside its range, else NaN); sorted by
        ``|spearman|``, largest first.
    share_better
        Share of worlds in which the candidate is better.
    share_low, share_high
        Wilson 95% interval of that share (uncertainty from the finite number of worlds).
    most_influential
        The parameter with the largest absolute rank correlation (``None`` if none could be
        computed, e.g. the difference never varies).
    candidate, baseline, objective
        What was compared, on which metric.
    replications
        Paired replications per world.
    text
        The result in plain English.
    """

    worlds: pd.DataFrame
    sensitivity: pd.DataFrame
    share_better: float
    share_low: float
    share_high: float
    most_influential: str | None
    candidate: str
    baseline: str
    objective: str
    replications: int
    text: str

    def __str__(self) -> str:
        return self.text


def _check_uncertain(
    scenario: Scenario, uncertain: Mapping[str, Sequence[float]]
) -> list[tuple[str, str, float, float, bool]]:
    if not isinstance(uncertain, Mapping) or not uncertain:
        raise InputError("uncertain must map at least one scenario field to a (low, high) range")
    data = scenario.model_dump(mode="json")
    out = []
    for key, rng in uncertain.items():
        target, path = parse_field(key)
        if target == "policy":
            raise InputError(f"{key!r}: uncertain parameters are scenario fields, not policy ones")
        node: Any = data
        for k in path.split("."):
            if isinstance(node, dict) and k in node:
                node = node[k]
            elif isinstance(node, list) and k.isdigit() and int(k) < len(node):
                node = node[int(k)]
            else:
                raise InputError(f"no such scenario field {path!r}", field=path)
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            raise InputError(f"scenario field {path!r} is not a number", field=path)
        try:
            low, high = (float(x) for x in rng)
        except (TypeError, ValueError):
            raise InputError(f"{key!r}: the range must be two numbers (low, high)") from None
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise InputError(f"{key!r}: need finite low <= high, got ({low}, {high})")
        out.append((key, path, low, high, isinstance(node, int)))
    return out


def _sample_worlds(
    scenario: Scenario, params: list[tuple[str, str, float, float, bool]], draws: int, seed: int
) -> tuple[np.ndarray, list[Scenario]]:
    """The uncertain parameters' values in each world (a Latin hypercube) and the worlds."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _SAMPLING_KEY]))
    u = latin_hypercube(draws, len(params), rng)
    values = np.empty_like(u)
    worlds = []
    for w in range(draws):
        over: dict[str, Any] = {}
        for j, (_key, path, low, high, is_int) in enumerate(params):
            v = low + u[w, j] * (high - low)
            if is_int:
                v = int(round(v))
            values[w, j] = v
            over[path] = v
        worlds.append(scenario.with_overrides(over))
    return values, worlds


def _sensitivity(
    params: list[tuple[str, str, float, float, bool]], values: np.ndarray, diff: np.ndarray
) -> pd.DataFrame:
    """Spearman rank correlation of each parameter with the difference, largest first."""
    rows = []
    for j, p in enumerate(params):
        x = values[:, j]
        if np.ptp(x) == 0 or np.ptp(diff) == 0:
            rho, pv = math.nan, math.nan
        else:
            from scipy.stats import spearmanr  # imported here: scipy.stats is slow to load

            res = spearmanr(x, diff)
            rho, pv = float(res.statistic), float(res.pvalue)
        rows.append(
            {
                "parameter": p[0],
                "low": p[2],
                "high": p[3],
                "spearman": rho,
                "p_value": pv,
                "flips_at": _flip(x, diff, p[2], p[3]),
            }
        )
    sens = pd.DataFrame(rows)
    return (
        sens.assign(_abs=sens["spearman"].abs())
        .sort_values("_abs", ascending=False, na_position="last", kind="stable")
        .drop(columns="_abs")
        .reset_index(drop=True)
    )


def _flip(x: np.ndarray, diff: np.ndarray, low: float, high: float) -> float:
    """Where the least-squares line of the difference on ``x`` crosses zero, if inside
    ``[low, high]`` (NaN otherwise): the value at which this parameter alone would flip the
    verdict, the others held at their sampled spread."""
    if np.ptp(x) == 0 or diff.size < 3:
        return math.nan
    b, a = np.polyfit(x, diff, 1)
    if b == 0:
        return math.nan
    root = -a / b
    return float(root) if low <= root <= high else math.nan


def _describe(
    cand_name: str,
    base_name: str,
    objective: str,
    *,
    diff: np.ndarray,
    wins: int,
    draws: int,
    interval: tuple[float, float],
    replications: int,
    sens: pd.DataFrame,
    currency: str,
) -> str:
    """The result in plain English."""
    lo, hi = interval
    share = wins / draws
    lower_better = objective in LOWER_IS_BETTER
    top = sens.iloc[0] if len(sens) and not math.isnan(sens["spearman"].iloc[0]) else None
    most = str(top["parameter"]) if top is not None else None
    cur = currency
    label = metric_label(objective)
    lines = [
        f"{cand_name} beats {base_name} on {label} in {wins} of {draws} "
        f"sampled worlds ({share:.0%}; 95% interval {lo:.0%} to {hi:.0%} for the sampling of "
        f"worlds). Each world: {replications} paired replication"
        f"{'s' if replications != 1 else ''}; mean difference across worlds "
        f"{format_metric(objective, float(diff.mean()), cur, difference=True)} (range "
        f"{format_metric(objective, float(diff.min()), cur, difference=True)} to "
        f"{format_metric(objective, float(diff.max()), cur, difference=True)}).",
    ]
    if top is not None:
        direction = "better" if (top["spearman"] > 0) != lower_better else "worse"
        lines.append(
            f"The verdict is most sensitive to {most} (Spearman rank correlation "
            f"{top['spearman']:+.2f} with the difference): the higher it is, the {direction} "
            f"{cand_name} does against {base_name}."
        )
        flips = top["flips_at"]
        if not math.isnan(flips):
            lines.append(
                f"On a straight-line fit across the worlds, the verdict flips at {most} ≈ "
                f"{flips:.4g} (its range {top['low']:.4g} to {top['high']:.4g})."
            )
        else:
            lines.append(
                f"Within its range ({top['low']:.4g} to {top['high']:.4g}) no flip is seen."
            )
        for r in sens.iloc[1:].to_dict("records"):
            if not math.isnan(r["spearman"]):
                tail = "" if math.isnan(r["flips_at"]) else f"; flips at ≈ {r['flips_at']:.4g}"
                lines.append(f"  {r['parameter']}: rank correlation {r['spearman']:+.2f}{tail}")
    else:
        lines.append("No parameter's influence could be measured (the difference did not vary).")
    return "\n".join(lines)


def _check_sizes(draws: Any, replications: Any) -> None:
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 3:
        raise InputError(f"draws must be a whole number of at least 3, got {draws!r}")
    if isinstance(replications, bool) or not isinstance(replications, (int, np.integer)):
        raise InputError(f"replications must be a whole number, got {replications!r}")
    if replications < 1:
        raise InputError(f"replications must be at least 1, got {replications}")


def robustness(
    scenario: Scenario | str | Path,
    candidate: Policy | str | Path | None,
    baseline: Policy | str | Path | None,
    uncertain: Mapping[str, Sequence[float]],
    *,
    draws: int = 20,
    replications: int = 2,
    seed: int = 0,
    customers: int | None = None,
    days: int | None = None,
    objective: str = "profit",
    backend: Backend = "processes",
    workers: int | None = None,
    dask: str | None = None,
    out: str | Path | None = None,
    progress: bool = True,
) -> Robustness:
    """Share of plausible worlds in which the candidate beats the baseline, and why.

    Parameters
    ----------
    scenario
        The reference scenario (or a scenario file); each world overrides the uncertain fields.
    candidate, baseline
        Policies or policy files (``None``: no contact).
    uncertain
        ``{scenario field: (low, high)}``, e.g. ``{"responses.fatigue_open_sensitivity": (0.2,
        1.0), "churn.causes.indifference.annual_probability": (0.05, 0.2)}``.
    draws
        Number of sampled worlds (at least 3, for rank correlations).
    replications
        Paired replications per world (at least 1); the same seeds in every world.
    seed
        Seeds the sampling of worlds and the replications.
    customers, days, objective, backend, workers, dask, out, progress
        As in :func:`~retention_sim.study.comparison.compare`.

    Returns
    -------
    Robustness
        Per-world results, the share of worlds won with its interval, and the sensitivity table.
    """
    scenario = resolve_scenario(scenario)
    pols = resolve_policies([candidate, baseline], scenario)
    (cand_name, cand), (base_name, base) = pols.items()
    _check_sizes(draws, replications)
    check_common(2, seed, customers, days)  # seed, customers and days
    metric_index(objective)
    params = _check_uncertain(scenario, uncertain)

    values, worlds = _sample_worlds(scenario, params, int(draws), seed)
    arms = [
        Arm(
            name,
            sc,
            pol,
            point=w,
            extra={"robustness_world": {p[0]: values[w, j] for j, p in enumerate(params)}},
        )
        for w, sc in enumerate(worlds)
        for name, pol in ((cand_name, cand), (base_name, base))
    ]
    store = ResultStore(out) if out is not None else None
    with Runner(backend, workers=workers, dask=dask, progress=progress) as runner:
        results, _computed, _loaded = run_arms(
            runner, store, arms, range(replications), seed=seed, customers=customers, days=days
        )

    obj = np.full((2, int(draws), replications), np.nan)
    for r in results:
        which = 0 if r["policy"] == cand_name else 1
        obj[which, r["point"], r["replication"]] = r["metrics"][objective]
    cand_mean = obj[0].mean(axis=1)
    base_mean = obj[1].mean(axis=1)
    diff = (obj[0] - obj[1]).mean(axis=1)
    lower_better = objective in LOWER_IS_BETTER
    better = diff < 0 if lower_better else diff > 0

    frame = pd.DataFrame({"world": np.arange(int(draws))})
    for j, p in enumerate(params):
        frame[p[0]] = values[:, j]
    frame["baseline"] = base_mean
    frame["candidate"] = cand_mean
    frame["difference"] = diff
    frame["better"] = better

    sens = _sensitivity(params, values, diff)
    top = sens.iloc[0] if len(sens) and not math.isnan(sens["spearman"].iloc[0]) else None
    most = str(top["parameter"]) if top is not None else None

    wins = int(better.sum())
    share = wins / int(draws)
    lo, hi = st.wilson_interval(wins, int(draws))
    text = _describe(
        cand_name,
        base_name,
        objective,
        diff=diff,
        wins=wins,
        draws=int(draws),
        interval=(lo, hi),
        replications=replications,
        sens=sens,
        currency=scenario.economics.currency,
    )
    return Robustness(
        worlds=frame,
        sensitivity=sens,
        share_better=share,
        share_low=lo,
        share_high=hi,
        most_influential=most,
        candidate=cand_name,
        baseline=base_name,
        objective=objective,
        replications=replications,
        text=text,
    )
