"""The population: one row per customer, held as a structure of NumPy arrays.

Rows ``0 .. n_initial-1`` are the existing base at day 0 (mixed tenure and recency, survivors of
their own history); the rows after them are the arrivals of the whole horizon, drawn up front so
that every policy sees the same customers (common random numbers). A row whose ``acquired_day`` is
still in the future has stage ``PENDING``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config.scenario import Scenario
from ..vocabulary import CAUSES, CHANNELS, Stage
from .kernels import compiled, njit
from .random_streams import Streams
from .traits import TRAIT_BATCH, concat, draw_traits, draw_traits_in_batches, take

__all__ = ["Population", "ExtraTies", "build_population", "gather_ties", "top_k"]


class ExtraTies:
    """Ties made during a run (a referral ties the referrer and the friend), both directions."""

    def __init__(self) -> None:
        self.src: list[np.ndarray] = []
        self.dst: list[np.ndarray] = []

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        """Tie ``a[i]`` to ``b[i]`` for every ``i``."""
        self.src.append(np.asarray(a, dtype=np.int64))
        self.dst.append(np.asarray(b, dtype=np.int64))

    def ties_of(self, rows: np.ndarray) -> np.ndarray:
        """Partners of ``rows`` over the extra ties (both directions, with repetition)."""
        if not self.src:
            return np.zeros(0, dtype=np.int64)
        src = np.concatenate(self.src)
        dst = np.concatenate(self.dst)
        return np.concatenate([dst[np.isin(src, rows)], src[np.isin(dst, rows)]])


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
    visit_rate: np.ndarray  # site or app visit hazard per day (0: visits not modelled)
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
    # the programme's optional mechanics (all enrolled unless the scenario says otherwise)
    enrolled: np.ndarray
    window_spend: np.ndarray  # a member's spend in the qualification window (for the gift)
    gift_day: np.ndarray  # day of the member's last spend-threshold gift
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
    # marketing touches delivered since the last purchase; -1: the cycle began before the run
    touches_since_purchase: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def capacity(self) -> int:
        """Number of rows: the initial base plus every arrival of the horizon."""
        return int(self.segment.shape[0])


# ------------------------------------------------------------------------------------ builder
_NEVER = np.iinfo(np.int32).min // 2


_INDIFFERENCE = CAUSES.index("indifference")


def _untouched_extra(scenario: Scenario, t: np.ndarray) -> np.ndarray:
    """``∫_0^t (m(u) − 1) du`` for the indifference multiplier ``m(u) = min(cap, 1 + g ·
    max(0, u − grace) / 30)`` of a customer never touched in ``t`` days."""
    ind = scenario.churn.causes.indifference
    g, grace, cap = ind.growth_per_30_days, ind.grace_days, ind.max_multiplier
    if g <= 0 or cap <= 1:
        return np.zeros_like(t, dtype=np.float64)
    t_cap = grace + 30.0 * (cap - 1.0) / g
    ramp = np.clip(np.minimum(t, t_cap) - grace, 0.0, None)
    return g / 60.0 * ramp**2 + (cap - 1.0) * np.clip(t - t_cap, 0.0, None)


def _existing_base(
    scenario: Scenario, rng: np.random.Generator, n_initial: int
) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
    """Traits and tenure of the day-0 base: candidates drawn with a tenure, kept if they survived
    their own base hazard over it (the base is the survivors of its history)."""
    ten = scenario.population.tenure
    parts: list[dict[str, np.ndarray]] = []
    tenures: list[np.ndarray] = []
    got = 0
    while got < n_initial:
        batch = min(TRAIT_BATCH, max(1024, int((n_initial - got) * 1.5)))
        cand = draw_traits(scenario, rng, batch)
        if ten.mean_years > 0:
            max_days = ten.max_years * 365.0
            # exponential truncated at max_days, by inverse CDF
            scale = ten.mean_years * 365.0
            u = rng.random(batch)
            t = -scale * np.log1p(-u * (1.0 - np.exp(-max_days / scale)))
            t = np.floor(t)
        else:
            t = np.zeros(batch)
        exponent = cand["base_hazard"].sum(axis=1, dtype=np.float64) * t
        if scenario.population.last_valued_touch == "first_purchase":
            # never touched since arrival: the indifference clock ran over the whole tenure
            exponent += cand["base_hazard"][:, _INDIFFERENCE] * _untouched_extra(scenario, t)
        survive = np.exp(-exponent)
        keep = np.flatnonzero(rng.random(batch) < survive)[: n_initial - got]
        parts.append(take(cand, keep))
        tenures.append(t[keep])
        got += keep.size
    if not parts:
        parts.append(draw_traits(scenario, rng, 0))
    tenure = np.concatenate(tenures) if tenures else np.zeros(0)
    return parts, tenure


def _base_history(
    scenario: Scenario,
    rng: np.random.Generator,
    parts: list[dict[str, np.ndarray]],
    tenure: np.ndarray,
) -> dict[str, np.ndarray]:
    """The base's purchase history over its tenure: first purchase at acquisition, repeats
    Poisson(rate × tenure); spend, the starting tier (from the last qualification window's
    points), a points balance and the day of the last valued touch."""
    p_spend = np.array([s.spend.p for s in scenario.population.segments.values()])
    loyalty = scenario.loyalty
    thresholds = np.array([t.threshold_points for t in loyalty.tiers])
    window = loyalty.qualification_window_days
    # only the columns the purchase history needs; all traits are joined once, by the caller
    base = {
        k: np.concatenate([p[k] for p in parts]) for k in ("purchase_rate", "segment", "spend_nu")
    }
    n0 = tenure.size
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
    if scenario.population.last_valued_touch == "first_purchase":
        touch0 = acquired.copy()  # no valued touch since they arrived (the draw above kept: CRN)
    return {
        "acquired": acquired,
        "last": last,
        "counts": counts,
        "spend_total": spend_total,
        "tier": tier0,
        "points": points0,
        "touch": touch0,
    }


def _newcomers(
    scenario: Scenario,
    streams: Streams,
    arrivals_per_day: float,
    horizon_days: int,
    n_reserve: int,
) -> tuple[list[dict[str, np.ndarray]], np.ndarray, np.ndarray]:
    """Every arrival of the horizon (Poisson per day, stream ``arrivals``), then the referral
    reserve (stream ``referral_pool``), placed last: their traits, arrival days and the spend of
    the first purchase."""
    p_spend = np.array([s.spend.p for s in scenario.population.segments.values()])
    arng = streams["arrivals"]
    per_day = arng.poisson(arrivals_per_day, size=horizon_days) if arrivals_per_day > 0 else None
    n_arr = int(per_day.sum()) if per_day is not None else 0
    arr = draw_traits_in_batches(scenario, arng, n_arr)
    arr_day = (
        np.repeat(np.arange(horizon_days), per_day) if per_day is not None else np.zeros(0, int)
    )
    arr_first_spend = np.zeros(n_arr)
    if n_arr:
        p_arr = p_spend[arr["segment"]]
        arr_first_spend = arng.gamma(p_arr, 1.0 / arr["spend_nu"])
    if n_reserve <= 0:
        return [arr], arr_day, arr_first_spend
    rrng = streams["referral_pool"]
    res = draw_traits_in_batches(scenario, rrng, n_reserve)
    res_spend = rrng.gamma(p_spend[res["segment"]], 1.0 / res["spend_nu"])
    arr_day = np.concatenate([arr_day, np.full(n_reserve, horizon_days)])
    arr_first_spend = np.concatenate([arr_first_spend, res_spend])
    return [arr, res], arr_day, arr_first_spend


def _account_managers(scenario: Scenario, spend_total: np.ndarray, capacity: int) -> np.ndarray:
    """Account managers for the top spenders of the starting base."""
    am = np.zeros(capacity, dtype=bool)
    amc = scenario.service.account_managers
    n0 = spend_total.size
    if amc.count > 0 and n0 > 0 and amc.top_share > 0:
        k = max(1, int(round(amc.top_share * n0)))
        am[top_k(spend_total, k)] = True
    return am


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` largest ``values``, ties to the lower row: the set of
    ``np.argsort(-values, kind="stable")[:k]`` without sorting everything (a partition).

    Parameters
    ----------
    values
        One value per row (no NaN).
    k
        How many (``1 ≤ k ≤ values.size``).
    """
    neg = -values
    cut = np.partition(neg, k - 1)[k - 1]  # the k-th largest value, negated
    above = np.flatnonzero(neg < cut)
    at = np.flatnonzero(neg == cut)[: k - above.size]
    return np.sort(np.concatenate([above, at]))


