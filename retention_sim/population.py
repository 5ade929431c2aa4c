"""The population: one row per customer, held as a structure of NumPy arrays.

Rows ``0 .. n_initial-1`` are the existing base at day 0 (mixed tenure and recency, survivors of
their own history); the rows after them are the arrivals of the whole horizon, drawn up front so
that every policy sees the same customers (common random numbers). A row whose ``acquired_day`` is
still in the future has stage ``PENDING``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ProbabilityClipWarning
from .random_streams import Streams
from .scenario import Scenario
from .vocabulary import CAUSES, CHANNELS, Stage

__all__ = [
    "Population",
    "build_population",
    "daily_hazard",
    "cause_base_hazards",
    "gather_ties",
    "total_fatigue",
]

_EPS = 1e-12
_TINY = np.finfo(np.float64).tiny


def daily_hazard(annual_probability: np.ndarray | float) -> np.ndarray | float:
    """Constant daily hazard that gives ``annual_probability`` of leaving within 365 days.

    ``h = -ln(1 - p) / 365``.
    """
    p = np.clip(annual_probability, 0.0, 1.0 - _EPS)
    return -np.log1p(-p) / 365.0


@dataclass
class Population:
    """Traits (fixed at creation) and state (evolving) of every customer row.

    All arrays have length ``capacity`` (initial base plus every arrival of the horizon), except the
    per-cause arrays (``capacity × len(CAUSES)``) and the per-channel arrays
    (``capacity × len(CHANNELS)``). Days are integers relative to the scenario's start date.
    """

    n_initial: int
    segment_names: tuple[str, ...]
    tier_names: tuple[str, ...]
    # --- traits
    segment: np.ndarray
    acquired_day: np.ndarray
    consent: np.ndarray
    preferred_channel: np.ndarray
    birthday_doy: np.ndarray
    purchase_rate: np.ndarray  # purchases per day at neutral modifiers
    spend_nu: np.ndarray  # gamma-gamma scale: mean spend = p / nu
    frailty: np.ndarray
    fatigue_tolerance: np.ndarray
    reward_sensitivity: np.ndarray
    discount_sensitivity: np.ndarray
    base_hazard: np.ndarray  # daily hazard per cause at neutral modifiers (float32)
    segment_cycle_days: (
        np.ndarray
    )  # typical purchase cycle of each segment (for customers with one purchase)
    # --- social ties (CSR)
    tie_indptr: np.ndarray
    tie_indices: np.ndarray
    # --- state
    stage: np.ndarray
    first_purchase_day: np.ndarray
    last_purchase_day: np.ndarray
    n_purchases: np.ndarray
    spend_total: np.ndarray
    points: np.ndarray
    period_points: np.ndarray
    tier: np.ndarray
    upgraded_day: np.ndarray
    demoted_day: np.ndarray
    last_reward_day: np.ndarray
    satisfaction: np.ndarray
    last_valued_touch_day: np.ndarray
    unresolved: np.ndarray
    churn_clock: np.ndarray  # hazard still to go per cause (starts Exp(1)); fires at ≤ 0
    churn_day: np.ndarray
    churn_cause: np.ndarray
    times_won_back: np.ndarray
    won_back_day: np.ndarray
    exposure: np.ndarray
    fatigue: np.ndarray
    unsubscribed: np.ndarray
    has_account_manager: np.ndarray
    onboarded: np.ndarray
    pv_contribution: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def capacity(self) -> int:
        """Number of rows: the initial base plus every arrival of the horizon."""
        return int(self.segment.shape[0])


# ------------------------------------------------------------------------------------ traits
def _gamma_trait(rng: np.random.Generator, mean: float, shape: float, n: int) -> np.ndarray:
    return rng.gamma(shape, mean / shape, size=n)


def cause_base_hazards(
    scenario: Scenario, frailty: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Daily base hazard per customer and cause at neutral modifiers.

    A cause with ``yearly_probability_beta`` draws each customer's yearly probability from
    Beta(alpha, beta) (the shifted-beta-geometric model); otherwise the cause's
    ``annual_probability`` is turned into a daily hazard and, when the cause is frailty-driven,
    multiplied by the customer's frailty.
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
    return out


def _draw_traits(scenario: Scenario, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
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


def _take(d: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in d.items()}


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


# customers drawn per batch: bounds the temporaries of a large build (a few tens of MB)
_BATCH = 1 << 16


def _draw_traits_in_batches(
    scenario: Scenario, rng: np.random.Generator, n: int
) -> dict[str, np.ndarray]:
    """:func:`_draw_traits` in batches of at most ``_BATCH`` customers (one call when fewer)."""
    if n <= _BATCH:
        return _draw_traits(scenario, rng, n)
    return _concat([_draw_traits(scenario, rng, min(_BATCH, n - i)) for i in range(0, n, _BATCH)])


# ------------------------------------------------------------------------------------ builder
def build_population(
    scenario: Scenario,
    streams: Streams,
    *,
    n_initial: int,
    arrivals_per_day: float,
    horizon_days: int,
    n_reserve: int = 0,
    history: Any = None,
) -> Population:
    """Create the starting base and every arrival of the horizon.

    Parameters
    ----------
    scenario
        The validated scenario.
    streams
        The replication's random streams; only ``population``, ``arrivals`` and ``ties`` are used.
    n_initial
        Size of the existing base on day 0.
    arrivals_per_day
        Mean number of new customers per day (Poisson).
    horizon_days
        Length of the simulation in days.
    n_reserve
        Extra rows that can arrive only through referrals (drawn from their own stream and
        placed last, so the base and the ordinary arrivals are the same whatever the reserve).
    history
        Observed customers (a customers file or its table, see :mod:`retention_sim.observed`).
        When given, they replace the synthetic starting base and ``n_initial`` is ignored.

    Returns
    -------
    Population
        Arrays for ``n_initial`` + (number of arrivals) rows.
    """
    if history is not None:
        from .observed import build_observed_population

        return build_observed_population(
            scenario,
            streams,
            history,
            arrivals_per_day=arrivals_per_day,
            horizon_days=horizon_days,
            n_reserve=n_reserve,
        )
    seg_list = list(scenario.population.segments.values())
    p_spend = np.array([s.spend.p for s in seg_list])
    loyalty = scenario.loyalty
    thresholds = np.array([t.threshold_points for t in loyalty.tiers])
    window = loyalty.qualification_window_days

    # --- the existing base: survivors of their own history ------------------------------
    rng = streams["population"]
    ten = scenario.population.tenure
    parts: list[dict[str, np.ndarray]] = []
    tenures: list[np.ndarray] = []
    got = 0
    while got < n_initial:
        batch = min(_BATCH, max(1024, int((n_initial - got) * 1.5)))
        cand = _draw_traits(scenario, rng, batch)
        if ten.mean_years > 0:
            max_days = ten.max_years * 365.0
            # exponential truncated at max_days, by inverse CDF
            scale = ten.mean_years * 365.0
            u = rng.random(batch)
            t = -scale * np.log1p(-u * (1.0 - np.exp(-max_days / scale)))
            t = np.floor(t)
        else:
            t = np.zeros(batch)
        survive = np.exp(-cand["base_hazard"].sum(axis=1, dtype=np.float64) * t)
        keep = np.flatnonzero(rng.random(batch) < survive)[: n_initial - got]
        parts.append(_take(cand, keep))
        tenures.append(t[keep])
        got += keep.size
    if not parts:
        parts.append(_draw_traits(scenario, rng, 0))
    # only the columns the purchase history needs; all traits are joined once, below
    base = {
        k: np.concatenate([p[k] for p in parts]) for k in ("purchase_rate", "segment", "spend_nu")
    }
    tenure = np.concatenate(tenures) if tenures else np.zeros(0)
    n0 = int(n_initial)

    # purchase history over the tenure: first purchase at acquisition, repeats Poisson(rate * T)
    repeats = rng.poisson(base["purchase_rate"] * tenure)
    acquired = -tenure.astype(np.int64)
    u_last = rng.random(n0) ** (1.0 / np.maximum(repeats, 1))
    last = np.where(repeats > 0, acquired + np.floor(u_last * tenure), acquired).astype(np.int64)
    last = np.minimum(last, 0)
    p_seg = p_spend[base["segment"]] if n0 else np.zeros(0)
    counts = repeats + 1
    spend_total = np.zeros(n0)
    if n0:
        spend_total = rng.gamma(counts * p_seg, 1.0 / base["spend_nu"])
    # purchases inside the last qualification window set the starting tier
    in_window = np.minimum(window, tenure + 1) / np.maximum(tenure + 1, 1.0)
    recent = rng.binomial(counts, np.clip(in_window, 0.0, 1.0))
    recent_spend = np.zeros(n0)
    pos = recent > 0
    recent_spend[pos] = rng.gamma(recent[pos] * p_seg[pos], 1.0 / base["spend_nu"][pos])
    recent_points = recent_spend * loyalty.points_per_currency if loyalty.enabled else np.zeros(n0)
    tier0 = (np.searchsorted(thresholds, recent_points, side="right") - 1).astype(np.int8)
    points0 = rng.random(n0) * loyalty.redemption_points if loyalty.enabled else np.zeros(n0)
    touch0 = -np.floor(rng.random(n0) * np.minimum(tenure, 90.0)).astype(np.int64)

    # --- arrivals over the horizon ---------------------------------------------------------
    arng = streams["arrivals"]
    per_day = arng.poisson(arrivals_per_day, size=horizon_days) if arrivals_per_day > 0 else None
    n_arr = int(per_day.sum()) if per_day is not None else 0
    arr = _draw_traits_in_batches(scenario, arng, n_arr)
    arr_day = (
        np.repeat(np.arange(horizon_days), per_day) if per_day is not None else np.zeros(0, int)
    )
    arr_first_spend = np.zeros(n_arr)
    if n_arr:
        p_arr = p_spend[arr["segment"]]
        arr_first_spend = arng.gamma(p_arr, 1.0 / arr["spend_nu"])

    if n_reserve > 0:
        rrng = streams["referral_pool"]
        res = _draw_traits_in_batches(scenario, rrng, n_reserve)
        res_spend = rrng.gamma(p_spend[res["segment"]], 1.0 / res["spend_nu"])
        arr_parts = [arr, res]
        arr_day = np.concatenate([arr_day, np.full(n_reserve, horizon_days)])
        arr_first_spend = np.concatenate([arr_first_spend, res_spend])
        n_arr += n_reserve
    else:
        arr_parts = [arr]

    traits = _concat(parts + arr_parts)
    del parts, arr_parts
    cap = n0 + n_arr

    # --- social ties: an undirected random graph with the given mean degree ----------------
    # ties among the rows every policy shares; reserve rows get ties only through referrals
    indptr, indices = _random_ties(streams["ties"], cap - n_reserve, scenario.social.mean_ties)
    indptr = np.concatenate([indptr, np.full(n_reserve, indptr[-1], dtype=indptr.dtype)])

    # --- state ----------------------------------------------------------------------------
    acquired_day = np.concatenate([acquired, arr_day]).astype(np.int32)
    stage = np.full(cap, Stage.PENDING, dtype=np.int8)
    first_purchase = acquired_day.copy()
    last_purchase = np.concatenate([last, arr_day]).astype(np.int32)
    n_purchases = np.concatenate([counts, np.ones(n_arr, dtype=np.int64)]).astype(np.int32)
    spend = np.concatenate(
        [spend_total, np.zeros(n_arr)]
    )  # arrivals' first purchase is booked on arrival
    points = np.concatenate([points0, np.zeros(n_arr)])
    tier = np.concatenate([tier0, np.zeros(n_arr, dtype=np.int8)])
    touch = np.concatenate([touch0, arr_day]).astype(np.int32)

    # account managers for the top spenders of the starting base
    am = np.zeros(cap, dtype=bool)
    amc = scenario.service.account_managers
    if amc.count > 0 and n0 > 0 and amc.top_share > 0:
        k = max(1, int(round(amc.top_share * n0)))
        top = np.argsort(-spend_total, kind="stable")[:k]
        am[top] = True

    never = np.iinfo(np.int32).min // 2
    pop = Population(
        n_initial=n0,
        segment_names=tuple(scenario.population.segments),
        tier_names=tuple(t.name for t in loyalty.tiers),
        segment=traits["segment"],
        acquired_day=acquired_day,
        consent=traits["consent"],
        preferred_channel=traits["preferred_channel"],
        birthday_doy=traits["birthday_doy"],
        purchase_rate=traits["purchase_rate"],
        spend_nu=traits["spend_nu"],
        frailty=traits["frailty"],
        fatigue_tolerance=traits["fatigue_tolerance"].astype(np.float32),
        reward_sensitivity=traits["reward_sensitivity"].astype(np.float32),
        discount_sensitivity=traits["discount_sensitivity"].astype(np.float32),
        # per-cause arrays column by column (the churn step reads one cause at a time)
        base_hazard=np.asfortranarray(traits["base_hazard"], dtype=np.float32),
        segment_cycle_days=np.array([365.0 / s.purchase_rate_per_year.mean for s in seg_list]),
        tie_indptr=indptr,
        tie_indices=indices,
        stage=stage,
        first_purchase_day=first_purchase,
        last_purchase_day=last_purchase,
        n_purchases=n_purchases,
        spend_total=spend,
        points=points,
        period_points=np.zeros(cap),
        tier=tier,
        upgraded_day=np.full(cap, never, dtype=np.int32),
        demoted_day=np.full(cap, never, dtype=np.int32),
        last_reward_day=np.full(cap, never, dtype=np.int32),
        satisfaction=traits["satisfaction"],
        last_valued_touch_day=touch,
        unresolved=np.zeros(cap, dtype=np.int16),
        churn_clock=np.asfortranarray(traits["churn_clock"]),
        churn_day=np.full(cap, -1, dtype=np.int32),
        churn_cause=np.full(cap, -1, dtype=np.int8),
        times_won_back=np.zeros(cap, dtype=np.int16),
        won_back_day=np.full(cap, never, dtype=np.int32),
        exposure=np.zeros(cap),
        # float32, one contiguous column per channel: decayed and summed every day
        fatigue=np.zeros((cap, len(CHANNELS)), dtype=np.float32, order="F"),
        unsubscribed=np.zeros((cap, len(CHANNELS)), dtype=bool),
        has_account_manager=am,
        onboarded=np.concatenate([np.ones(n0, dtype=bool), np.zeros(n_arr, dtype=bool)]),
        pv_contribution=np.zeros(cap),
    )
    pop.extra["arrival_first_spend"] = arr_first_spend
    pop.extra["reserve_start"] = np.array(cap - max(n_reserve, 0))
    return pop


def _random_ties(
    rng: np.random.Generator, n: int, mean_ties: float
) -> tuple[np.ndarray, np.ndarray]:
    """An undirected random graph on ``n`` nodes with mean degree ``mean_ties``, as CSR arrays."""
    m = rng.poisson(n * mean_ties / 2.0) if n > 1 and mean_ties > 0 else 0
    a = rng.integers(0, max(n, 1), size=m)
    b = rng.integers(0, max(n, 1), size=m)
    keep = a != b
    a, b = a[keep], b[keep]
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst.astype(np.int32 if n < 2**31 else np.int64)


def total_fatigue(pop: Population, rows: np.ndarray) -> np.ndarray:
    """Total fatigue of ``rows`` over channels, in float64 (one gather per channel column)."""
    out = pop.fatigue[:, 0][rows].astype(np.float64)
    for k in range(1, pop.fatigue.shape[1]):
        out += pop.fatigue[:, k][rows]
    return out


def gather_ties(pop: Population, rows: np.ndarray) -> np.ndarray:
    """All tie endpoints of ``rows`` (with repetition), vectorised over the CSR structure."""
    starts = pop.tie_indptr[rows]
    lens = pop.tie_indptr[rows + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
    return pop.tie_indices[offs]
