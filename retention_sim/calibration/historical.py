"""Calibrated worlds that respond to contact: the fitted dropout shared among the churn causes,
set so that the fitted process is what the company's historical policy produced.

A purchase log fits one dropout hazard per customer. :func:`split_dropout` shares it among
the causes (by default as in the seed study of why customers leave: death 1%, relocation 4%,
friends 5%, lifestyle 8%, competitor 15%, dissatisfaction 20%, indifference 47%). The
behavioural causes have modifiers (the indifference clock, satisfaction, wake-ups), so a cause's
hazard in the simulator is its base times its modifier; the base is set so that under the
**historical policy** (what the company actually sent while the log was written; default: no
contact at all) each cause's hazard, averaged over the customers and the first year, is its
share of the fitted dropout. The fitted purchase rates are likewise divided by the mean purchase
multiplier the historical policy's contacts gave. Under the historical policy the calibrated
world then reproduces the fitted process; under another policy churn and purchases move by
what the contacts change.

The mean modifiers are measured by simulating the observed customers under the historical
policy (two passes, one replication each, seed 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..config.policy import Policy, check_against_scenario
from ..config.scenario import Scenario, scenario_from_dict
from ..errors import InputError
from ..vocabulary import CAUSES

__all__ = [
    "SEED_SHARES",
    "parse_split",
    "check_historical",
    "split_dropout",
    "measure_modifiers",
    "make_responsive",
]

#: Share of churn by cause at business as usual (seed study S002); over-contact has none.
SEED_SHARES: dict[str, float] = {
    "death": 0.01,
    "relocation": 0.04,
    "friends": 0.05,
    "lifestyle": 0.08,
    "competitor": 0.15,
    "dissatisfaction": 0.20,
    "indifference": 0.47,
}
_PASSES = 2


def parse_split(split: str | Mapping[str, float]) -> dict[str, float] | None:
    """``"seed"`` (the seed study's shares), ``"lifestyle"`` (all in one acausal cause: the
    fitted model alone, nothing responds to contact), or ``{cause: share}`` (normalised; as
    text ``"cause=share,cause=share"``)."""
    if isinstance(split, str):
        if split == "seed":
            return dict(SEED_SHARES)
        if split == "lifestyle":
            return None
        pairs = [p.partition("=") for p in split.split(",") if p.strip()]
        try:
            split = {k.strip(): float(v) for k, eq, v in pairs if eq}
        except ValueError:
            split = {}
        if not split or len(split) != len(pairs):
            raise InputError(
                f"--split must be seed, lifestyle or CAUSE=SHARE,... (e.g. "
                f"indifference=0.5,lifestyle=0.5), got {split!r}"
            )
    unknown = sorted(set(split) - set(CAUSES))
    if unknown:
        raise InputError(f"--split names unknown cause(s) {unknown}; causes: {', '.join(CAUSES)}")
    total = float(sum(split.values()))
    if not all(v >= 0 and math.isfinite(v) for v in split.values()) or total <= 0:
        raise InputError("--split shares must be non-negative numbers with a positive sum")
    return {c: v / total for c, v in split.items() if v > 0}


def check_historical(policy: Policy | None, data: dict[str, Any], source: str) -> str:
    """Check the historical policy against the calibrated scenario (``data``); return how the
    notes name it. ``source`` names its file in errors."""
    if policy is None:
        return "no contact (the default: say --historical-policy otherwise)"

    check_against_scenario(policy, scenario_from_dict(data, source="(calibrated)"), source)
    return f"the historical policy {policy.name!r} ({policy.content_hash()})"


def measure_modifiers(
    scenario: Scenario, customers: pd.DataFrame, policy: Policy | None, *, seed: int = 0
) -> tuple[dict[str, float], float]:
    """Run the observed customers for the scenario's horizon under ``policy``; return each
    live cause's mean modifier (hazard over base, summed over customers present and days) and
    the mean purchase multiplier the policy's contacts gave."""
    from ..model.build import build_world
    from ..model.simulation import assemble, run_world

    world = build_world(scenario, seed=seed, history=customers)
    m = assemble(world, policy)
    m.churn.meter = (np.zeros(len(CAUSES)), np.zeros(len(CAUSES)))
    m.purchases.meter = np.zeros(2)
    run_world(world, m)
    hazard, base = m.churn.meter
    modifiers: dict[str, float] = {
        c: float(hazard[k] / base[k]) for k, c in enumerate(CAUSES) if base[k] > 0
    }
    with_, without = m.purchases.meter
    return modifiers, float(with_ / without) if without > 0 else 1.0


