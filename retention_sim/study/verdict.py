"""Verdicts: adopt, trade-off, equivalent, reject or inconclusive for each candidate against the
baseline, with the trade-offs, the guardrails and the reasons in plain English.

Every verdict opens with the candidate's change on each headline metric (profit, retention,
customers lost, unsubscribes, complaints, contact cost: absolute, % of the baseline, per
customer; :mod:`retention_sim.study.tradeoffs`). On the objective, with ``δ = min_effect ·
|baseline mean|`` and the Holm-adjusted paired interval ``[lo, hi]`` (signed so that positive
is better):

- **equivalent** when ``−δ < lo`` and ``hi < δ``: any difference is too small to matter;
- **adopt** when ``lo > 0``, every guardrail holds (its 95% upper bound is inside the limit,
  :mod:`retention_sim.study.guardrails`) and no other headline metric gets worse; a headline
  metric that is *possibly* worse (its estimate worse beyond its threshold, its interval not
  settling it) is named in the adopting sentence as a caution;
- **trade-off** when ``lo > 0`` and the guardrails hold, but another headline metric gets worse
  beyond its own threshold: the sentence that would adopt it names the loss;
- **reject** when ``hi < 0``, or a guardrail is broken (its estimate beyond the limit);
- **inconclusive** otherwise (the interval spans zero, or a guardrail is not shown to hold),
  with roughly how many replications would settle it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from . import statistics as st
from .guardrails import (
    DEFAULT_GUARDRAILS,
    DEFAULT_MIN_EFFECT,
    GuardrailCheck,
    check_guardrail,
    parse_guardrails,
)
from .metrics import LOWER_IS_BETTER, format_metric, metric_index, metric_label
from .paired import PairedStudy
from .tradeoffs import MetricChange, headline_changes

__all__ = [
    "DECISIONS",
    "GuardrailCheck",
    "Verdict",
    "parse_guardrails",
    "judge",
    "verdict_record",
]

#: Every decision a verdict can reach, and its word in capitals.
DECISIONS: dict[str, str] = {
    "adopt": "ADOPT",
    "trade-off": "TRADE-OFF",
    "equivalent": "EQUIVALENT",
    "reject": "REJECT",
    "inconclusive": "INCONCLUSIVE",
}


@dataclass(frozen=True)
class Verdict:
    """The decision on a candidate (or on several) and its reasons in plain English.

    Attributes
    ----------
    decision
        One of :data:`DECISIONS`: ``"adopt"``, ``"trade-off"``, ``"equivalent"``, ``"reject"``
        or ``"inconclusive"``.
    text
        What a strategist reads: the headline trade-offs, the objective's change with its
        interval and currency, each guardrail with its upper bound and the probability that it
        is broken, and for an inconclusive result how many replications would settle it.
    candidate
        The candidate the decision is about (for several candidates: the one to adopt or to
        weigh, or ``None``).
    baseline
        The baseline policy.
    objective
        The metric the decision is made on.
    difference, low, high
        Mean paired difference candidate − baseline on the objective and its Holm-adjusted
        interval (family-wise ``level``).
    probability_better
        Posterior probability that the candidate is better on the objective.
    guardrails
        The guardrail checks.
    replications
        Replications behind the verdict.
    replications_needed
        For ``inconclusive``: roughly how many replications in all would make the interval
        exclude zero if the mean difference stayed as estimated (``None`` otherwise, or when the
        estimated difference is zero).
    min_effect, threshold
        The practical-significance threshold as a share of the baseline, and in the objective's
        units.
    changes
        The change on every headline metric (:class:`~retention_sim.study.tradeoffs.MetricChange`).
    worse
        The headline metrics that get worse (a trade-off).
    cautions
        The headline metrics that are possibly worse: estimated worse beyond the threshold, not
        settled by the interval. An adopting sentence names them.
    by_candidate
        With several candidates: the verdict on each.
    """

    decision: str
    text: str
    candidate: str | None
    baseline: str
    objective: str
    difference: float = math.nan
    low: float = math.nan
    high: float = math.nan
    probability_better: float = math.nan
    guardrails: tuple[GuardrailCheck, ...] = ()
    replications: int = 0
    replications_needed: int | None = None
    min_effect: float = 0.0
    threshold: float = 0.0
    changes: tuple[MetricChange, ...] = ()
    worse: tuple[str, ...] = ()
    cautions: tuple[str, ...] = ()
    by_candidate: dict[str, Verdict] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text


def judge(
    study: PairedStudy,
    objective: str | None = None,
    guardrails: Mapping[str, Any] | None = None,
    *,
    candidate: str | None = None,
    min_effect: float = DEFAULT_MIN_EFFECT,
) -> Verdict:
    """Adopt, trade-off, equivalent, reject or inconclusive, with the reasons in plain English.

    See :meth:`retention_sim.study.comparison.Comparison.verdict` for the arguments and the
    module docstring for the rules. ``guardrails=None`` applies
    :data:`~retention_sim.study.guardrails.DEFAULT_GUARDRAILS`; ``{}`` applies none.
    """
    objective = objective or study.objective
    metric_index(objective)
    checks = parse_guardrails(DEFAULT_GUARDRAILS if guardrails is None else guardrails)
    if not (min_effect >= 0 and math.isfinite(min_effect)):
        raise InputError(f"min_effect must be a non-negative share, got {min_effect}")
    if not study.candidates:
        raise InputError("a verdict needs at least one candidate besides the baseline")
    if candidate is not None:
        study._check_policy(candidate)
        if candidate == study.baseline:
            raise InputError(f"{candidate!r} is the baseline, not a candidate")
        return _judge_one(study, candidate, objective, checks, min_effect)
    verdicts = {c: _judge_one(study, c, objective, checks, min_effect) for c in study.candidates}
    if len(verdicts) == 1:
        return next(iter(verdicts.values()))
    return _overall(study, objective, verdicts, min_effect)


def _overall(
    study: PairedStudy, objective: str, verdicts: dict[str, Verdict], min_effect: float
) -> Verdict:
    """One verdict over several candidates, each judged on its own."""
    sign = -1.0 if objective in LOWER_IS_BETTER else 1.0
    label = metric_label(objective)
    by: dict[str, list[Verdict]] = {d: [] for d in DECISIONS}
    for v in verdicts.values():
        by[v.decision].append(v)
    n = len(verdicts)
    chosen: str | None = None
    if by["adopt"]:
        best = max(by["adopt"], key=lambda v: sign * v.difference)
        decision, chosen = "adopt", best.candidate
        head = (
            f"Verdict: ADOPT {chosen} instead of {study.baseline} ({len(by['adopt'])} of {n} "
            f"candidates pass; {chosen} improves {label} the most)."
        )
        if best.cautions:
            words = _worse_words(best.changes, best.cautions, study.currency, may=True)
            head += f" Caution, possibly worse: {words}; the interval does not settle it."
    elif by["trade-off"]:
        best = max(by["trade-off"], key=lambda v: sign * v.difference)
        decision, chosen = "trade-off", best.candidate
        head = (
            f"Verdict: TRADE-OFF: no candidate improves {label} on {study.baseline} without "
            f"losing on another headline metric. {chosen} improves {label} the most, at a "
            f"cost: {_worse_words(best.changes, best.worse, study.currency)}."
        )
    elif len(by["reject"]) == n:
        decision = "reject"
        head = f"Verdict: REJECT every candidate; keep {study.baseline}."
    elif len(by["reject"]) + len(by["equivalent"]) == n:
        decision = "equivalent"
        head = (
            f"Verdict: EQUIVALENT: no candidate changes {label} on {study.baseline} by more "
            f"than {min_effect:.1%} of the baseline; the others are worse."
        )
    else:
        decision = "inconclusive"
        head = (
            f"Verdict: INCONCLUSIVE: no candidate is shown better than {study.baseline}; "
            "at least one is not shown worse."
        )
    # each candidate's block, headed by its own decision ("REJECT x; keep y.")
    blocks = [v.text.removeprefix("Verdict: ") for v in verdicts.values()]
    ref = verdicts[chosen] if chosen else None
    return Verdict(
        decision=decision,
        text="\n\n".join([head, *blocks]),
        candidate=chosen,
        baseline=study.baseline,
        objective=objective,
        difference=ref.difference if ref else math.nan,
        low=ref.low if ref else math.nan,
        high=ref.high if ref else math.nan,
        probability_better=ref.probability_better if ref else math.nan,
        guardrails=ref.guardrails if ref else (),
        replications=study.replications,
        replications_needed=max((v.replications_needed or 0 for v in verdicts.values()), default=0)
        or None,
        min_effect=min_effect,
        threshold=ref.threshold if ref else math.nan,
        changes=ref.changes if ref else (),
        worse=ref.worse if ref else (),
        cautions=ref.cautions if ref else (),
        by_candidate=verdicts,
    )


def _worse_words(
    changes: tuple[MetricChange, ...], worse: tuple[str, ...], cur: str, *, may: bool = False
) -> str:
    """``"customers lost +57.0 (95% interval +31.2 to +82.8, +2.91% of the baseline)"`` for
    each listed metric."""
    parts = []
    for ch in changes:
        if ch.metric not in worse:
            continue
        label = "customers lost" if ch.metric == "churned" else metric_label(ch.metric)
        pct = "" if math.isnan(ch.relative) else f", {100 * ch.relative:+.2f}% of the baseline"
        amount = format_metric(ch.metric, ch.change, cur, difference=True)
        parts.append(f"{label} {amount} ({amount_interval(ch, cur)}{pct})")
    return "; ".join(parts)


def amount_interval(ch: MetricChange, cur: str) -> str:
    """``"95% interval +31.2 to +82.8"``."""
    f = lambda x: format_metric(ch.metric, x, cur, difference=True)  # noqa: E731
    return f"95% interval {f(ch.low)} to {f(ch.high)}"


def _judge_one(
    study: PairedStudy,
    candidate: str,
    objective: str,
    checks: list[tuple[str, str, float]],
    min_effect: float,
) -> Verdict:
    cur = study.currency
    n = study.replications
    m = len(study.candidates)
    base = study.values(study.baseline, objective)
    d = study.values(candidate, objective) - base
    p, padj = study.holm(objective)[candidate]
    adj = st.adjusted_interval(d, p, padj, study.level)
    lower_better = objective in LOWER_IS_BETTER
    sign = -1.0 if lower_better else 1.0
    prob = st.probability_better(d, lower_is_better=lower_better)
    lo_b, hi_b = sorted((sign * adj.low, sign * adj.high))
    threshold = abs(min_effect * float(base.mean()))
    equivalent = threshold > 0 and -threshold < lo_b and hi_b < threshold
    better, worse = lo_b > 0, hi_b < 0

    guard = tuple(
        check_guardrail(
            metric,
            kind,
            limit,
            study.values(candidate, metric),
            study.values(study.baseline, metric),
        )
        for metric, kind, limit in checks
    )
    broken = [g for g in guard if g.state == "broken"]
    uncertain = [g for g in guard if g.state == "uncertain"]
    changes = tuple(headline_changes(study, candidate, min_effect=min_effect))
    losses = tuple(c.metric for c in changes if c.worse and c.metric != objective)
    cautions = tuple(c.metric for c in changes if c.possibly_worse and c.metric != objective)

    needed: int | None = None
    if broken or (worse and not equivalent):
        decision = "reject"
    elif equivalent:
        decision = "equivalent"
    elif better and not uncertain:
        decision = "trade-off" if losses else "adopt"
    else:
        decision = "inconclusive"
        if not better and n >= 2 and adj.sd > 0 and d.mean() != 0:
            needed = max(n + 1, st.replications_for_halfwidth(adj.sd, abs(adj.mean), adj.level))

    label = metric_label(objective)
    horizon = (
        f"over {int(study.info['days']):,} days for "
        f"{int(study.info['customers']):,} starting customers"
    )
    adj_note = (
        f"{study.level:.0%} interval, Holm-adjusted for {m} candidates"
        if m > 1
        else f"{study.level:.0%} interval"
    )
    fmt = lambda x: format_metric(objective, x, cur, difference=True)  # noqa: E731
    change = (
        f"{label[0].upper() + label[1:]} changes by {fmt(adj.mean)} {horizon} "
        f"({adj_note}: {fmt(adj.low)} to {fmt(adj.high)}; {n} paired replications). "
        f"Probability that {candidate} is better on {label}: "
        f"{st.format_probability(prob, n)}."
    )
    head, why = _words(
        decision,
        candidate,
        study.baseline,
        label,
        better=better,
        worse=worse,
        broken=broken,
        uncertain=uncertain,
        needed=needed,
        n=n,
        threshold=f"{min_effect:.1%} of the baseline ({fmt(threshold).lstrip('+')})",
        min_share=f"{min_effect:.1%}",
        losses=_worse_words(changes, losses, cur),
        cautions=_worse_words(changes, cautions, cur, may=True),
    )
    table = "Change against the baseline (95% intervals):\n" + "\n".join(
        "  " + c.describe(cur) for c in changes
    )
    if guard:
        glines = "Guardrails (each holds only if its 95% upper bound is inside the limit):\n"
        glines += "\n".join("  " + g.describe(cur, n) for g in guard)
    else:
        glines = "Guardrails: none set."
    text = "\n".join([head, table, change, why, glines])
    return Verdict(
        decision=decision,
        text=text,
        candidate=candidate,
        baseline=study.baseline,
        objective=objective,
        difference=adj.mean,
        low=adj.low,
        high=adj.high,
        probability_better=prob,
        guardrails=guard,
        replications=n,
        replications_needed=needed,
        min_effect=min_effect,
        threshold=threshold,
        changes=changes,
        worse=losses,
        cautions=cautions,
    )


def _words(
    decision: str,
    candidate: str,
    baseline: str,
    label: str,
    *,
    better: bool,
    worse: bool,
    broken: list[GuardrailCheck],
    uncertain: list[GuardrailCheck],
    needed: int | None,
    n: int,
    threshold: str,
    min_share: str,
    losses: str,
    cautions: str,
) -> tuple[str, str]:
    """The verdict's first line and its reason."""
    if decision == "adopt" and cautions:
        return (
            f"Verdict: ADOPT {candidate} instead of {baseline}, with a caution, possibly "
            f"worse: {cautions}; the interval does not settle it.",
            f"The whole interval shows an improvement in {label} and every guardrail holds; more "
            "replications would show whether the caution is a real loss.",
        )
    if decision == "adopt":
        return (
            f"Verdict: ADOPT {candidate} instead of {baseline}.",
            f"The whole interval shows an improvement in {label}, every guardrail holds and no "
            "other headline metric gets worse.",
        )
    if decision == "trade-off":
        return (
            f"Verdict: TRADE-OFF: {candidate} improves {label} on {baseline}, at a cost: "
            f"{losses}. Adopt it only if that loss is acceptable.",
            f"The whole interval shows an improvement in {label} and every guardrail holds; "
            f"each loss is shown by its interval and is larger than {min_share} of its "
            "baseline.",
        )
    if decision == "equivalent":
        other = f" On other headline metrics it is worse: {losses}." if losses else ""
        return (
            f"Verdict: EQUIVALENT: {candidate} and {baseline} give the same {label} for "
            f"practical purposes.{other}",
            f"The whole interval lies within ±{threshold}; set --min-effect (min_effect=) to "
            "change what counts as a difference.",
        )
    if decision == "reject":
        reasons = []
        if worse:
            reasons.append(f"the whole interval shows {label} getting worse")
        if broken:
            reasons.append("guardrail broken: " + ", ".join(metric_label(g.metric) for g in broken))
        return f"Verdict: REJECT {candidate}; keep {baseline}.", "Reason: " + "; ".join(
            reasons
        ) + "."
    head = f"Verdict: INCONCLUSIVE for {candidate} against {baseline}."
    if uncertain and better:
        names = ", ".join(metric_label(g.metric) for g in uncertain)
        tail = (
            f" The interval on {label} shows an improvement, but the guardrail on {names} is "
            "not shown to hold: its estimate is inside the limit, its 95% upper bound is not. "
            "More replications would narrow it."
        )
        return head, tail.strip()
    tail = ""
    if uncertain:
        names = ", ".join(metric_label(g.metric) for g in uncertain)
        tail = f" The guardrail on {names} is not shown to hold either."
    if needed is None:
        why = (
            "The interval includes zero and the estimated difference is zero: more "
            "replications are unlikely to settle it; the policies perform the same here."
        )
    elif needed >= 10**6:
        why = (
            "The interval includes zero; the estimated difference is so small that "
            "more than a million replications would be needed to settle it."
        )
    else:
        why = (
            f"The interval includes zero. Roughly {needed:,} replications in all "
            f"({needed - n:,} more) would settle it if the difference stays as estimated."
        )
    return head, why + tail


def verdict_record(v: Verdict) -> dict[str, Any]:
    """A JSON-ready record of a verdict (and of each candidate's)."""
    return {
        "decision": v.decision,
        "candidate": v.candidate,
        "baseline": v.baseline,
        "objective": v.objective,
        "difference": v.difference,
        "low": v.low,
        "high": v.high,
        "probability_better": v.probability_better,
        "replications": v.replications,
        "replications_needed": v.replications_needed,
        "min_effect": v.min_effect,
        "threshold": v.threshold,
        "worse": list(v.worse),
        "cautions": list(v.cautions),
        "changes": [c.record() for c in v.changes],
        "guardrails": [
            {
                "metric": g.metric,
                "kind": g.kind,
                "limit": g.limit,
                "value": g.value,
                "upper": g.upper,
                "probability_broken": g.probability_broken,
                "held": g.held,
                "state": g.state,
            }
            for g in v.guardrails
        ],
        "text": v.text,
        "by_candidate": {c: verdict_record(x) for c, x in v.by_candidate.items()},
    }
