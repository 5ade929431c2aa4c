"""Customer traits drawn at creation: segment, purchase rate, spend, frailty, tolerances,
sensitivities, consent, preferred channel, birthday, each cause's base hazard, churn clocks and
starting satisfaction.

:func:`draw_traits` is the one place traits are drawn; the synthetic base, the arrivals, the
referral reserve and the observed customers (:mod:`retention_sim.model.observed`) all use it,
so a trait added here reaches every kind of customer.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..config.scenario import Scenario
from ..errors import ProbabilityClipWarning
from ..vocabulary import CAUSES, CHANNELS

__all__ = [
    "TRAIT_NAMES",
    "TRAIT_BATCH",
    "daily_hazard",
    "cause_base_hazards",
    "draw_traits",
    "draw_traits_in_batches",
    "take",
    "concat",
]

_EPS = 1e-12
_TINY = np.finfo(np.float64).tiny

#: The traits :func:`draw_traits` returns, one array per name (``base_hazard`` and
#: ``churn_clock`` per cause, ``consent`` per channel).
TRAIT_NAMES: tuple[str, ...] = (
    "segment",
    "purchase_rate",
    "spend_nu",
    "frailty",
    "fatigue_tolerance",
    "reward_sensitivity",
    "discount_sensitivity",
    "consent",
    "preferred_channel",
    "birthday_doy",
    "base_hazard",
    "churn_clock",
    "satisfaction",
)


def daily_hazard(annual_probability: np.ndarray | float) -> np.ndarray | float:
    """Constant daily hazard that gives ``annual_probability`` of leaving within 365 days.

    ``h = -ln(1 - p) / 365``.
    """
    p = np.clip(annual_probability, 0.0, 1.0 - _EPS)
    return -np.log1p(-p) / 365.0


def _gamma_trait(rng: np.random.Generator, mean: float, shape: float, n: int) -> np.ndarray:
    return rng.gamma(shape, mean / shape, size=n)


def cause_base_hazards(
    scenario: Scenario, frailty: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Daily base hazard per customer and cause at neutral modifiers.

    A cause with ``yearly_probability_beta`` draws each customer's yearly probability from
    Beta(alpha, beta) (the shifted-beta-geometric model); otherwise the cause's
    ``annual_probability`` is turned into a daily hazard and, when the cause is frailty-driven,
    multiplied by the customer's frailty. Every hazard is then multiplied by
    ``churn.hazard_scale``.
    """
    n = frailty.shape[0]
    causes = scenario.churn.causes
    out = np.zeros((n, len(CAUSES)))
    for k, name in enumerate(CAUSES):
        cause = getattr(causes, name)
        if name == "annoyance":
            continue  # no hazard at neutral fatigue; see mechanisms.churn
        beta = getattr(cause, "yearly_probability_beta", None)
        if beta is not None:
            theta = rng.beta(beta.alpha, beta.beta, size=n)
            out[:, k] = daily_hazard(theta)
        else:
            h = daily_hazard(cause.annual_probability)
            out[:, k] = h * frailty if cause.frailty else h
    out *= scenario.churn.hazard_scale  # exact when 1
    return out