def split_dropout(
    data: dict[str, Any],
    customers: pd.DataFrame,
    shares: dict[str, float],
    *,
    historical: Policy | None,
    daily_dropout: float,
) -> tuple[dict[str, Any], dict[str, float], float]:
    """Share the fitted dropout among causes and set the bases under the historical policy.

    Parameters
    ----------
    data
        The calibrated scenario as a mapping (changed in place and returned).
    customers
        The customers file (validated table) the scenario was calibrated from.
    shares
        Share of the dropout per cause (summing to 1).
    historical
        The policy the company ran while the log was written (``None``: no contact).
    daily_dropout
        The fitted mean daily dropout hazard (for the scenario-level probabilities).

    Returns
    -------
    tuple
        The scenario data, each cause's mean modifier under the historical policy, and the
        purchase multiplier of its contacts.
    """
    causes = data["churn"]["causes"]
    seg = next(iter(data["population"]["segments"].values()))
    rate_mean = seg["purchase_rate_per_year"]["mean"]
    modifiers = {c: 1.0 for c in shares}
    lift = 1.0
    for _ in range(_PASSES):
        split = {c: s / modifiers[c] for c, s in shares.items()}
        data["churn"]["dropout_split"] = split
        for c, s in split.items():
            p = -math.expm1(-365.0 * daily_dropout * s)
            causes.setdefault(c, {})
            causes[c]["annual_probability"] = float(f"{min(p, 0.999999):.6g}")
            if c != "annoyance":
                causes[c]["frailty"] = True
        data["population"]["purchase_rate_factor"] = 1.0 / lift
        seg["purchase_rate_per_year"]["mean"] = float(f"{rate_mean / lift:.6g}")
        sc = scenario_from_dict(data, source="(calibrated scenario)")
        measured, lift = measure_modifiers(sc, customers, historical)
        # a modifier is hazard over base: the base's scale does not change it, so the second
        # pass only corrects who is still there (the mix of customers)
        modifiers = {c: measured.get(c, 1.0) for c in shares}
    split = {c: s / modifiers[c] for c, s in shares.items()}
    data["churn"]["dropout_split"] = {c: float(f"{v:.6g}") for c, v in split.items()}
    for c, s in split.items():
        causes[c]["annual_probability"] = float(
            f"{min(-math.expm1(-365.0 * daily_dropout * s), 0.999999):.6g}"
        )
    return data, modifiers, lift


def make_responsive(
    data: dict[str, Any],
    customers: pd.DataFrame,
    *,
    split: str | Mapping[str, float],
    historical: Policy | None,
    historical_label: str,
    dropout_cause: str,
) -> dict[str, Any]:
    """Split the calibrated scenario's fitted dropout (in ``dropout_cause``) among the causes
    under the historical policy (see the module docstring).

    Returns
    -------
    dict
        ``split`` (the shares, or ``None`` when all stays in ``dropout_cause``),
        ``modifiers`` (each cause's mean modifier under the historical policy),
        ``purchase_multiplier`` (of its contacts), ``historical_policy`` (how it is named)
        and ``notes`` for the reader.
    """
    shares = parse_split(split)
    info: dict[str, Any] = {
        "split": shares,
        "modifiers": {},
        "purchase_multiplier": 1.0,
        "historical_policy": historical_label,
        "notes": [],
    }
    if shares is None:
        return info
    if historical is None:  # nothing touched them since they arrived
        data["population"]["observed_last_valued_touch"] = "first_purchase"
    causes = data["churn"]["causes"]
    annual = causes[dropout_cause]["annual_probability"]
    daily = -math.log1p(-annual) / 365.0
    causes[dropout_cause]["annual_probability"] = 0.0
    data, modifiers, lift = split_dropout(
        data, customers, shares, historical=historical, daily_dropout=daily
    )
    moved = ", ".join(f"{c} ×{m:.3g}" for c, m in modifiers.items() if abs(m - 1.0) > 1e-9)
    prov = data.setdefault("provenance", {})
    origin = "seed study S002" if split == "seed" else "given with --split"
    for c, s in shares.items():
        # the total is fitted; how it divides among causes a purchase log cannot tell
        prov[f"churn.causes.{c}.annual_probability"] = {
            "kind": "assumption",
            "source": f"fitted dropout × an assumed share {s:.3g} ({origin}) / its mean "
            f"modifier {modifiers[c]:.3g} under {historical_label}",
        }
    prov["churn.dropout_split.*"] = {
        "kind": "assumption",
        "source": f"share of churn by cause ({origin}) over its mean modifier under "
        f"{historical_label}; a purchase log cannot tell causes apart",
    }
    prov["population.purchase_rate_factor"] = {
        "kind": "fitted",
        "source": f"1 / the purchase multiplier of {historical_label}'s contacts",
    }
    info.update(modifiers=modifiers, purchase_multiplier=lift)
    info["notes"] = [
        f"dropout shared among causes ({', '.join(f'{c} {s:.0%}' for c, s in shares.items())}); "
        f"bases set so that under {historical_label} the fitted process is reproduced "
        f"(mean modifiers {moved or 'all 1'}; purchase multiplier of its contacts {lift:.4g})"
    ]
    return info
