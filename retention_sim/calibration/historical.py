"""Calibrated worlds that respond to contact: the fitted dropout shared among the churn causes,
set so that the fitted process is what the company's historical policy produced.

A purchase log fits one dropout hazard per customer. :func:`split_dropout` shares it among
the causes (by default as in the seed study of why customers leave: death 1%, relocation 4%,
friends 5%, lifestyle 8%, competitor 15%, dissatisfaction 20%, indifference 47%). The
behavioural causes have modifiers (the indifference clock, satisfaction, wake-ups), so a cause's
hazard in the simulator is its base times its modifier. The bases are set so that under the
**historical policy** (what the company actually sent while the log was written; default: no
contact at all) each cause's expected churn over the scenario's horizon is its share of the
fitted process's. The fitted purchase rates are likewise divided by the mean purchase
multiplier the historical policy's contacts gave. Under the historical policy the calibrated
world then reproduces the fitted process; under another policy churn and purchases move by
what the contacts change.

The expected churn is the summed daily hazard of the customers present (the compensator),
measured by simulating under the historical policy: first the fitted process (all of the
dropout in one acausal cause), then the split world in three passes. It is measured for the
observed customers (for ``churn.dropout_split``, which they use; one run, seed 0) and for the
synthetic base the scenario draws (for the causes' ``annual_probability``, which it uses; three
runs, seeds 0–2).

On a large log each base is measured on at most :data:`MEASURE_CAP` = 25,000 customers a pass
(:func:`measured_bases`): a random subsample of the observed customers (fixed seed, file order
kept), and three synthetic bases of 8,333 (one per seed). The written scenario keeps its real
``initial_customers``, and a historical policy's monthly budget and the desk's staff are scaled
with the share measured. What is measured is intensive (each cause's mean modifier, the summed
hazard against a target measured on the same customers, the purchase multiplier), so the
subsample adds sampling error only (its size depends on the log). On the benchmark's
two-million-row log (150,000 observed customers, a synthetic base of 102,212; twelve subsamples
for the observed customers and six for the synthetic base, each with its own run seeds) the
effective modifiers varied by 1.6% (sd) for the observed customers and 0.5% for the synthetic
base, and their ratios (indifference to the others) by 0.2% and 0.1%; with every customer (two
seeds) by 0.24% and 0.13%. The subsamples' means lie within 1.3% and 0.5% of the full
measurement's. The same seed-to-seed spread on the CDNOW sample, below the cap (2,357 observed
customers, 1,917 synthetic), is 23% and 6.6%. Much of the observed customers' spread, there and
at the cap (heavy-tailed: one subsample in twelve was 4% off), comes from the passes: a run's
summed hazard is not a smooth function of the scale (a change of it moves some churn days, and
the streams' draws move with the synthetic bases' probabilities), and the secant between two
close passes, whose elasticity may fall to 0.1 (:func:`_next_factors`), can multiply that noise
tenfold. The cap cuts the split of the two-million-row log from about 127 s to about 20 s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

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
    "measure_hazards",
    "measure_modifiers",
    "make_responsive",
    "MEASURE_CAP",
    "MeasuredBase",
    "measured_bases",
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
_PASSES = 4
#: Seeds of the measurement runs. The synthetic base is drawn afresh by each run (who survived
#: their history): on CDNOW its year's churn varies by 4.4% (sd) from seed to seed, so three
#: runs leave about 2.5% of noise in its scale.
_SEEDS: dict[str, tuple[int, ...]] = {"observed": (0,), "synthetic": (0, 1, 2)}
#: Customers a measurement run holds at most (observed and synthetic alike); see the module
#: docstring for the sampling error this leaves.
MEASURE_CAP = 25_000
_SUBSAMPLE_SEED = 0  # of the random subsample of the observed customers beyond the cap


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


def measure_hazards(
    scenario: Scenario,
    customers: pd.DataFrame | None,
    policy: Policy | None,
    *,
    seeds: Sequence[int] = (0,),
    size: int | None = None,
    fraction: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Run the observed customers (or, with ``customers=None``, the synthetic base the scenario
    draws) for the scenario's horizon under ``policy``, once per seed.

    ``size`` draws a synthetic base of that many customers instead of the scenario's
    ``initial_customers``; ``fraction`` says what share of the base the run holds (for a
    subsample of the observed customers or a smaller synthetic base), so that whatever the
    policy rations in absolute numbers stays in proportion: its ``monthly_budget`` is scaled by
    it, and the desk's staff as for ``customers=`` (at least one agent if any).

    Returns
    -------
    tuple
        Per cause, the daily hazards summed over the customers present, the days and the seeds
        (the compensator: its expectation is the expected churn of the cause) and the same
        without the modifiers; and the mean purchase multiplier the policy's contacts gave.
    """
    from ..model.build import build_world
    from ..model.simulation import assemble, run_world

    if policy is not None and policy.monthly_budget is not None and fraction != 1.0:
        policy = policy.with_overrides(
            {"monthly_budget": policy.monthly_budget * fraction}, name=policy.name
        )
    hazard, base, purchases = np.zeros(len(CAUSES)), np.zeros(len(CAUSES)), np.zeros(2)
    for seed in seeds:
        if customers is None:
            world = build_world(scenario, seed=seed, customers=size)
        else:
            world = build_world(scenario, seed=seed, history=customers)
            world.scale *= fraction  # the staff of the whole base, in proportion
        m = assemble(world, policy)
        m.churn.meter = (hazard, base)
        m.purchases.meter = purchases
        run_world(world, m)
    with_, without = purchases
    return hazard, base, float(with_ / without) if without > 0 else 1.0


