"""The report's tables that read a verdict or a comparison: trade-offs and all metrics."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..study.metrics import METRICS, MONEY_METRICS, format_metric, metric_label

__all__ = ["tradeoff_frame", "styled_tradeoffs", "metrics_frame"]


def tradeoff_frame(verdict: Any) -> pd.DataFrame:
    """Every headline metric's change per candidate: absolute, % of the baseline and per
    customer, each with its 95% interval, and whether it is better or worse."""
    verdicts = verdict.by_candidate or {verdict.candidate: verdict}
    rows = []
    for cand, v in verdicts.items():
        for ch in v.changes:
            rows.append(
                {
                    "candidate": cand,
                    "metric": ch.metric,
                    "baseline": ch.baseline,
                    "change": ch.change,
                    "low": ch.low,
                    "high": ch.high,
                    "% of baseline": ch.relative,
                    "% low": ch.relative_low,
                    "% high": ch.relative_high,
                    "per customer": ch.per_customer,
                    "reading": "worse" if ch.worse else ("better" if ch.better else ""),
                }
            )
    return pd.DataFrame(rows)


def styled_tradeoffs(verdict: Any, cur: str = "") -> Any:
    """:func:`tradeoff_frame` in readable units: one row per candidate and metric."""
    t = tradeoff_frame(verdict)
    if t.empty:
        return t.style

    def change(r: Any) -> str:
        f = lambda x: format_metric(r.metric, x, cur, difference=True)  # noqa: E731
        return f"{f(r.change)} [{f(r.low)}, {f(r.high)}]"

    def rel(r: Any) -> str:
        if pd.isna(r["% of baseline"]):
            return "n/a"
        return f"{100 * r['% of baseline']:+.2f}% [{100 * r['% low']:+.2f}%, {100 * r['% high']:+.2f}%]"

    def per(r: Any) -> str:
        x = r["per customer"]
        if pd.isna(x):
            return "—"
        unit = f" {cur}" if r.metric in MONEY_METRICS and cur else ""
        return (f"{x:+,.0f}" if abs(x) >= 100 else f"{x:+,.4f}") + unit

    shown = pd.DataFrame(
        {
            "candidate": t["candidate"],
            "metric": [metric_label(m) for m in t["metric"]],
            "baseline": [
                format_metric(m, v, cur) for m, v in zip(t["metric"], t["baseline"], strict=True)
            ],
            "change [95% interval]": [change(r) for r in t.itertuples()],
            "% of baseline": [rel(r) for _, r in t.iterrows()],
            "per starting customer": [per(r) for _, r in t.iterrows()],
            "": t["reading"],
        }
    )
    return shown.style.hide(axis="index").map(
        lambda s: {
            "worse": "color: #b30000; font-weight: bold",
            "possibly worse": "color: #8a5a00",
            "better": "color: #1a7f37",
        }.get(s, ""),
        subset=[""],
    )


def metrics_frame(c: Any) -> pd.DataFrame:
    """Every metric per policy, as text with units: ``mean [95% low, high]``."""
    cur = getattr(c, "currency", "")
    rows = {}
    for m in METRICS:
        cells = {}
        for p in c.policies:
            iv = c.interval(p, m)
            cells[p] = (
                f"{format_metric(m, iv.mean, cur)} "
                f"[{format_metric(m, iv.low, cur)}, {format_metric(m, iv.high, cur)}]"
            )
        rows[metric_label(m)] = cells
    return pd.DataFrame(rows).T
