"""The limits a candidate policy must stay within, and how a study checks them.

One set of default guardrails (:data:`DEFAULT_GUARDRAILS`) and one practical-significance
threshold (:data:`DEFAULT_MIN_EFFECT`) live here. The Python API (``Comparison.verdict``), the
``compare`` and ``report`` commands, the notebooks and the report read them from this module.

A guardrail is judged on its interval, not on its estimate: it **holds** only when the upper
bound of its 95% interval is inside the limit. It is **broken** when the estimate itself is
beyond the limit, and **uncertain** in between (the estimate is inside, the interval is not).
Each check also reports the posterior probability that the limit is exceeded
(:func:`~retention_sim.study.statistics.probability_above`, on the logit scale for a rate, the
same scale as the interval).

These are limits on a study's results, read by the verdict. The limits a policy sets on its
own sends (frequency caps, quiet hours) are ``model/contacts/guardrails.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..errors import InputError, unknown
from . import statistics as st
from .metrics import METRICS, RATE_METRICS, format_metric, metric_label

__all__ = [
    "DEFAULT_GUARDRAILS",
    "DEFAULT_MIN_EFFECT",
    "GuardrailCheck",
    "parse_guardrails",
    "merge_guardrails",
    "check_guardrail",
]

#: The default limits, on the candidate's mean over the horizon. Assumptions (docs/model.md,
#: "Experiments"): the unsubscribe limit is a little above the 0.25% per message that
#: Mailchimp's 2019 benchmarks give as typical, complaints five in ten thousand messages (the
#: spam-complaint ceiling the large mailbox providers publish is 0.1–0.3%), and a tenth of the
#: customers above their fatigue tolerance.
DEFAULT_GUARDRAILS: dict[str, float] = {
    "unsubscribe_rate": 0.004,
    "complaint_rate": 0.0005,
    "over_fatigue_share": 0.10,
}

#: A change smaller than this share of the baseline's mean is of no practical consequence
#: (an assumption; ``--min-effect``): two policies whose whole interval on the objective lies
#: within it are "equivalent", and another headline metric that gets worse by less is not a
#: trade-off.
DEFAULT_MIN_EFFECT: float = 0.01

State = Literal["held", "uncertain", "broken"]


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
        The candidate's mean (``"max"``) or its mean paired increase over the baseline.
    upper
        The upper bound of the 95% interval of ``value`` (for a rate's mean, inside [0, 1]).
    probability_broken
        Posterior probability that the true value exceeds the limit.
    held
        ``upper <= limit``.
    """

    metric: str
    kind: str
    limit: float
    value: float
    upper: float
    probability_broken: float
    held: bool

    @property
    def state(self) -> State:
        """``"held"`` (upper bound inside the limit), ``"broken"`` (the estimate beyond it) or
        ``"uncertain"`` (in between)."""
        if self.held:
            return "held"
        return "broken" if self.value > self.limit else "uncertain"

    def describe(self, currency: str = "", replications: int = 0) -> str:
        """One line of plain English."""
        diff = self.kind == "max_increase"
        fmt = lambda x: format_metric(self.metric, x, currency, difference=diff)  # noqa: E731
        what = metric_label(self.metric) + (" change over the baseline" if diff else "")
        prob = st.format_probability(self.probability_broken, replications)
        return (
            f"{what} {fmt(self.value)} (95% upper bound {fmt(self.upper)}; limit "
            f"{fmt(self.limit)}; P(limit exceeded) {prob}): {self.state.upper()}"
        )


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
            raise InputError(unknown("guardrail metric", metric, METRICS), field="guardrails")
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
        if isinstance(limit, bool):
            raise InputError(f"guardrail {metric!r}: limit must be a number", field="guardrails")
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


def merge_guardrails(
    overrides: Mapping[str, Any] | None, *, defaults: bool = True
) -> dict[str, Any]:
    """The defaults with ``overrides`` on top; an override of ``None`` removes that guardrail.

    This is what the command line does with ``--guardrail`` (``METRIC=off`` removes one,
    ``--no-default-guardrails`` starts from none).
    """
    out: dict[str, Any] = dict(DEFAULT_GUARDRAILS) if defaults else {}
    for metric, spec in (overrides or {}).items():
        if metric not in METRICS:
            raise InputError(unknown("guardrail metric", metric, METRICS), field="guardrails")
        if spec is None:
            out.pop(metric, None)
        else:
            out[metric] = spec
    parse_guardrails(out)
    return out


def check_guardrail(
    metric: str,
    kind: str,
    limit: float,
    candidate: np.ndarray,
    baseline: np.ndarray,
    level: float = 0.95,
) -> GuardrailCheck:
    """Check one guardrail on a candidate's replications (paired with the baseline's).

    Parameters
    ----------
    metric, kind, limit
        As returned by :func:`parse_guardrails`.
    candidate, baseline
        The metric's values per replication, in the same replication order.
    level
        Level of the interval whose upper bound must be inside the limit.
    """
    if kind == "max":
        x = np.asarray(candidate, dtype=float)
        rate = metric in RATE_METRICS
        iv = st.rate_interval(x, level) if rate else st.t_interval(x, level)
    else:
        x = np.asarray(candidate, dtype=float) - np.asarray(baseline, dtype=float)
        rate = False
        iv = st.t_interval(x, level)
    upper = iv.high if not math.isnan(iv.high) else iv.mean
    prob = st.probability_above(x, limit, rate=rate)
    return GuardrailCheck(metric, kind, limit, iv.mean, upper, prob, bool(upper <= limit))