def measure_modifiers(
    scenario: Scenario, customers: pd.DataFrame | None, policy: Policy | None, *, seed: int = 0
) -> tuple[dict[str, float], float]:
    """Each live cause's mean modifier under ``policy`` (hazard over base, summed over the
    customers present and the days; see :func:`measure_hazards`) and the purchase multiplier."""
    hazard, base, lift = measure_hazards(scenario, customers, policy, seeds=(seed,))
    modifiers: dict[str, float] = {
        c: float(hazard[k] / base[k]) for k, c in enumerate(CAUSES) if base[k] > 0
    }
    return modifiers, lift


class MeasuredBase(NamedTuple):
    """The customers a measurement run holds: the observed customers (all, or a subsample) or
    a synthetic base (``history`` None) of ``size`` customers (None: the scenario's), and the
    share of the whole base that is."""

    history: pd.DataFrame | None
    size: int | None
    fraction: float


def measured_bases(customers: pd.DataFrame, initial: int, cap: int) -> dict[str, MeasuredBase]:
    """The bases :func:`split_dropout` measures, each on at most ``cap`` customers a pass: the
    observed customers (one run), or a random subsample of ``cap`` of them (fixed seed, file
    order kept) when there are more; and the synthetic base (one run per seed of
    ``_SEEDS["synthetic"]``) of ``initial`` customers, or of each run's share of ``cap`` when
    ``initial`` is more."""
    n = len(customers)
    observed = MeasuredBase(customers, None, 1.0)
    if n > cap:
        keep = np.sort(np.random.default_rng(_SUBSAMPLE_SEED).choice(n, size=cap, replace=False))
        observed = MeasuredBase(customers.iloc[keep].reset_index(drop=True), None, cap / n)
    per_run = max(cap // len(_SEEDS["synthetic"]), 1)
    synthetic = MeasuredBase(None, None, 1.0)
    if initial > per_run:
        synthetic = MeasuredBase(None, per_run, per_run / initial)
    return {"observed": observed, "synthetic": synthetic}


def _measure(
    scenario: Scenario, base: MeasuredBase, policy: Policy | None, *, seeds: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, float]:
    return measure_hazards(
        scenario, base.history, policy, seeds=seeds, size=base.size, fraction=base.fraction
    )


def _annual(daily: float) -> float:
    return float(f"{min(-math.expm1(-365.0 * daily), 0.999999):.6g}")


def _next_factors(
    factor: dict[str, float],
    shares: dict[str, float],
    hazard: np.ndarray,
    base: np.ndarray,
    target: float,
    steps: list[tuple[float, float]],
) -> dict[str, float]:
    """The next bases (as multiples of the fitted hazard) from one measurement.

    Each cause's share of the hazard follows its mean modifier ``M_c`` (hazard over base):
    ``factor_c ∝ share_c / M_c``. Their common scale ``e = Σ factor_c M_c`` is moved so that the
    summed hazard ``Λ`` reaches ``target``: the first step assumes ``Λ ∝ e``; later ones use the
    elasticity measured between the last two steps (a secant in logs), because who is present,
    and for a synthetic base who survived their history, moves with the scale.
    """
    rows = {c: CAUSES.index(c) for c in shares}
    mod = {c: (hazard[k] / base[k] if base[k] > 0 else 1.0) for c, k in rows.items()}
    total = float(sum(hazard[k] for k in rows.values()))
    scale = float(sum(factor[c] * mod[c] for c in shares))
    steps.append((scale, total))
    elasticity = 1.0
    if len(steps) > 1:
        (e0, t0), (e1, t1) = steps[-2], steps[-1]
        if e0 > 0 and e1 > 0 and t0 > 0 and t1 > 0 and abs(math.log(e1 / e0)) > 1e-9:
            elasticity = min(max(math.log(t1 / t0) / math.log(e1 / e0), 0.1), 1.5)
    new_scale = scale * (target / total) ** (1.0 / elasticity) if total > 0 else scale
    return {c: new_scale * shares[c] / mod[c] for c in shares}


def split_dropout(
    data: dict[str, Any],
    customers: pd.DataFrame,
    shares: dict[str, float],
    *,
    historical: Policy | None,
    daily_dropout: float,
    dropout_cause: str,
    cap: int = MEASURE_CAP,
) -> tuple[dict[str, Any], dict[str, dict[str, float]], dict[str, float]]:
    """Share the fitted dropout among causes and set the bases under the historical policy.

    The target is the fitted process itself: the scenario with all of the dropout in
    ``dropout_cause`` (acausal) is run under the historical policy, and its summed hazard
    ``Λ`` (the expected churn) measured. Each cause's base is then scaled until, under the
    same policy, its own summed hazard is ``share × Λ``: each pass measures every cause's mean
    modifier ``M_c`` and the fitted hazard summed over the customers present ``E``, and sets
    ``base_c = share_c · Λ / (M_c · E)`` (three passes; the next pass corrects who is
    present). Two bases are set, each
    against its own target: ``churn.dropout_split`` for the observed customers (the customers
    file) and each cause's ``annual_probability`` for the synthetic base the scenario draws
    (``compare`` and ``run`` without a history), whose survivor selection (§3.2 of
    docs/model.md) uses the bases, not the modified hazards. Likewise
    ``population.purchase_rate_factor`` and the segment's mean purchase rate. Every run holds at
    most ``cap`` customers (:func:`measured_bases`): the target and the passes are measured on
    the same customers, and the scenario keeps its real ``initial_customers``.

    Parameters
    ----------
    data
        The calibrated scenario as a mapping, all of the dropout in ``dropout_cause`` (changed
        in place and returned).
    customers
        The customers file (validated table) the scenario was calibrated from.
    shares
        Share of the dropout per cause (summing to 1).
    historical
        The policy the company ran while the log was written (``None``: no contact).
    daily_dropout
        The fitted mean daily dropout hazard.
    dropout_cause
        The acausal cause that holds the fitted dropout.
    cap
        Most customers a measurement run holds (see :func:`measured_bases`).

    Returns
    -------
    tuple
        The scenario data; each cause's effective mean modifier under the historical policy
        (its share over its base's share of the fitted hazard), for the ``observed`` and the
        ``synthetic`` base; and the purchase multiplier of its contacts for each.
    """
    import copy

    kinds = measured_bases(customers, int(data["population"]["initial_customers"]), cap)
    fitted = scenario_from_dict(copy.deepcopy(data), source="(calibrated scenario)")
    k_drop = CAUSES.index(dropout_cause)
    target = {
        k: _measure(fitted, b, historical, seeds=_SEEDS[k])[0][k_drop] for k, b in kinds.items()
    }
    causes = data["churn"]["causes"]
    causes[dropout_cause]["annual_probability"] = 0.0
    seg = next(iter(data["population"]["segments"].values()))
    rate_mean = seg["purchase_rate_per_year"]["mean"]
    factor = {k: dict(shares) for k in kinds}  # base of cause c = fitted hazard × factor_c
    lift = {k: 1.0 for k in kinds}

    def write() -> None:
        obs, syn = factor["observed"], factor["synthetic"]
        data["churn"]["dropout_split"] = {c: float(f"{obs[c]:.6g}") for c in shares}
        for c in shares:
            causes.setdefault(c, {})["annual_probability"] = _annual(daily_dropout * syn[c])
            if c != "annoyance":
                causes[c]["frailty"] = True
        data["population"]["purchase_rate_factor"] = float(f"{1.0 / lift['observed']:.6g}")
        seg["purchase_rate_per_year"]["mean"] = float(f"{rate_mean / lift['synthetic']:.6g}")

    steps: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    for _ in range(_PASSES):
        write()
        sc = scenario_from_dict(data, source="(calibrated scenario)")
        for kind, b in kinds.items():
            hazard, base, lift[kind] = _measure(sc, b, historical, seeds=_SEEDS[kind])
            factor[kind] = _next_factors(
                factor[kind], shares, hazard, base, target[kind], steps[kind]
            )
    write()
    modifiers = {k: {c: shares[c] / factor[k][c] for c in shares} for k in kinds}
    return data, modifiers, lift


def make_responsive(
    data: dict[str, Any],
    customers: pd.DataFrame,
    *,
    split: str | Mapping[str, float],
    historical: Policy | None,
    historical_label: str,
    dropout_cause: str,
    cap: int = MEASURE_CAP,
) -> dict[str, Any]:
    """Split the calibrated scenario's fitted dropout (in ``dropout_cause``) among the causes
    under the historical policy (see the module docstring).

    Returns
    -------
    dict
        ``split`` (the shares, or ``None`` when all stays in ``dropout_cause``),
        ``modifiers`` and ``modifiers_synthetic`` (each cause's mean modifier under the
        historical policy, among the observed customers and in the synthetic base),
        ``purchase_multiplier`` and ``purchase_multiplier_synthetic`` (of its contacts),
        ``historical_policy`` (how it is named) and ``notes`` for the reader.
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
        data["population"]["last_valued_touch"] = "first_purchase"
    annual = data["churn"]["causes"][dropout_cause]["annual_probability"]
    daily = -math.log1p(-annual) / 365.0
    data, mods, lift = split_dropout(
        data,
        customers,
        shares,
        historical=historical,
        daily_dropout=daily,
        dropout_cause=dropout_cause,
        cap=cap,
    )
    obs, syn = mods["observed"], mods["synthetic"]
    prov = data.setdefault("provenance", {})
    origin = "seed study S002" if split == "seed" else "given with --split"
    for c, s in shares.items():
        # the total is fitted; how it divides among causes a purchase log cannot tell
        prov[f"churn.causes.{c}.annual_probability"] = {
            "kind": "assumption",
            "source": f"fitted dropout × an assumed share {s:.3g} ({origin}) / its mean "
            f"modifier {syn[c]:.3g} in the synthetic base under {historical_label}",
        }
    prov["churn.dropout_split.*"] = {
        "kind": "assumption",
        "source": f"share of churn by cause ({origin}) over its mean modifier among the "
        f"observed customers under {historical_label}; a purchase log cannot tell causes apart",
    }
    prov["population.purchase_rate_factor"] = {
        "kind": "fitted",
        "source": f"1 / the purchase multiplier of {historical_label}'s contacts",
    }
    info.update(
        modifiers=obs,
        modifiers_synthetic=syn,
        purchase_multiplier=lift["observed"],
        purchase_multiplier_synthetic=lift["synthetic"],
    )

    def moved(m: dict[str, float]) -> str:
        return ", ".join(f"{c} ×{v:.3g}" for c, v in m.items() if abs(v - 1.0) > 1e-9) or "all 1"

    info["notes"] = [
        f"dropout shared among causes ({', '.join(f'{c} {s:.0%}' for c, s in shares.items())}); "
        f"bases set so that under {historical_label} the fitted process is reproduced (mean "
        f"modifiers, observed customers: {moved(obs)}; synthetic base: {moved(syn)}; purchase "
        f"multiplier of its contacts {lift['observed']:.4g} / {lift['synthetic']:.4g})"
    ]
    n_obs, n_syn = len(customers), int(data["population"]["initial_customers"])
    if n_obs > cap or n_syn > cap // len(_SEEDS["synthetic"]):
        size = measured_bases(customers, n_syn, cap)["synthetic"].size or n_syn
        info["notes"].append(
            f"the split was measured on at most {cap:,} customers a pass: "
            f"{min(n_obs, cap):,} of the {n_obs:,} observed customers (a random subsample, "
            f"fixed seed) and synthetic bases of {size:,} (the scenario keeps {n_syn:,}); the "
            "sampling error this leaves is 1-2% in the modifiers (docs/model.md)"
        )
    return info
