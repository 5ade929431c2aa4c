"""The figures strategists read. Every function returns a :class:`matplotlib.figure.Figure`.

Figures are built without pyplot (no global state, nothing to close); in a notebook a returned
figure displays itself. One colour per policy is kept across every figure: pass the same
``colors`` mapping (see :func:`policy_colors`) or let each function derive it from the policy
order, which gives the same result for the same list of policies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from ..model.contacts.engine import REFUSAL_REASONS
from ..study.metrics import MONEY_METRICS, RATE_METRICS, chart_label, chart_title
from ..vocabulary import CAUSES, CHANNELS, STAGES

__all__ = [
    "policy_colors",
    "group_forest",
    "retention_curves",
    "stages_over_time",
    "churn_by_cause",
    "forest",
    "sweep_curves",
    "messages_and_refusals",
    "fatigue_distribution",
    "cohort_heatmap",
    "transition_matrix",
]

_PALETTE = (  # Okabe-Ito and Tableau hues without red: red is kept for warnings
    "#0072b2",
    "#009e73",
    "#e69f00",
    "#cc79a7",
    "#56b4e9",
    "#7f7f7f",
    "#8c564b",
    "#9467bd",
    "#bcbd22",
    "#17becf",
)
_STAGE_COLORS = dict(
    zip(
        STAGES,
        ("#9ecae1", "#3182bd", "#08519c", "#fdae6b", "#e6550d", "#636363", "#31a354"),
        strict=True,
    )
)
_SHARES = RATE_METRICS


def policy_colors(policies: Sequence[str]) -> dict[str, str]:
    """A colour per policy, in order (the same list always gives the same colours)."""
    return {p: _PALETTE[i % len(_PALETTE)] for i, p in enumerate(policies)}


def _new(
    nrows: int = 1, ncols: int = 1, *, width: float = 9.0, height: float = 4.5, **kw: Any
) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _scale(metric: str) -> float:
    return 100.0 if metric in _SHARES else 1.0


# ----------------------------------------------------------------------------- comparisons
def retention_curves(comparison: Any, *, colors: Mapping[str, str] | None = None) -> Figure:
    """Share of the starting base still a customer, per policy, with 95% bands.

    Parameters
    ----------
    comparison
        A :class:`~retention_sim.study.comparison.Comparison`.
    colors
        Policy → colour (default: :func:`policy_colors` of the comparison's policies).
    """
    colors = dict(colors or policy_colors(comparison.policies))
    d = comparison.daily(["customers_initial_base"])
    start = float(comparison.info.get("customers") or 0) or None
    fig, ax = _new()
    ax = ax[0, 0]
    for p in comparison.policies:
        s = d[d["policy"] == p]
        n0 = start or float(s["mean"].iloc[0]) or 1.0
        ax.plot(s["date"], 100 * s["mean"] / n0, color=colors[p], label=p, lw=2)
        ax.fill_between(
            s["date"], 100 * s["low"] / n0, 100 * s["high"] / n0, color=colors[p], alpha=0.2, lw=0
        )
    ax.set_title("Retention of the starting customer base (mean and 95% interval)")
    ax.set_xlabel("Date")
    ax.set_ylabel("Starting customers still active (%)")
    ax.legend(title="Policy")
    ax.grid(alpha=0.3)
    return fig


def churn_by_cause(comparison: Any, *, colors: Mapping[str, str] | None = None) -> Figure:
    """Customers lost by cause, per policy (mean over replications, 95% interval bars)."""
    colors = dict(colors or policy_colors(comparison.policies))
    s = comparison.summary([f"churn_{c}" for c in CAUSES])
    s = s[s["kind"] == "policy"]
    fig, ax = _new(width=10)
    ax = ax[0, 0]
    k = len(comparison.policies)
    width = 0.8 / max(k, 1)
    x = np.arange(len(CAUSES))
    for i, p in enumerate(comparison.policies):
        rows = s[s["policy"] == p].set_index("metric").reindex([f"churn_{c}" for c in CAUSES])
        mean = rows["mean"].to_numpy()
        err = np.vstack([mean - rows["low"].to_numpy(), rows["high"].to_numpy() - mean])
        ax.bar(
            x + (i - (k - 1) / 2) * width,
            mean,
            width,
            color=colors[p],
            label=p,
            yerr=np.nan_to_num(err),
            capsize=2,
        )
    ax.set_xticks(x, [c.capitalize() for c in CAUSES], rotation=20)
    ax.set_title("Why customers left, by policy (mean and 95% interval)")
    ax.set_xlabel("Churn cause")
    ax.set_ylabel("Customers lost over the horizon")
    ax.legend(title="Policy")
    ax.grid(axis="y", alpha=0.3)
    return fig


def forest(
    comparison: Any,
    metrics: Sequence[str] = (
        "profit",
        "retention_rate",
        "unsubscribe_rate",
        "contact_cost_per_customer",
    ),
    *,
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """Paired differences candidate − baseline with 95% intervals, one panel per metric."""
    colors = dict(colors or policy_colors(comparison.policies))
    cands = list(comparison.candidates)
    cur = getattr(comparison, "currency", "") or ""
    fig, axes = _new(
        1, len(metrics), width=3.6 * len(metrics), height=0.6 * len(cands) + 2.4, sharey=True
    )
    for ax, m in zip(axes[0], metrics, strict=True):
        d = comparison.differences(m).set_index("candidate").reindex(cands)
        sc = _scale(m)
        y = np.arange(len(cands))[::-1]
        for yi, c in zip(y, cands, strict=True):
            r = d.loc[c]
            ax.plot([sc * r["low"], sc * r["high"]], [yi, yi], color=colors[c], lw=3)
            ax.plot(sc * r["mean"], yi, "o", color=colors[c], ms=7)
        ax.axvline(0, color="black", lw=1, ls="--")
        ax.set_yticks(y, cands)
        if m not in _SHARES:
            ax.xaxis.set_major_formatter(EngFormatter(sep=" "))
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(chart_title(m))
        unit = " (points)" if m in _SHARES else (f" ({cur})" if m in MONEY_METRICS and cur else "")
        ax.set_xlabel(f"vs {comparison.baseline}{unit}")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Change against the baseline (paired, 95% interval)")
    return fig


def group_forest(
    comparison: Any,
    kind: str = "segment",
    metrics: Sequence[str] = ("contribution", "retention_rate"),
    *,
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """Per group of the starting base: each candidate's paired difference with its interval,
    Holm-adjusted across the groups (:meth:`Comparison.by_group`), one panel per metric."""
    colors = dict(colors or policy_colors(comparison.policies))
    t = comparison.by_group(kind, list(metrics))
    cands = list(comparison.candidates)
    groups = sorted(t["group"].unique())
    cur = getattr(comparison, "currency", "") or ""
    fig, axes = _new(
        1, len(metrics), width=4.2 * len(metrics), height=0.45 * len(groups) * len(cands) + 2.2,
        sharey=True,
    )  # fmt: skip
    step = 1.0 / (len(cands) + 1)
    for ax, m in zip(axes[0], metrics, strict=True):
        sc = 100.0 if m == "retention_rate" else 1.0
        for j, c in enumerate(cands):
            rows = t[(t["metric"] == m) & (t["candidate"] == c)].set_index("group")
            for gi, g in enumerate(groups):
                if g not in rows.index:
                    continue
                r = rows.loc[g]
                y = len(groups) - 1 - gi + (j - (len(cands) - 1) / 2) * step
                ax.plot([sc * r["adj_low"], sc * r["adj_high"]], [y, y], color=colors[c], lw=3)
                ax.plot(sc * r["mean"], y, "o", color=colors[c], ms=6,
                        label=c if gi == 0 else None)  # fmt: skip
        ax.axvline(0, color="black", lw=1, ls="--")
        ax.set_yticks(np.arange(len(groups))[::-1], groups)
        if m != "retention_rate":
            ax.xaxis.set_major_formatter(EngFormatter(sep=" "))
        unit = (
            " (points)" if m == "retention_rate" else (f" ({cur})" if m == "contribution" else "")
        )
        ax.set_xlabel(f"vs {comparison.baseline}{unit}")
        ax.set_title(m.replace("_", " ").capitalize())
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].legend(loc="best", fontsize=8)
    fig.suptitle(f"Change by {kind.replace('_', ' ')} (paired, Holm-adjusted across groups)")
    return fig


def sweep_curves(
    sweep: pd.DataFrame,
    *,
    field: str | None = None,
    metrics: Sequence[str] = ("profit", "unsubscribe_rate"),
    xlabel: str | None = None,
    currency: str = "",
) -> Figure:
    """Metrics against a swept field, each point with its interval, the best point marked.

    Parameters
    ----------
    sweep
        The frame returned by :func:`~retention_sim.study.sweep.sweep`.
    field
        The swept column (default: the first column that is not a statistic).
    """
    from ..study.sweep import sweep_wide

    sweep = sweep_wide(sweep)
    stats = {"point", "replications", "best"}
    if field is None:
        field = next(
            c
            for c in sweep.columns
            if c not in stats and not c.endswith(("_mean", "_low", "_high"))
        )
    x = sweep[field].to_numpy(dtype=float)
    order = np.argsort(x)
    fig, axes = _new(1, len(metrics), width=4.8 * len(metrics))
    for ax, m in zip(axes[0], metrics, strict=True):
        sc = _scale(m)
        mean = sc * sweep[f"{m}_mean"].to_numpy()[order]
        low = sc * sweep[f"{m}_low"].to_numpy()[order]
        high = sc * sweep[f"{m}_high"].to_numpy()[order]
        ax.plot(x[order], mean, "-o", color=_PALETTE[0], lw=2)
        ax.fill_between(x[order], low, high, color=_PALETTE[0], alpha=0.2, lw=0)
        if "best" in sweep:
            b = sweep[sweep["best"]]
            ax.plot(
                b[field].astype(float),
                sc * b[f"{m}_mean"],
                "*",
                color=_PALETTE[1],
                ms=16,
                label=f"best: {b[field].iloc[0]}",
            )
            ax.legend()
        ax.set_xlabel(xlabel or field)
        ax.set_ylabel(chart_label(m, currency))
        ax.set_title(chart_title(m))
        if x.min() > 0 and x.max() / x.min() >= 20:
            ax.set_xscale("log")
        ax.grid(alpha=0.3)
    fig.suptitle("What-if curve (mean and 95% interval; the star marks the best point)")
    return fig


# ----------------------------------------------------------------------------- single runs
def stages_over_time(results: Mapping[str, Any]) -> Figure:
    """Customers by lifecycle stage over time, one panel per policy (one replication each)."""
    names = list(results)
    fig, axes = _new(1, len(names), width=4.2 * len(names), height=4.2, sharey=True)
    for ax, p in zip(axes[0], names, strict=True):
        d = results[p].daily
        live = [s for s in STAGES if s != "churned"]
        ax.stackplot(
            d.index,
            *[d[f"customers_{s}"] for s in live],
            labels=[s.replace("_", " ") for s in live],
            colors=[_STAGE_COLORS[s] for s in live],
        )
        ax.set_title(p)
        ax.set_xlabel("Date")
        ax.tick_params(axis="x", rotation=30)
    axes[0, 0].set_ylabel("Customers")
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), title="Stage")
    fig.suptitle("Customers by lifecycle stage (one replication per policy)")
    return fig


def messages_and_refusals(
    results: Mapping[str, Any], *, colors: Mapping[str, str] | None = None
) -> Figure:
    """Messages delivered per customer by channel, and refused messages by reason."""
    names = list(results)
    colors = dict(colors or policy_colors(names))
    fig, axes = _new(1, 2, width=12)
    ax1, ax2 = axes[0]
    k = len(names)
    w = 0.8 / max(k, 1)
    x = np.arange(len(CHANNELS))
    reasons = REFUSAL_REASONS
    xr = np.arange(len(reasons))
    for i, p in enumerate(names):
        s = results[p].summary
        m = s.get("messages") or {}
        n = max(s["customers_start"] + s["customers_acquired"], 1)
        per = [m.get("by_channel", {}).get(c, {}).get("delivered", 0) / n for c in CHANNELS]
        ax1.bar(x + (i - (k - 1) / 2) * w, per, w, color=colors[p], label=p)
        ref = [m.get("refused", {}).get(r, 0) for r in reasons]
        ax2.bar(xr + (i - (k - 1) / 2) * w, ref, w, color=colors[p], label=p)
    ax1.set_xticks(x, CHANNELS)
    ax1.set_title("Messages delivered per customer")
    ax1.set_xlabel("Channel")
    ax1.set_ylabel("Messages per customer over the horizon")
    ax2.set_xticks(xr, [r.replace("_", " ") for r in reasons], rotation=25)
    ax2.set_title("Messages refused, by reason")
    ax2.set_xlabel("Reason")
    ax2.set_ylabel("Messages refused")
    ax1.legend(title="Policy")
    for a in (ax1, ax2):
        a.grid(axis="y", alpha=0.3)
    return fig


def fatigue_distribution(
    results: Mapping[str, Any], *, colors: Mapping[str, str] | None = None
) -> Figure:
    """Distribution of fatigue relative to each customer's tolerance at the end of the run."""
    names = list(results)
    colors = dict(colors or policy_colors(names))
    fig, ax = _new()
    ax = ax[0, 0]
    bins = np.linspace(0, 3, 31)
    for p in names:
        c = results[p].customers
        c = c[c["stage"] != "churned"]
        ratio = np.clip(c["fatigue"] / c["fatigue_tolerance"].clip(lower=1e-9), 0, 3)
        over = float((ratio > 1).mean()) if len(ratio) else 0.0
        ax.hist(
            ratio,
            bins=bins,
            histtype="step",
            lw=2,
            color=colors[p],
            label=f"{p} ({over:.1%} over tolerance)",
            density=True,
        )
    ax.axvline(1.0, color="black", ls="--", lw=1)
    ax.set_title("Contact fatigue at the end of the horizon (customers still active)")
    ax.set_xlabel("Fatigue / the customer's tolerance (1 = at the limit; capped at 3)")
    ax.set_ylabel("Density of customers")
    ax.legend(title="Policy")
    ax.grid(alpha=0.3)
    return fig


def cohort_heatmap(result: Any, *, title: str | None = None) -> Figure:
    """Share of each monthly arrival cohort still a customer, by months since arrival."""
    c = result.customers
    start = pd.Timestamp(result.summary["start_date"])
    end = start + pd.Timedelta(days=int(result.summary["days"]))
    new = c[c["acquired_date"] >= start]
    fig, ax = _new(width=9, height=5)
    ax = ax[0, 0]
    if new.empty:
        ax.text(
            0.5, 0.5, "no customers arrived during the horizon", ha="center", transform=ax.transAxes
        )
        ax.set_axis_off()
        return fig
    cohort = new["acquired_date"].dt.to_period("M")
    months = sorted(cohort.unique())
    horizon = len(months)
    mat = np.full((len(months), horizon), np.nan)
    for i, m in enumerate(months):
        g = new[cohort == m]
        for k in range(horizon):
            t = (m + k).to_timestamp(how="end")
            if t > end:
                break
            alive = g["churn_date"].isna() | (g["churn_date"] > t)
            mat[i, k] = 100 * alive.mean()
    im = ax.imshow(mat, aspect="auto", cmap="viridis", vmin=np.nanmin(mat), vmax=100)
    ax.set_yticks(range(len(months)), [str(m) for m in months])
    ax.set_xticks(range(horizon), [str(k) for k in range(horizon)])
    ax.set_xlabel("Months since arrival (end of month)")
    ax.set_ylabel("Arrival cohort")
    ax.set_title(title or f"Cohort retention, {result.summary['policy']} (% still customers)")
    fig.colorbar(im, ax=ax, label="Still customers (%)")
    return fig


def transition_matrix(result: Any, *, title: str | None = None) -> Figure:
    """Counts of lifecycle stage changes over the horizon (from row stage to column stage)."""
    tr = result.summary["stage_transitions"]
    mat = np.array([[tr[a][b] for b in STAGES] for a in STAGES], dtype=float)
    fig, ax = _new(width=7, height=6)
    ax = ax[0, 0]
    im = ax.imshow(np.log10(mat + 1), cmap="Blues")
    for i in range(len(STAGES)):
        for j in range(len(STAGES)):
            if mat[i, j]:
                ax.text(
                    j,
                    i,
                    f"{int(mat[i, j]):,}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if mat[i, j] > mat.max() / 10 else "black",
                )
    labels = [s.replace("_", " ") for s in STAGES]
    ax.set_xticks(range(len(STAGES)), labels, rotation=30)
    ax.set_yticks(range(len(STAGES)), labels)
    ax.set_xlabel("To stage")
    ax.set_ylabel("From stage")
    ax.set_title(title or f"Stage transitions, {result.summary['policy']} (count)")
    fig.colorbar(im, ax=ax, label="log10(count + 1)")
    return fig
