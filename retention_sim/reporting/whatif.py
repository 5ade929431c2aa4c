"""Quick what-ifs: change the promotional campaign of a policy and compare in seconds.

The what-if notebook's controls (days between messages, discount, holdout share, channel) map
onto :func:`promo_variant`, which rewrites the policy's first scheduled campaign; :func:`what_if`
runs the variant and the original with the same seed (common random numbers) and returns the
differences a strategist looks at first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..config.policy import Policy, load_policy, policy_from_dict
from ..config.scenario import Scenario, load_scenario
from ..errors import InputError
from ..model.simulation import simulate
from .plots import policy_colors

__all__ = ["promo_variant", "describe_change", "what_if", "WhatIfResult", "controls"]

HEADLINE = (
    "profit",
    "revenue",
    "retention_rate",
    "initial_base_retained",
    "churned",
    "contact_cost",
    "discount_cost",
)


def promo_variant(
    policy: Policy,
    *,
    every_n_days: int,
    discount: float = 0.0,
    holdout_share: float | None = None,
    channel: str | None = None,
    name: str | None = None,
) -> Policy:
    """The policy with its first cadence campaign sent every ``every_n_days`` days.

    A ``discount`` above zero turns it into a ``notification_with_offer`` (valid 14 days);
    ``channel`` moves it to another channel; ``holdout_share`` sets the global holdout.
    """
    data = policy.model_dump(mode="json", exclude_none=True)
    idx = next(
        (
            i
            for i, c in enumerate(data["campaigns"])
            if c.get("cadence") is not None and c["cadence"].get("trigger") is None
        ),
        None,
    )
    if idx is None:
        raise InputError(f"policy {policy.name!r} has no scheduled campaign to vary")
    camp = data["campaigns"][idx]
    camp["cadence"] = {"every_n_days": int(every_n_days)}
    if channel is not None:
        camp["channel"] = channel
    if discount > 0:
        camp["type"] = "notification_with_offer"
        camp["content"] = "offer"
        camp["offer"] = {"discount": float(discount), "valid_days": 14}
    if holdout_share is not None:
        data.setdefault("guardrails", {})["holdout_share"] = float(holdout_share)
    change = describe_change(
        every_n_days=every_n_days, discount=discount, holdout_share=holdout_share, channel=channel
    )
    data["name"] = name or f"{policy.name} · {change}"
    return policy_from_dict(data, source="(what-if)")


def describe_change(
    *,
    every_n_days: int,
    discount: float = 0.0,
    holdout_share: float | None = None,
    channel: str | None = None,
) -> str:
    """The what-if in words: ``"every 3 days, 10% off, by sms, 5% holdout"``."""
    parts = [f"every {int(every_n_days)} day{'s' if int(every_n_days) != 1 else ''}"]
    if discount > 0:
        parts.append(f"{discount:.0%} off")
    if channel is not None:
        parts.append(f"by {channel}")
    if holdout_share:
        parts.append(f"{holdout_share:.0%} holdout")
    return ", ".join(parts)


@dataclass
class WhatIfResult:
    """The original and the variant, run on the same customers with the same luck."""

    base: Any
    variant: Any
    change: str = "the what-if"

    def table(self) -> pd.DataFrame:
        """Headline metrics of both runs and the change."""
        rows = []
        for m in HEADLINE:
            a, b = float(self.base.summary[m]), float(self.variant.summary[m])
            rows.append({"metric": m, "original": a, "what-if": b, "change": b - a})
        ma = self.base.summary.get("messages") or {}
        mb = self.variant.summary.get("messages") or {}
        for m in ("delivered", "unsubscribes", "complaints"):
            a, b = float(ma.get(m, 0)), float(mb.get(m, 0))
            rows.append({"metric": f"messages_{m}", "original": a, "what-if": b, "change": b - a})
        return pd.DataFrame(rows).set_index("metric")

    def styled_table(self) -> Any:
        """:meth:`table` for reading: money in whole currency units with thousands
        separators, rates as percentages, counts as whole numbers."""
        t = self.table()
        cur = self.base.summary.get("currency", "")
        fmt: dict[str, str] = {}
        for m in t.index:
            if m in ("retention_rate", "initial_base_retained"):
                fmt[m] = "{:.2%}"
            elif m in ("profit", "revenue", "contact_cost", "discount_cost"):
                fmt[m] = "{:,.0f} " + cur
            else:
                fmt[m] = "{:,.0f}"
        styler = t.style
        for m, f in fmt.items():
            styler = styler.format(f, subset=pd.IndexSlice[[m], :])
        return styler

    def figure(self) -> Figure:
        """Starting base still active and cumulative profit, original against what-if."""
        names = [self.base.summary["policy"], self.variant.summary["policy"]]
        colors = policy_colors(["original", "what-if"])
        fig = Figure(figsize=(11, 4), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        for key, res in (("original", self.base), ("what-if", self.variant)):
            d = res.daily
            n0 = max(res.summary["customers_start"], 1)
            ax1.plot(d.index, 100 * d["customers_initial_base"] / n0, color=colors[key], label=key)
            ax2.plot(d.index, d["profit"].cumsum(), color=colors[key], label=key)
        ax1.set_title("Starting customers still active")
        ax1.set_ylabel("% of the starting base")
        ax2.set_title(f"Cumulative profit ({self.base.summary['currency']})")
        ax2.set_ylabel(self.base.summary["currency"])
        for a in (ax1, ax2):
            a.set_xlabel("Date")
            a.legend()
            a.grid(alpha=0.3)
            a.tick_params(axis="x", rotation=30)
        fig.suptitle(
            f"What if the promotion went out {self.change}? Against {names[0]} as it is "
            "(same customers, same luck)"
        )
        return fig


def what_if(
    scenario: Scenario | str | Path,
    policy: Policy | str | Path,
    *,
    every_n_days: int = 7,
    discount: float = 0.0,
    holdout_share: float | None = None,
    channel: str | None = None,
    customers: int | None = 2000,
    days: int | None = 180,
    seed: int = 0,
) -> WhatIfResult:
    """Run a promo variant of ``policy`` against the policy itself, paired by seed."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    pol = policy if isinstance(policy, Policy) else load_policy(policy, scenario=sc)
    var = promo_variant(
        pol,
        every_n_days=every_n_days,
        discount=discount,
        holdout_share=holdout_share,
        channel=channel,
    )
    return WhatIfResult(
        base=simulate(sc, pol, seed=seed, customers=customers, days=days),
        variant=simulate(sc, var, seed=seed, customers=customers, days=days),
        change=describe_change(
            every_n_days=every_n_days,
            discount=discount,
            holdout_share=holdout_share,
            channel=channel,
        ),
    )


def controls(scenario: Scenario | str | Path, policy: Policy | str | Path, **kw: Any) -> Any:
    """ipywidgets controls that re-run :func:`what_if` and redraw (needs a widget front end to
    interact; without one the widget is simply not shown)."""
    import ipywidgets as w
    from IPython.display import display

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    pol = policy if isinstance(policy, Policy) else load_policy(policy, scenario=sc)

    def show(every_n_days: int, discount: float, holdout_share: float, channel: str) -> None:
        r = what_if(
            sc,
            pol,
            every_n_days=every_n_days,
            discount=discount,
            holdout_share=holdout_share,
            channel=channel,
            **kw,
        )
        display(r.styled_table())
        display(r.figure())

    return w.interactive(
        show,
        {"manual": True, "manual_name": "Run"},
        every_n_days=w.IntSlider(7, min=1, max=90, description="days between"),
        discount=w.FloatSlider(0.0, min=0.0, max=0.5, step=0.05, description="discount"),
        holdout_share=w.FloatSlider(0.0, min=0.0, max=0.5, step=0.05, description="holdout"),
        channel=w.Dropdown(
            options=[c for c in sc.channel_names if c != "phone"],
            value="email",
            description="channel",
        ),
    )