def build_population(
    scenario: Scenario,
    streams: Streams,
    *,
    n_initial: int,
    arrivals_per_day: float,
    horizon_days: int,
    n_reserve: int = 0,
) -> Population:
    """Create the starting base and every arrival of the horizon.

    Parameters
    ----------
    scenario
        The validated scenario.
    streams
        The replication's random streams; only ``population``, ``arrivals``, ``referral_pool``
        and ``ties`` are used.
    n_initial
        Size of the existing base on day 0.
    arrivals_per_day
        Mean number of new customers per day (Poisson).
    horizon_days
        Length of the simulation in days.
    n_reserve
        Extra rows that can arrive only through referrals (drawn from their own stream and
        placed last, so the base and the ordinary arrivals are the same whatever the reserve).

    Returns
    -------
    Population
        Arrays for ``n_initial`` + (number of arrivals) rows.
    """
    rng = streams["population"]
    parts, tenure = _existing_base(scenario, rng, n_initial)
    hist = _base_history(scenario, rng, parts, tenure)
    n0 = int(n_initial)
    arr_parts, arr_day, arr_first_spend = _newcomers(
        scenario, streams, arrivals_per_day, horizon_days, n_reserve
    )
    n_arr = arr_day.size
    traits = concat(parts + arr_parts)
    del parts, arr_parts
    cap = n0 + n_arr
    # social ties: an undirected random graph with the given mean degree, among the rows every
    # policy shares; reserve rows get ties only through referrals
    indptr, indices = _random_ties(streams["ties"], cap - n_reserve, scenario.social.mean_ties)
    indptr = np.concatenate([indptr, np.full(n_reserve, indptr[-1], dtype=indptr.dtype)])
    acquired_day = np.concatenate([hist["acquired"], arr_day]).astype(np.int32)
    seg_list = list(scenario.population.segments.values())
    pop = Population(
        n_initial=n0,
        segment_names=tuple(scenario.population.segments),
        tier_names=tuple(t.name for t in scenario.loyalty.tiers),
        segment=traits["segment"],
        acquired_day=acquired_day,
        consent=traits["consent"],
        preferred_channel=traits["preferred_channel"],
        birthday_doy=traits["birthday_doy"],
        purchase_rate=traits["purchase_rate"],
        # visit days a year → a daily hazard whose day probability is visits_per_year / 365
        visit_rate=-np.log1p(
            -np.minimum(
                np.array([(s.visits_per_year or 0.0) / 365.0 for s in seg_list]), 1.0 - 1e-12
            )
        )[traits["segment"]],
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
        stage=np.full(cap, Stage.PENDING, dtype=np.int8),
        first_purchase_day=acquired_day.copy(),
        last_purchase_day=np.concatenate([hist["last"], arr_day]).astype(np.int32),
        n_purchases=np.concatenate([hist["counts"], np.ones(n_arr, dtype=np.int64)]).astype(
            np.int32
        ),
        # arrivals' first purchase is booked on arrival
        spend_total=np.concatenate([hist["spend_total"], np.zeros(n_arr)]),
        points=np.concatenate([hist["points"], np.zeros(n_arr)]),
        period_points=np.zeros(cap),
        tier=np.concatenate([hist["tier"], np.zeros(n_arr, dtype=np.int8)]),
        upgraded_day=np.full(cap, _NEVER, dtype=np.int32),
        demoted_day=np.full(cap, _NEVER, dtype=np.int32),
        last_reward_day=np.full(cap, _NEVER, dtype=np.int32),
        enrolled=np.ones(cap, dtype=bool),
        window_spend=np.zeros(cap),
        gift_day=np.full(cap, _NEVER, dtype=np.int32),
        satisfaction=traits["satisfaction"],
        last_valued_touch_day=np.concatenate([hist["touch"], arr_day]).astype(np.int32),
        unresolved=np.zeros(cap, dtype=np.int16),
        churn_clock=np.asfortranarray(traits["churn_clock"]),
        churn_day=np.full(cap, -1, dtype=np.int32),
        churn_cause=np.full(cap, -1, dtype=np.int8),
        times_won_back=np.zeros(cap, dtype=np.int16),
        won_back_day=np.full(cap, _NEVER, dtype=np.int32),
        exposure=np.zeros(cap),
        # float32, one contiguous column per channel: decayed and summed every day
        fatigue=np.zeros((cap, len(CHANNELS)), dtype=np.float32, order="F"),
        unsubscribed=np.zeros((cap, len(CHANNELS)), dtype=bool),
        has_account_manager=_account_managers(scenario, hist["spend_total"], cap),
        onboarded=np.concatenate([np.ones(n0, dtype=bool), np.zeros(n_arr, dtype=bool)]),
        pv_contribution=np.zeros(cap),
        touches_since_purchase=np.full(cap, -1, dtype=np.int32),
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
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    kind = np.int32 if n < 2**31 else np.int64
    if compiled():  # a counting sort: the stable sort's order in one pass
        indices = np.empty(src.size, dtype=kind)
        _csr_kernel(src, dst, indptr, indices)
        return indptr, indices
    order = np.argsort(src, kind="stable")
    return indptr, dst[order].astype(kind)


@njit
def _csr_kernel(src, dst, indptr, out):
    """Each ``dst`` into its ``src``'s slot of ``out``, in their order (a stable counting sort:
    what ``dst[np.argsort(src, kind="stable")]`` gives)."""
    pos = indptr[:-1].copy()
    for j in range(src.size):
        s = src[j]
        out[pos[s]] = dst[j]
        pos[s] += 1


def gather_ties(pop: Population, rows: np.ndarray) -> np.ndarray:
    """All tie endpoints of ``rows`` (with repetition), vectorised over the CSR structure."""
    starts = pop.tie_indptr[rows]
    lens = pop.tie_indptr[rows + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
    return pop.tie_indices[offs]
