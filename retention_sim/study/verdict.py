"""Verdicts: adopt, reject or inconclusive for each candidate against the baseline, with its
guardrails and the reasons in plain English.

A candidate is **adopted** when the Holm-adjusted paired interval on the objective lies
entirely on the better side of zero and no guardrail is broken; **rejected** when it lies
entirely on the worse side or a guardrail is broken; otherwise the verdict is **inconclusive**,
with roughly how many replications would settle it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from . import statistics as st
from .metrics import LOWER_IS_BETTER, METRICS, format_metric, metric_index, metric_label
from .paired import PairedStudy

__all__ = ["GuardrailCheck", "Verdict", "parse_guardrails", "judge", "verdict_record"]


@dataclass(frozen=True)
class GuardrailCheck:
    """One guardrail of a verdict.

    Attributes
    ----------
    metric
        The guarded metric.
    kind
        ``"max"`` (an upper limit on the candidate's mean) or ``"max_increase"`` (an upper limit
        on the mean paired increase over the baseline).
    limit
        The limit.
    value
        The candidate's mean (``"max"``) or its mean increase over the baseline.
    held
        ``value <= limit``.
    """

    metric: str
    kind: str
    limit: float
    value: float
    held: bool

    def describe(self, currency: str = "") -> str:
        """One line of plain English."""
        state = "held" if self.held else "BROKEN"
        if self.kind == "max":
            return (
                f"{metric_label(self.metric)} {format_metric(self.metric, self.value, currency)} "
                f"(limit {format_metric(self.metric, self.limit, currency)}): {state}"
            )
        return (
            f"{metric_label(self.metric)} change "
            f"{format_metric(self.metric, self.value, currency, difference=True)} over the "
            f"baseline (limit {format_metric(self.metric, self.limit, currency, difference=True)}"
            f"): {state}"
        )


@dataclass(frozen=True)
class Verdict:
    """The decision on a candidate (or on several) and its reasons in plain English.

    Attributes
    ----------
    decision
        ``"adopt"``, ``"reject"`` or ``"inconclusive"``.
    text
        What a strategist reads: the objective's change with its interval and currency, each
        guardrail held or broken, and for an inconclusive result how many replications would
        roughly settle it.
    candidate
        The candidate the decision is about (for several candidates: the one to adopt, or
        ``None``).
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
    by_candidate: dict[str, Verdict] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text


def parse_guardrails(guardrails: Mapping[str, Any] | None) -> list[tuple[str, str, float]]:
    """Validate guardrails: ``{metric: limit}`` or ``{metric: {"max" | "max_increase": x}}``.

    Returns
    -------
    list of tuple
        ``(metric, kind, limit)`` with ``kind`` ``"max"`` or ``"max_increase"``.

    Raises
    ------
    InputError
        For an unknown metric or a limit that is not a number.
    """
    out = []
    for metric, spec in (guardrails or {}).items():
        if metric not in METRICS:
            raise InputError(
                f"unknown guardrail metric {metric!r}; known: {', '.join(METRICS)}",
                field="guardrails",
            )
        if isinstance(spec, Mapping):
            if len(spec) != 1 or next(iter(spec)) not in ("max", "max_increase"):
                raise InputError(
                    f"guardrail {metric!r} must be a number or {{'max': x}} or "
                    f"{{'max_increase': x}}, got {dict(spec)!r}",
                    field="guardrails",
                )
            kind, limit = next(iter(spec.items()))
        else:
            kind, limit = "max", spec
        try:
            limit = float(limit)
        except (TypeError, ValueError):
            raise InputError(
                f"guardrail {metric!r}: limit must be a number, got {limit!r}", field="guardrails"
            ) from None
        if math.isnan(limit):
            raise InputError(f"guardrail {metric!r}: limit is NaN", field="guardrails")
        out.append((metric, kind, limit))
    return out


