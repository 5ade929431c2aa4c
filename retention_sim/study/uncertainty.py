"""The stated uncertainty of a scenario's parameters: the ranges robustness draws worlds from.

Where a parameter was **fitted** and carries a standard error (the ``response`` section that
``calibrate-response`` writes: ``{estimate, se}``), its range is ``estimate ± 2·se``. Where it
was fitted and its provenance carries a 95% ``interval`` (what ``calibrate`` writes for the
purchase, dropout and spend fields, from the fits' covariances), its range is that interval. For the
**assumptions** that decide what contact does (the behavioural parameters below), the range is
half to one and a half times the scenario's value; for the **published** ones among them, ±20%.
These widths are themselves an assumption (docs/model.md, "Robustness"), and are stated with
the results. Parameters that are 0 in the scenario are left out (a range around 0 would switch
a mechanism on).
"""

from __future__ import annotations

from typing import Any

from ..config.provenance import source_of
from ..config.scenario import Scenario

__all__ = ["BEHAVIOURAL", "ASSUMED_WIDTH", "PUBLISHED_WIDTH", "default_uncertainty"]

#: The assumed parameters whose value decides what a contact policy does to profit and churn.
BEHAVIOURAL: tuple[str, ...] = (
    "responses.fatigue_open_sensitivity",
    "responses.fatigue_unsubscribe_sensitivity",
    "responses.click_purchase_lift",
    "responses.offer_purchase_lift",
    "responses.dormant_wakeup_multiplier",
    "churn.causes.indifference.annual_probability",
    "churn.causes.indifference.growth_per_30_days",
    "churn.causes.dissatisfaction.annual_probability",
    "churn.causes.annoyance.annual_probability_per_excess",
    "channels.email.open_rate",
    "channels.email.unsubscribe_rate",
)
#: An assumption's range: this share either side of its value.
ASSUMED_WIDTH = 0.5
#: A published value's range.
PUBLISHED_WIDTH = 0.2


def _get(data: Any, path: str) -> Any:
    node = data
    for k in path.split("."):
        if isinstance(node, dict) and k in node:
            node = node[k]
        elif isinstance(node, list) and k.isdigit() and int(k) < len(node):
            node = node[int(k)]
        else:
            return None
    return node


def _fitted(node: Any, path: str, out: dict[str, tuple[float, float]]) -> None:
    """Every ``{estimate, se}`` pair under ``node``: ``path.estimate`` → estimate ± 2 se."""
    if isinstance(node, dict):
        est, se = node.get("estimate"), node.get("se")
        if isinstance(est, (int, float)) and isinstance(se, (int, float)) and se > 0:
            out[f"{path}.estimate"] = (float(est) - 2 * float(se), float(est) + 2 * float(se))
        for k, v in node.items():
            _fitted(v, f"{path}.{k}", out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _fitted(v, f"{path}.{i}", out)


def default_uncertainty(scenario: Scenario) -> dict[str, tuple[float, float]]:
    """``{scenario field: (low, high)}``: the plausible range of each uncertain parameter.

    Returns
    -------
    dict
        The behavioural assumptions (:data:`BEHAVIOURAL`, those present and non-zero) with
        ``value × (1 ± ASSUMED_WIDTH)`` (``PUBLISHED_WIDTH`` for a published value; a probability
        capped at 1), every fitted response coefficient with ``estimate ± 2 se``, and every
        fitted field whose provenance carries an interval, with that interval.
    """
    data = scenario.model_dump(mode="json")
    out: dict[str, tuple[float, float]] = {}
    for path in BEHAVIOURAL:
        v = _get(data, path)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v == 0:
            continue
        src = source_of(path, v, scenario)
        if src.kind == "fitted":
            continue  # fitted: varied below if its interval is known
        w = PUBLISHED_WIDTH if src.kind == "published" else ASSUMED_WIDTH
        low, high = float(v) * (1 - w), float(v) * (1 + w)
        if "probability" in path or path.endswith("_rate"):
            high = min(high, 1.0)
        if path.endswith("_multiplier"):
            low = max(low, 1.0)  # a multiplier below 1 would reverse the mechanism
        out[path] = (low, high)
    if data.get("response") is not None:
        _fitted(data["response"], "response", out)
    for path in _with_interval(scenario):
        v = _get(data, path)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v == 0:
            continue  # e.g. a fitted dropout since shared among causes
        src = source_of(path, v, scenario)
        if src.kind == "fitted" and src.interval is not None:
            out[path] = (float(src.interval[0]), float(src.interval[1]))
    return out


def _with_interval(scenario: Scenario) -> list[str]:
    """The scenario's own provenance entries that carry an interval (no ``*`` patterns)."""
    own = scenario.provenance or {}
    return [k for k, v in own.items() if "*" not in k and v.interval is not None]
