"""What a policy does, in words: its description and one line per campaign, for the report."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..config.policy import Campaign, Policy

__all__ = ["describe_campaign", "policies_table", "cadence_recommendation"]


def _when(c: Campaign) -> str:
    cad = c.cadence
    if cad is None:
        return {
            "thank_you": f"{c.delay_days} day(s) after each purchase"
            if c.delay_days
            else "on the day of each purchase",
            "birthday": f"{c.days_before} day(s) before the birthday"
            if c.days_before
            else "on the birthday",
            "win_back": f"after {c.after_days} days without a purchase",
            "tier_up": "on tier news (" + ", ".join(c.notify_on) + ")",
        }.get(c.type, "when triggered")
    if cad.every_n_days:
        return f"every {cad.every_n_days} days"
    if cad.every:
        when = {
            "daily": "every day",
            "weekly": "every week",
            "biweekly": "every two weeks",
            "monthly": "every month",
            "quarterly": "every quarter",
        }[cad.every]
        if cad.weekday:
            when += f" on {cad.weekday}"
        if cad.day_of_month:
            when += f" on day {cad.day_of_month}"
        return when
    if cad.dates:
        return f"on {len(cad.dates)} dates"
    if cad.trigger:
        return f"on trigger {cad.trigger}"
    return "scheduled"


def _who(c: Campaign) -> str:
    a = c.audience
    parts: list[str] = []
    for label, v in (
        ("stages", a.stages),
        ("segments", a.segments),
        ("tiers", a.tiers),
        ("RFM", a.rfm),
        ("consent", a.consent),
    ):
        if v:
            parts.append(f"{label} {', '.join(map(str, v))}")
    if a.days_since_purchase is not None:
        parts.append(f"days since purchase {a.days_since_purchase}")
    if a.members_only:
        parts.append("members only")
    return "; ".join(parts) or "everyone with consent"


def _offer(c: Campaign) -> str:
    o = c.offer
    if o is None:
        return ""
    bits = []
    if o.discount:
        bits.append(f"{o.discount:.0%} off for {o.valid_days} days")
    if o.bonus_points:
        bits.append(f"{o.bonus_points:g} bonus points")
    if o.gift_value:
        bits.append(f"a gift worth {o.gift_value:,.0f}")
    return ", ".join(bits)


def describe_campaign(c: Campaign) -> str:
    """One line: ``"promo: promotion by email every 7 days, to stages active, loyal; 10% off"``."""
    if c.type == "journey" and c.steps:
        text = f"{c.name}: a journey of {len(c.steps)} steps, to {_who(c)}"
    else:
        text = f"{c.name}: {c.type.replace('_', ' ')} by {c.channel} {_when(c)}, to {_who(c)}"
    offer = _offer(c)
    return text + (f"; {offer}" if offer else "")


def policies_table(policies: dict[str, Policy | Any]) -> pd.DataFrame:
    """One row per policy and campaign: ``policy``, ``description`` and ``campaign`` (the line
    of :func:`describe_campaign`); a policy without campaigns sends nothing."""
    rows = []
    for name, p in policies.items():
        if p is None or not getattr(p, "campaigns", None):
            rows.append({"policy": name, "description": "no marketing contact", "campaign": "—"})
            continue
        for i, c in enumerate(p.campaigns):
            rows.append(
                {
                    "policy": name if i == 0 else "",
                    "description": (p.description or "") if i == 0 else "",
                    "campaign": describe_campaign(c),
                }
            )
    return pd.DataFrame(rows)


def cadence_recommendation(
    curve: pd.DataFrame, field: str, *, segment: str, channel: str, currency: str
) -> str:
    """The recommendation of a cadence sweep (:func:`~retention_sim.study.sweep.sweep`) in
    words: the best cadence with its profit interval, the cadences that tie it (paired interval
    includes zero), those clearly worse, and those with more profit whose guardrails are not
    shown to hold.

    Parameters
    ----------
    curve
        The sweep's frame, long or wide (:func:`~retention_sim.study.sweep.sweep_wide`).
    field
        The swept field (the days between messages).
    segment, channel, currency
        For the sentence.
    """
    from ..study.sweep import sweep_wide

    curve = sweep_wide(curve)
    flags = curve["best"]
    if not flags.any():
        return "The sweep marked no best cadence, so there is nothing to recommend."
    best = curve[flags].iloc[0]
    others = curve[~flags]
    tied = others["ties_best"]

    def days(mask: pd.Series) -> str:
        return ", ".join(str(int(v)) for v in others.loc[mask, field])

    close, worse = days(tied), days(others["diff_vs_best_high"] < 0)
    higher = days(others["diff_vs_best_low"] > 0)
    head = f"{'an' if channel[0] in 'aeiou' else 'a'} {channel} message every **{int(best[field])} days**"
    money = (
        f"profit {best['profit_mean']:,.0f} {currency} (95% interval {best['profit_low']:,.0f} "
        f"to {best['profit_high']:,.0f})"
    )
    if close:
        text = (
            f"The highest profit for the {segment} segment is {head}: {money}. It is not "
            f"separated from every {close} days at this sample size (the paired interval "
            "includes zero), so these data cannot pick between them. "
        )
    else:
        text = f"Send the {segment} segment {head}: {money}. "
    if worse:
        text += f"Clearly worse (paired intervals): every {worse} days. "
    if higher:
        text += f"More profit, but a guardrail is not shown to hold: every {higher} days. "
    if not curve.attrs.get("best_feasible", True):
        text += "No cadence holds every guardrail: this is the highest mean of all."
    return text.strip()