def judge(
    study: PairedStudy,
    objective: str | None = None,
    guardrails: Mapping[str, Any] | None = None,
    *,
    candidate: str | None = None,
) -> Verdict:
    """Adopt, reject or inconclusive, with the reasons in plain English.

    See :meth:`retention_sim.study.comparison.Comparison.verdict` for the arguments and the
    rules.
    """
    objective = objective or study.objective
    metric_index(objective)
    checks = parse_guardrails(guardrails)
    if not study.candidates:
        raise InputError("a verdict needs at least one candidate besides the baseline")
    if candidate is not None:
        study._check_policy(candidate)
        if candidate == study.baseline:
            raise InputError(f"{candidate!r} is the baseline, not a candidate")
        return _judge_one(study, candidate, objective, checks)
    verdicts = {c: _judge_one(study, c, objective, checks) for c in study.candidates}
    if len(verdicts) == 1:
        return next(iter(verdicts.values()))
    sign = -1.0 if objective in LOWER_IS_BETTER else 1.0
    adopted = [v for v in verdicts.values() if v.decision == "adopt"]
    if adopted:
        best = max(adopted, key=lambda v: sign * v.difference)
        decision, chosen = "adopt", best.candidate
        head = (
            f"Verdict: ADOPT {chosen} instead of {study.baseline} "
            f"({len(adopted)} of {len(verdicts)} candidates pass; {chosen} improves "
            f"{metric_label(objective)} the most)."
        )
    elif all(v.decision == "reject" for v in verdicts.values()):
        decision, chosen = "reject", None
        head = f"Verdict: REJECT every candidate; keep {study.baseline}."
    else:
        decision, chosen = "inconclusive", None
        head = (
            f"Verdict: INCONCLUSIVE: no candidate is shown better than {study.baseline}; "
            "at least one is not shown worse."
        )
    # each candidate's block, headed by its own decision ("REJECT x; keep y.")
    blocks = [v.text.removeprefix("Verdict: ") for v in verdicts.values()]
    text = "\n\n".join([head, *blocks])
    ref = verdicts[chosen] if chosen else None
    return Verdict(
        decision=decision,
        text=text,
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
        by_candidate=verdicts,
    )


def _judge_one(
    study: PairedStudy, candidate: str, objective: str, checks: list[tuple[str, str, float]]
) -> Verdict:
    cur = study.currency
    n = study.replications
    m = len(study.candidates)
    d = study.values(candidate, objective) - study.values(study.baseline, objective)
    p, padj = study.holm(objective)[candidate]
    adj = st.adjusted_interval(d, p, padj, study.level)
    lower_better = objective in LOWER_IS_BETTER
    prob = st.probability_better(d, lower_is_better=lower_better)
    better = adj.high < 0 if lower_better else adj.low > 0
    worse = adj.low > 0 if lower_better else adj.high < 0

    guard: list[GuardrailCheck] = []
    for metric, kind, limit in checks:
        if kind == "max":
            value = float(study.values(candidate, metric).mean())
        else:
            value = float(
                (study.values(candidate, metric) - study.values(study.baseline, metric)).mean()
            )
        guard.append(GuardrailCheck(metric, kind, limit, value, value <= limit))
    broken = [g for g in guard if not g.held]

    needed: int | None = None
    if broken:
        decision = "reject"
    elif better:
        decision = "adopt"
    elif worse:
        decision = "reject"
    else:
        decision = "inconclusive"
        if n >= 2 and adj.sd > 0 and d.mean() != 0:
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
    change = (
        f"{label[0].upper() + label[1:]} changes by "
        f"{format_metric(objective, adj.mean, cur, difference=True)} {horizon} "
        f"({adj_note}: {format_metric(objective, adj.low, cur, difference=True)} to "
        f"{format_metric(objective, adj.high, cur, difference=True)}; {n} paired "
        f"replications). Probability that {candidate} is better on {label}: {prob:.1%}."
    )
    if decision == "adopt":
        head = f"Verdict: ADOPT {candidate} instead of {study.baseline}."
        why = f"The whole interval shows an improvement in {label} and every guardrail holds."
    elif decision == "reject":
        head = f"Verdict: REJECT {candidate}; keep {study.baseline}."
        reasons = []
        if worse:
            reasons.append(f"the whole interval shows {label} getting worse")
        if broken:
            names = ", ".join(metric_label(g.metric) for g in broken)
            reasons.append(f"guardrail broken: {names}")
        why = "Reason: " + "; ".join(reasons) + "."
    else:
        head = f"Verdict: INCONCLUSIVE for {candidate} against {study.baseline}."
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
    if guard:
        glines = "Guardrails:\n" + "\n".join("  " + g.describe(cur) for g in guard)
    else:
        glines = "Guardrails: none set."
    text = "\n".join([head, change, why, glines])
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
        guardrails=tuple(guard),
        replications=n,
        replications_needed=needed,
    )


def verdict_record(v: Verdict) -> dict[str, Any]:
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
        "guardrails": [
            {"metric": g.metric, "kind": g.kind, "limit": g.limit, "value": g.value, "held": g.held}
            for g in v.guardrails
        ],
        "text": v.text,
        "by_candidate": {c: verdict_record(x) for c, x in v.by_candidate.items()},
    }
