"""The seed's headline economics, checked: what does profit do when retention rises 5 points?

Seed 004 quotes Bain & Company (Reichheld): raising customer retention by 5 percentage points
raises profit by 25% to 95%. :func:`retention_profit_effect` puts that to the model: it finds
the common scale of every churn cause's base hazard (``churn.hazard_scale``) that lifts the
one-year retention of the starting base by ``points``, then compares profit, over the
retention horizon and over a longer one, on common random numbers (the same customers and the
same luck in both worlds, replication by replication).

The counterfactual changes churn alone: purchase rates, spend, contacts and costs stay as they
are, so the profit change is what the retained customers bring in (and cost) while they stay.

:func:`lever_profit_effect` asks the same question of a lever a strategist can pull: a dotted
scenario or policy field (named as :mod:`~retention_sim.study.sweep` names them, e.g.
``policy:campaigns.6.repeat_every_days``) set over a range of values. It scans the values for
the one that lifts one-year retention by ``points`` against the business-as-usual policy,
narrows the bracket by regula falsi, and compares profit, the lever's own costs included
(messages, discounts, rewards, staff: whatever the model books), on the same common random
numbers. A range that cannot reach the lift is a result, not an error: the largest lift and
its profit change are reported. :func:`win_back_sequence` builds the lever the Bain check uses
on the presets (``docs/model.md``, §10).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config.policy import Policy, policy_from_dict
from ..config.scenario import Scenario
from ..errors import InputError
from .execution import replication_seed
from .sweep import apply_overrides

__all__ = [
    "RetentionEffect",
    "retention_profit_effect",
    "LeverEffect",
    "lever_profit_effect",
    "win_back_sequence",
]

_LOWEST_SCALE = 0.01  # the search's floor on churn.hazard_scale (which must stay positive)


@dataclass(frozen=True)
class RetentionEffect:
    """What a lift in retention does to profit (see :func:`retention_profit_effect`).

    Attributes
    ----------
    hazard_scale
        The factor on every base churn hazard that gives the lift.
    retention, retention_lifted
        One-year retention of the starting base, as is and lifted (means over replications).
    profit_change
        ``{days: relative change of mean profit}`` for each horizon measured.
    profit_change_se
        ``{days: standard error of the mean paired relative change}``.
    replications, customers
        The study's size.
    """

    hazard_scale: float
    retention: float
    retention_lifted: float
    profit_change: dict[int, float]
    profit_change_se: dict[int, float]
    replications: int
    customers: int

    def record(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "hazard_scale": self.hazard_scale,
            "retention": self.retention,
            "retention_lifted": self.retention_lifted,
            "profit_change": {str(k): v for k, v in self.profit_change.items()},
            "profit_change_se": {str(k): v for k, v in self.profit_change_se.items()},
            "replications": self.replications,
            "customers": self.customers,
        }


def _summaries(
    scenario: Scenario, policy: Policy | None, seeds: list[int], customers: int, days: int
) -> list[dict[str, Any]]:
    from ..model.simulation import simulate

    return [
        simulate(scenario, policy, seed=s, customers=customers, days=days).summary for s in seeds
    ]


def _retained(runs: list[dict[str, Any]]) -> float:
    return float(np.mean([r["initial_base_retained"] for r in runs]))


def _profit_changes(
    pairs: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]],
) -> tuple[dict[int, float], dict[int, float]]:
    """``{days: relative change of mean profit}`` and ``{days: its paired standard error}``.

    ``pairs[days]`` holds the baseline's and the other world's runs, replication by
    replication (the same seeds); the error is that of the mean per-replication ratio.
    """
    change: dict[int, float] = {}
    se: dict[int, float] = {}
    for days, (a, b) in pairs.items():
        a_arr = np.asarray([r["profit"] for r in a])
        b_arr = np.asarray([r["profit"] for r in b])
        change[days] = float(b_arr.mean() / a_arr.mean() - 1.0)
        ratio = b_arr / a_arr - 1.0
        se[days] = float(ratio.std(ddof=1) / np.sqrt(len(ratio))) if len(ratio) > 1 else 0.0
    return change, se


def retention_profit_effect(
    scenario: Scenario,
    policy: Policy | None,
    *,
    points: float = 0.05,
    customers: int = 5000,
    replications: int = 5,
    horizons: tuple[int, ...] = (365, 1095),
    seed: int = 0,
    tolerance: float = 0.002,
) -> RetentionEffect:
    """Lift one-year retention by ``points`` through lower churn hazards; measure profit.

    Parameters
    ----------
    scenario, policy
        The business and its policy (``None``: no contact).
    points
        The lift in one-year retention of the starting base (0.05: five percentage points).
    customers, replications, seed
        Size of each world and how many paired replications (replication ``k`` runs with
        :func:`~retention_sim.study.execution.replication_seed` ``(seed, k)`` in both worlds).
    horizons
        Days over which profit is compared (the first must be at least 365).
    tolerance
        How close to ``points`` the bisection on ``hazard_scale`` gets.

    Returns
    -------
    RetentionEffect
        The scale found, both retentions and the relative profit change per horizon.
    """
    seeds = [replication_seed(seed, k) for k in range(replications)]
    done: dict[tuple[float, int], list[dict[str, Any]]] = {}  # the search's runs, reused below

    def runs(scale: float, days: int) -> list[dict[str, Any]]:
        if (scale, days) not in done:
            sc = scenario.with_overrides({"churn.hazard_scale": scale})
            done[scale, days] = _summaries(sc, policy, seeds, customers, days)
        return done[scale, days]

    base = runs(1.0, 365)
    target = _retained(base) + points

    def gap(scale: float) -> float:
        return _retained(runs(scale, 365)) - target

    # retention falls as the scale rises: bracket [0, 1], then the Illinois variant of
    # regula falsi (a secant step that keeps the bracket; a few runs where bisection takes ten)
    lo, g_lo = _LOWEST_SCALE, gap(_LOWEST_SCALE)
    if g_lo < 0:
        raise InputError(
            f"retention cannot rise {points:.1%} by lower churn hazards: even at "
            f"{_LOWEST_SCALE:g} × every hazard it reaches only {g_lo + target:.1%}"
        )
    hi, g_hi = 1.0, _retained(base) - target
    # at lo retention is still above the target: the scale can rise
    mid, g_mid = _illinois(
        gap,
        ((lo, g_lo), (hi, g_hi)),
        point=lambda lo, g_lo, hi, g_hi: (lo * g_hi - hi * g_lo) / (g_hi - g_lo),
        lo_above=True,
        tolerance=tolerance,
        steps=40,
    )
    lifted = g_mid + target
    change, se = _profit_changes({d: (runs(1.0, d), runs(mid, d)) for d in horizons})
    return RetentionEffect(
        hazard_scale=mid,
        retention=_retained(base),
        retention_lifted=lifted,
        profit_change=change,
        profit_change_se=se,
        replications=replications,
        customers=customers,
    )


@dataclass(frozen=True)
class LeverEffect:
    """What a lever that lifts retention does to profit (see :func:`lever_profit_effect`).

    Attributes
    ----------
    lever
        The field pulled (``policy:...`` or ``scenario:...``).
    value
        The lever's value chosen: of the values run that reach the lift (within the tolerance),
        the one whose lift is nearest ``points``; when none does, the one with the largest lift.
    reached
        Whether some value lifted retention by ``points`` (within the tolerance).
    points
        The lift asked for.
    retention, retention_lifted
        One-year retention of the starting base under the baseline policy and with the lever at
        ``value`` (means over replications).
    profit_change
        ``{days: relative change of mean profit}``, lever at ``value`` against the baseline.
    profit_change_se
        ``{days: standard error of the mean paired relative change}``.
    tried
        ``(value, one-year retention)`` of every value run, in the order run.
    replications, customers, seed
        The study's size and seed (replication ``k`` ran with ``replication_seed(seed, k)``).
    """

    lever: str
    value: float
    reached: bool
    points: float
    retention: float
    retention_lifted: float
    profit_change: dict[int, float]
    profit_change_se: dict[int, float]
    tried: tuple[tuple[float, float], ...]
    replications: int
    customers: int
    seed: int

    def record(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "lever": self.lever,
            "value": self.value,
            "reached": self.reached,
            "points": self.points,
            "retention": self.retention,
            "retention_lifted": self.retention_lifted,
            "profit_change": {str(k): v for k, v in self.profit_change.items()},
            "profit_change_se": {str(k): v for k, v in self.profit_change_se.items()},
            "tried": [list(t) for t in self.tried],
            "replications": self.replications,
            "customers": self.customers,
            "seed": self.seed,
        }


def _next_value(lo: float, g_lo: float, hi: float, g_hi: float, integer: bool) -> float | None:
    """The regula falsi point between ``lo`` (short of the target) and ``hi`` (past it); for an
    integer lever the nearest integer strictly between them (``None`` when there is none)."""
    x = lo + (hi - lo) * (-g_lo) / (g_hi - g_lo)
    if not integer:
        return x
    a, b = sorted((lo, hi))
    if b - a <= 1:
        return None
    return int(min(max(round(x), a + 1), b - 1))


def _illinois(
    gap: Callable[[float], float],
    bracket: tuple[tuple[float, float], tuple[float, float]],
    *,
    point: Callable[[float, float, float, float], float | None],
    lo_above: bool,
    tolerance: float,
    steps: int,
) -> tuple[float, float]:
    """The Illinois variant of regula falsi inside ``((lo, gap), (hi, gap))``, whose gaps have
    opposite signs (``lo``'s above zero when ``lo_above``), until a point is within
    ``tolerance`` of the target, ``point`` has none left to offer, or ``steps`` points ran.

    The end on the point's side moves; when the same end moved last time, the other end's gap
    is halved, so that the next point falls nearer the root. Returns the last point and its
    gap (the bracket's ``hi`` end when no point ran).
    """
    (lo, g_lo), (hi, g_hi) = bracket
    x, g_x, side = hi, g_hi, 0
    for _ in range(steps):
        nxt = point(lo, g_lo, hi, g_hi)
        if nxt is None:
            break
        x, g_x = nxt, gap(nxt)
        if abs(g_x) <= tolerance:
            break
        if (g_x > 0) if lo_above else (g_x < 0):
            lo, g_lo = x, g_x
            g_hi = g_hi / 2 if side == -1 else g_hi
            side = -1
        else:
            hi, g_hi = x, g_x
            g_lo = g_lo / 2 if side == 1 else g_lo
            side = 1
    return x, g_x


def lever_profit_effect(
    scenario: Scenario,
    policy: Policy | None,
    lever: str,
    values: Sequence[float],
    *,
    lever_policy: Policy | None = None,
    points: float = 0.05,
    customers: int = 5000,
    replications: int = 5,
    horizons: tuple[int, ...] = (365, 1095),
    seed: int = 0,
    tolerance: float = 0.002,
    refinements: int = 4,
) -> LeverEffect:
    """Pull a lever until one-year retention is ``points`` higher; measure profit.

    Parameters
    ----------
    scenario, policy
        The business and its business-as-usual policy, the baseline (``None``: no contact).
    lever
        A dotted field, prefixed ``policy:`` or ``scenario:`` as in
        :func:`~retention_sim.study.sweep.parse_field`.
    values
        The lever's range, from the weakest setting to the strongest. The scan runs them in this
        order and stops at the first that reaches the lift; regula falsi then narrows the
        bracket it closes (integers when every value is an integer).
    lever_policy
        The policy the lever is set on (default: ``policy``), e.g. the baseline with a campaign
        added (:func:`win_back_sequence`); the baseline stays ``policy``.
    points
        The lift in one-year retention of the starting base (0.05: five percentage points).
    customers, replications, seed
        Size of each world and how many paired replications (replication ``k`` runs with
        :func:`~retention_sim.study.execution.replication_seed` ``(seed, k)`` in every world).
    horizons
        Days over which profit is compared (one-year retention comes from the 365-day runs). The
        change is relative to the baseline's mean profit, so it reads as a gain only where that
        is positive (in a world of a few hundred customers the desk's minimum staff can make it
        negative).
    tolerance
        How close to ``points`` the lift must come to count as reached and to stop the search.
    refinements
        At most this many values run inside the bracket.

    Returns
    -------
    LeverEffect
        The value chosen, whether it reached the lift, both retentions and the relative profit
        change per horizon.
    """
    if len(values) == 0:
        raise InputError("the lever needs at least one value")
    integer = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)
    seeds = [replication_seed(seed, k) for k in range(replications)]
    done: dict[tuple[Any, int], list[dict[str, Any]]] = {}
    on = lever_policy if lever_policy is not None else policy

    def runs(value: Any, days: int) -> list[dict[str, Any]]:
        """The baseline's runs (``value`` None) or the lever's at ``value``, kept for reuse."""
        if (value, days) not in done:
            sc, po = (
                (scenario, policy)
                if value is None
                else apply_overrides(scenario, on, {lever: value})
            )
            done[value, days] = _summaries(sc, po, seeds, customers, days)
        return done[value, days]

    retention = _retained(runs(None, 365))
    target = retention + points
    tried: list[tuple[float, float]] = []

    def gap(value: float) -> float:
        r = _retained(runs(value, 365))
        if all(t[0] != value for t in tried):
            tried.append((value, r))
        return r - target

    prev: tuple[float, float] | None = None
    for v in values:
        x = int(v) if integer else float(v)
        g = gap(x)
        if g >= -tolerance:  # the first value that reaches the lift closes the bracket
            if prev is not None and g > tolerance:
                _illinois(
                    gap,
                    (prev, (x, g)),
                    point=lambda lo, g_lo, hi, g_hi: _next_value(lo, g_lo, hi, g_hi, integer),
                    lo_above=False,
                    tolerance=tolerance,
                    steps=refinements,
                )
            break
        prev = (x, g)
    reaching = [t for t in tried if t[1] - target >= -tolerance]
    if reaching:  # of the values that reach the lift, the one nearest it
        value, lifted = min(reaching, key=lambda t: abs(t[1] - target))
    else:
        value, lifted = max(tried, key=lambda t: t[1])
    change, se = _profit_changes({d: (runs(None, d), runs(value, d)) for d in horizons})
    return LeverEffect(
        lever=lever,
        value=value,
        reached=bool(reaching),
        points=points,
        retention=retention,
        retention_lifted=lifted,
        profit_change=change,
        profit_change_se=se,
        tried=tuple(tried),
        replications=replications,
        customers=customers,
        seed=seed,
    )


def win_back_sequence(
    policy: Policy,
    *,
    channel: str = "preferred",
    after_days: int = 30,
    repeat_every_days: int = 30,
) -> tuple[Policy, str]:
    """``policy`` with a win-back sequence to customers who left, and the sequence's lever.

    The campaign (``win_back_lost``) writes on ``channel`` (by default each customer's preferred
    one) to churned customers who left for a reason a message can answer (not death, not
    relocation), ``after_days`` after their last purchase and then every ``repeat_every_days``,
    with the offer of the policy's own win-back campaign (none if it has none: then an info
    message). Its audience is the churned alone: a model's ideal
    targeting of the lost, which a company only approximates by recency.

    Returns
    -------
    tuple
        ``(policy with the campaign, lever)``, the lever being the campaign's
        ``repeat_every_days`` field (``policy:campaigns.<i>.repeat_every_days``).
    """
    data = policy.model_dump(mode="json")
    own = next((c for c in policy.campaigns if c.type == "win_back" and c.offer), None)
    campaign: dict[str, Any] = {
        "name": "win_back_lost",
        "type": "win_back",
        "channel": channel,
        "after_days": after_days,
        "repeat_every_days": repeat_every_days,
        "audience": {"stages": ["churned"]},
        "priority": 60,
    }
    if own is not None and own.offer is not None:
        campaign["offer"] = own.offer.model_dump(mode="json")
    else:
        campaign["content"] = "info"
    data["campaigns"].append(campaign)
    data["name"] = f"{policy.name}+win_back_lost"
    lever = f"policy:campaigns.{len(data['campaigns']) - 1}.repeat_every_days"
    return policy_from_dict(data, source="(win_back_sequence)"), lever