def draw_traits(scenario: Scenario, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Draw the fixed traits of ``n`` customers from the scenario's segment mix."""
    seg_list = list(scenario.population.segments.values())
    shares = np.array([s.share for s in seg_list])
    segment = rng.choice(len(seg_list), size=n, p=shares / shares.sum()).astype(np.int16)
    rate = np.empty(n)
    nu = np.empty(n)
    frailty = np.ones(n)
    tol = np.empty(n)
    rew = np.empty(n)
    disc = np.empty(n)
    consent_mult = np.ones((n, len(CHANNELS)))
    for s_idx, seg in enumerate(seg_list):
        m = segment == s_idx
        k = int(m.sum())
        if k == 0:
            continue
        pr = seg.purchase_rate_per_year
        rate[m] = _gamma_trait(rng, pr.mean, pr.shape, k) / 365.0
        sp = seg.spend
        gamma_scale = sp.mean_per_purchase * (sp.q - 1.0) / sp.p  # E[p/nu] = p*gamma/(q-1)
        nu[m] = rng.gamma(sp.q, 1.0 / gamma_scale, size=k)
        if seg.frailty_shape is not None:
            frailty[m] = _gamma_trait(rng, 1.0, seg.frailty_shape, k)
        tol[m] = _gamma_trait(rng, seg.fatigue_tolerance.mean, seg.fatigue_tolerance.shape, k)
        rew[m] = _gamma_trait(rng, seg.reward_sensitivity.mean, seg.reward_sensitivity.shape, k)
        disc[m] = _gamma_trait(
            rng, seg.discount_sensitivity.mean, seg.discount_sensitivity.shape, k
        )
        for c_idx, ch in enumerate(CHANNELS):
            if ch in seg.consent_multiplier:
                consent_mult[m, c_idx] = seg.consent_multiplier[ch]
    consent_share = np.array(
        [scenario.channels[c].consent_share if c in scenario.channels else 0.0 for c in CHANNELS]
    )
    p_consent = consent_share * consent_mult
    if (p_consent > 1.0).any():
        worst = CHANNELS[int(np.argmax(p_consent.max(axis=0)))]
        warnings.warn(
            f"consent_share × segment consent_multiplier exceeds 1 on channel {worst!r}; "
            "clipped to 1",
            ProbabilityClipWarning,
            stacklevel=3,
        )
    consent = rng.random((n, len(CHANNELS))) < np.clip(p_consent, 0.0, 1.0)
    weights = np.array(
        [
            scenario.channels[c].preference_weight if c in scenario.channels else 0.0
            for c in CHANNELS
        ]
    )
    # preferred channel: weighted draw among consented channels (-1 when none)
    w = consent * weights
    tot = w.sum(axis=1)
    u = rng.random(n) * tot
    preferred = (np.cumsum(w, axis=1) < u[:, None]).sum(axis=1).astype(np.int8)
    preferred[tot <= 0] = -1
    birthday = rng.integers(0, 365, size=n).astype(np.int16)
    birthday[rng.random(n) >= scenario.population.birthday_known_share] = -1
    base_hazard = cause_base_hazards(scenario, frailty, rng)
    # churn clocks start at Exp(1); a clock must start above 0 (an exact 0 would fire at once)
    threshold = np.maximum(rng.standard_exponential((n, len(CAUSES))), _TINY)
    sat = scenario.satisfaction
    satisfaction = np.clip(sat.reference + sat.spread * rng.standard_normal(n), 0.0, 1.0)
    return {
        "segment": segment,
        "purchase_rate": rate,
        "spend_nu": nu,
        "frailty": frailty,
        "fatigue_tolerance": tol,
        "reward_sensitivity": rew,
        "discount_sensitivity": disc,
        "consent": consent,
        "preferred_channel": preferred,
        "birthday_doy": birthday,
        "base_hazard": base_hazard.astype(np.float32),
        "churn_clock": threshold,
        "satisfaction": satisfaction,
    }


def take(d: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    """The rows ``idx`` of every trait."""
    return {k: v[idx] for k, v in d.items()}


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Traits of several groups of customers, one after the other."""
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


#: Customers drawn per batch: bounds the temporaries of a large build (a few tens of MB).
TRAIT_BATCH = 1 << 16


def draw_traits_in_batches(
    scenario: Scenario, rng: np.random.Generator, n: int
) -> dict[str, np.ndarray]:
    """:func:`draw_traits` in batches of at most ``TRAIT_BATCH`` customers (one call when fewer)."""
    if n <= TRAIT_BATCH:
        return draw_traits(scenario, rng, n)
    return concat(
        [draw_traits(scenario, rng, min(TRAIT_BATCH, n - i)) for i in range(0, n, TRAIT_BATCH)]
    )
