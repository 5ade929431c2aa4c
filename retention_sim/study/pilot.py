"""``pilot``: the real A/B test that would confirm a simulated verdict, and its stopping rule.

A pilot splits real customers at random between the baseline and the candidate and compares
one per-customer outcome over ``weeks``:

- ``profit``: each customer's contribution, margin on their purchases less the contact,
  discount and gift costs booked to them (discounted as in §10);
- ``retention``: 1 if still a customer at the end of the pilot;
- ``conversion``: 1 if they bought at least once in the pilot.

**Planning.** Both policies run on the same ``customers`` starting customers (common random
numbers), so the effect ``Δ = mean(y_B − y_A)`` is estimated paired, with a small standard
error. The pilot itself is *unpaired* (each customer sees one arm), so its variance per
customer pair is ``σ²_A + σ²_B``. For a two-sided level ``α`` test with power ``1 − β``:

``n per arm = ⌈(z_{1−α/2} + z_{1−β})² (σ²_A + σ²_B) / Δ²⌉``,

and with ``n`` customers per arm given, the smallest detectable effect is ``(z_{1−α/2} +
z_{1−β}) √((σ²_A + σ²_B)/n)``. The plan is made for several pilot lengths; with
``customers_per_arm`` (the customers one can spare), ``weeks`` is the shortest length whose
required size fits.

**The stopping rule.** Enrol the pilot in ``looks`` equal waves (for instance one a week). When
a wave has run its ``weeks``, compute ``z = (ȳ_B − ȳ_A)/√(s²_A/n_A + s²_B/n_B)`` on every
finished wave. Stop for the candidate if ``z ≥ c_k``; stop against it if ``z ≤ −c_k``;
otherwise go on. ``c_k = C·√(L/k)`` are O'Brien–Fleming boundaries (O'Brien and Fleming 1979,
*A multiple testing procedure for clinical trials*, Biometrics 35, 549–556), with ``C`` set so
that the overall level is ``α``. Waves make the interim data the same outcome as the final
one. Group-sequential looks cost a little power, so the waves hold ``R·n`` customers per arm in
all. ``C`` and ``R`` are computed by simulating the standardised test statistics
(:func:`~retention_sim.study.group_sequential.obrien_fleming`).

**Empirical power.** ``pilots`` pilots of the planned size are run inside the model. Each
draws a fresh base of ``customers`` (its own seed), as large as the planning base, picks the
pilot's customers from it at random and splits them at random between the arms; both arms run
over the pilot's length. (The base's size matters: the desk's agents and the social ties are
the scenario's, so in a base of a few hundred customers queues are shorter and a contact-heavy
policy's effect on retention was measured 7% larger than in a base of 10,000.) The share in which the fixed test rejects in the direction of the effect is
``empirical_power``. The share in which the stopping rule does is ``sequential_power``, and its
mean number of looks is reported too. In the model each arm's customers share the desk and their
friends with a base on the same policy, not with the other arm, so spill-overs between arms
(contagion, desk queues) are not in the pilot's simulation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy import special

from ..config.policy import Policy
from ..config.scenario import Scenario
from ..errors import InputError
from .design import check_common, resolve_policies, resolve_scenario
from .execution import Backend, Runner
from .group_sequential import obrien_fleming

__all__ = ["PILOT_METRICS", "PilotPlan", "obrien_fleming", "plan_pilot", "sample_size"]


PilotMetric = Literal["profit", "retention", "conversion"]
#: The per-customer outcomes a pilot can compare.
PILOT_METRICS: tuple[str, ...] = ("profit", "retention", "conversion")


@dataclass(frozen=True)
class PilotTask:
    """One run of a pilot: the arms' policy on a base of ``customers``."""

    scenario: Scenario
    policy: Policy | None
    seed: int
    customers: int
    days: int
    metric: str


def pilot_outcomes(task: PilotTask) -> dict[str, Any]:
    """Each starting customer's outcome over the pilot (the unit of work; top level so that it
    pickles)."""
    from ..model.simulation import simulate

    r = simulate(
        task.scenario, task.policy, seed=task.seed, customers=task.customers, days=task.days
    )
    n = task.customers
    if task.metric == "profit":
        y = np.asarray(r.extras["contribution"][:n], dtype=float)
    elif task.metric == "conversion":
        buyers = np.unique(r.transactions["customer_id"].to_numpy())
        y = np.isin(np.arange(n), buyers).astype(float)
    else:
        c = r.customers
        churned = c.loc[c["churn_date"].notna(), "customer_id"].to_numpy()
        y = 1.0 - np.isin(np.arange(n), churned).astype(float)
    return {"seed": task.seed, "y": y.tolist()}


def sample_size(effect: float, variance: float, *, alpha: float, power: float) -> int:
    """Customers per arm for a two-sided level-``alpha`` z test to have ``power``.

    ``variance`` is ``σ²_A + σ²_B``; returns ``⌈(z_{1−α/2} + z_{power})² variance / effect²⌉``
    (at least 2), or 0 when the effect is 0.
    """
    if effect == 0:
        return 0
    z = float(special.ndtri(1 - alpha / 2) + special.ndtri(power))
    return max(2, math.ceil(z * z * variance / effect**2))


@dataclass
class PilotPlan:
    """A pilot plan and its check in the model.

    Attributes
    ----------
    record
        What ``pilot.json`` holds (see :func:`plan_pilot`).
    text
        What the command prints.
    """

    record: dict[str, Any]
    text: str

    def write(self, out: str | Path) -> Path:
        """Write ``pilot.json`` under ``out``, atomically."""
        from ..outputs import write_json

        return write_json(Path(out) / "pilot.json", self.record)


def _world_seed(seed: int, stream: int, k: int) -> int:
    """The seed of world ``k`` of a stream (planning 0, pilots 1)."""
    return int(np.random.SeedSequence([seed, 7919, stream, k]).generate_state(1)[0])


def _measure(
    runner: Runner,
    scenario: Scenario,
    pols: list[Policy | None],
    *,
    seed: int,
    customers: int,
    replications: int,
    days: int,
    metric: str,
) -> tuple[float, float, float]:
    """Effect (paired within each world), its standard error, and σ²_A + σ²_B per customer.

    With several worlds the standard error is the spread of the worlds' mean differences
    (customers of one world share its desk and friends, so they are not independent)."""
    seeds = [_world_seed(seed, 0, k) for k in range(replications)]
    tasks = [PilotTask(scenario, p, s, customers, days, metric) for s in seeds for p in pols]
    res = runner.run(tasks, desc="planning")
    ya = [np.asarray(res[2 * k]["y"]) for k in range(replications)]
    yb = [np.asarray(res[2 * k + 1]["y"]) for k in range(replications)]
    d = np.concatenate(yb) - np.concatenate(ya)
    if replications >= 2:
        means = np.array([(b - a).mean() for a, b in zip(ya, yb, strict=True)])
        se = float(means.std(ddof=1) / math.sqrt(replications))
    else:
        se = float(d.std(ddof=1) / math.sqrt(d.size))
    var = float(np.concatenate(ya).var(ddof=1) + np.concatenate(yb).var(ddof=1))
    return float(d.mean()), se, var


def plan_pilot(
    scenario: Scenario | str | Path,
    policies: Sequence[Any],
    *,
    metric: PilotMetric = "profit",
    power: float = 0.8,
    alpha: float = 0.05,
    weeks: int | None = None,
    customers_per_arm: int | None = None,
    customers: int = 10_000,
    replications: int = 1,
    looks: int = 4,
    pilots: int = 400,
    durations: Sequence[int] = (2, 4, 8, 13, 26),
    seed: int = 0,
    backend: Backend = "processes",
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
) -> PilotPlan:
    """Plan the pilot of ``candidate`` against ``baseline`` and check its power in the model.

    Parameters
    ----------
    scenario
        A scenario or its file.
    policies
        ``[baseline, candidate]``: policies, files or ``None`` (no contact).
    metric
        ``"profit"``, ``"retention"`` or ``"conversion"`` (see the module docstring).
    power, alpha
        The pilot's power and two-sided level.
    weeks
        The pilot's length. Default: the shortest of ``durations`` whose size fits
        ``customers_per_arm``, or 8 weeks without it.
    customers_per_arm
        Customers one can spare per arm: then the plan also gives the smallest effect this size
        detects at every length.
    customers
        The size of the simulated base: the planning runs (both policies, the same customers)
        and each simulated pilot's base, from which the pilot's customers are drawn.
    replications
        Planning worlds per pilot length (their effects are pooled).
    looks
        Waves of the stopping rule (1: a single analysis at the end).
    pilots
        Simulated pilots for the empirical power (0: none).
    durations
        Pilot lengths in weeks for the size-against-length table.
    seed, backend, workers, dask, progress
        As in :func:`~retention_sim.study.compare.compare`.

    Returns
    -------
    PilotPlan
        ``record`` holds ``customers_per_arm``, ``weeks``, ``power``, ``alpha``, ``effect``
        (with its standard error), ``variance``, ``by_weeks`` (per length: effect, size, and the
        smallest detectable effect at ``customers_per_arm``), ``stopping_rule`` (waves,
        boundaries, the size with looks), ``empirical_power``, ``sequential_power``,
        ``mean_looks`` and ``pilots``.
    """
    scenario = resolve_scenario(scenario)
    pols = resolve_policies(list(policies), scenario)
    if len(pols) != 2:
        raise InputError(f"a pilot compares two policies (baseline, candidate), got {len(pols)}")
    if metric not in PILOT_METRICS:
        raise InputError(f"unknown pilot metric {metric!r}; known: {', '.join(PILOT_METRICS)}")
    for name, v in (("power", power), ("alpha", alpha)):
        if not 0 < v < 1:
            raise InputError(f"{name} must lie between 0 and 1, got {v}", field=name)
    check_common(2, seed, customers, None)
    if replications < 1:
        raise InputError(f"replications must be at least 1, got {replications}")
    if weeks is not None and weeks < 1:
        raise InputError(f"weeks must be at least 1, got {weeks}", field="weeks")
    names = list(pols)
    lengths = sorted({int(w) for w in durations if w >= 1} | ({weeks} if weeks else set()))
    with Runner(
        backend, workers=workers, dask=dask, progress=progress, function=pilot_outcomes
    ) as runner:
        table = []
        for w in lengths:
            eff, se, var = _measure(
                runner, scenario, list(pols.values()), seed=seed, customers=customers,
                replications=replications, days=7 * w, metric=metric,
            )  # fmt: skip
            n = sample_size(eff, var, alpha=alpha, power=power)
            mde = None
            if customers_per_arm:
                z = float(special.ndtri(1 - alpha / 2) + special.ndtri(power))
                mde = z * math.sqrt(var / customers_per_arm)
            table.append(
                {"weeks": w, "effect": eff, "effect_se": se, "variance": var,
                 "customers_per_arm": n, "detectable_effect": mde}
            )  # fmt: skip
        chosen = _choose(table, weeks, customers_per_arm)
        c, r = obrien_fleming(looks, alpha=alpha, power=power)
        plan = {**chosen, "looks": looks, "boundary": c, "inflation": r}
        checked = _simulate_pilots(
            runner, scenario, list(pols.values()), plan, pilots=pilots, seed=seed, metric=metric,
            alpha=alpha, customers=customers,
        )  # fmt: skip
    record = _record(names, metric, power, alpha, customers, table, plan, checked, seed)
    return PilotPlan(record, _text(record))


def _choose(
    table: list[dict[str, Any]], weeks: int | None, customers_per_arm: int | None
) -> dict[str, Any]:
    """The row of the plan: ``weeks`` if given, else the shortest that fits the customers one
    can spare, else 8 weeks (or the longest row)."""
    if weeks is not None:
        return next(r for r in table if r["weeks"] == weeks)
    if customers_per_arm:
        fits = [r for r in table if 0 < r["customers_per_arm"] <= customers_per_arm]
        if fits:
            return fits[0]
        return table[-1]
    return next((r for r in table if r["weeks"] == 8), table[-1])


def _simulate_pilots(
    runner: Runner,
    scenario: Scenario,
    pols: list[Policy | None],
    plan: dict[str, Any],
    *,
    pilots: int,
    seed: int,
    metric: str,
    alpha: float,
    customers: int,
) -> dict[str, Any]:
    """Run ``pilots`` pilots of the planned size in the model. Each draws a fresh base of
    ``customers`` (its own seed), picks the pilot's customers from it at random and splits them
    at random between the arms."""
    n = int(plan["customers_per_arm"])
    if pilots <= 0 or n <= 0:
        return {"pilots": 0}
    looks, c = int(plan["looks"]), float(plan["boundary"])
    n_seq = math.ceil(n * float(plan["inflation"]))
    size = 2 * max(n, n_seq)
    if size > customers:
        return {
            "pilots": 0,
            "customers_per_arm_with_looks": n_seq,
            "note": f"the pilot needs {size:,} customers, more than the simulated base of "
            f"{customers:,}: raise --customers to check its power in the model",
        }
    seeds = [_world_seed(seed, 1, j) for j in range(pilots)]
    tasks = [
        PilotTask(scenario, p, s, customers, 7 * int(plan["weeks"]), metric)
        for s in seeds
        for p in pols
    ]
    res = runner.run(tasks, desc="simulated pilots")
    sign = 1.0 if plan["effect"] >= 0 else -1.0
    crit = float(special.ndtri(1 - alpha / 2))
    fixed, seq, used = [], [], []
    for j, s in enumerate(seeds):
        ya, yb = np.asarray(res[2 * j]["y"]), np.asarray(res[2 * j + 1]["y"])
        order = np.random.default_rng([s, 1]).permutation(customers)[:size]
        arm_a, arm_b = order[: size // 2], order[size // 2 :]
        fixed.append(sign * _z(ya[arm_a[:n]], yb[arm_b[:n]]) >= crit)
        hit, k_stop = False, looks
        for k in range(1, looks + 1):
            m = math.ceil(n_seq * k / looks)
            z = sign * _z(ya[arm_a[:m]], yb[arm_b[:m]])
            if abs(z) >= c * math.sqrt(looks / k):
                hit, k_stop = z > 0, k
                break
        seq.append(hit)
        used.append(k_stop)
    power = float(np.mean(fixed))
    return {
        "pilots": pilots,
        "empirical_power": power,
        "empirical_power_se": float(math.sqrt(power * (1 - power) / pilots)),
        "sequential_power": float(np.mean(seq)),
        "mean_looks": float(np.mean(used)),
        "customers_per_arm_with_looks": n_seq,
    }


def _z(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample z statistic of mean(b) − mean(a)."""
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    diff = float(b.mean() - a.mean())
    if se == 0:
        return math.copysign(math.inf, diff) if diff else 0.0
    return diff / se


def _record(
    names: list[str],
    metric: str,
    power: float,
    alpha: float,
    customers: int,
    table: list[dict[str, Any]],
    plan: dict[str, Any],
    checked: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    looks = int(plan["looks"])
    return {
        "baseline": names[0],
        "candidate": names[1],
        "metric": metric,
        "customers_per_arm": int(plan["customers_per_arm"]),
        "weeks": int(plan["weeks"]),
        "power": power,
        "alpha": alpha,
        "effect": plan["effect"],
        "effect_se": plan["effect_se"],
        "customers_per_arm_range": _size_range(plan, alpha, power),
        "variance": plan["variance"],
        "planning_customers": customers,
        "seed": seed,
        "by_weeks": table,
        "stopping_rule": {
            "kind": "O'Brien-Fleming, equal waves",
            "looks": looks,
            "boundaries": [plan["boundary"] * math.sqrt(looks / k) for k in range(1, looks + 1)],
            "customers_per_arm": math.ceil(plan["customers_per_arm"] * plan["inflation"]),
            "inflation": plan["inflation"],
        },
        "empirical_power": checked.get("empirical_power"),
        "empirical_power_se": checked.get("empirical_power_se"),
        "sequential_power": checked.get("sequential_power"),
        "mean_looks": checked.get("mean_looks"),
        "pilots": checked.get("pilots", 0),
        "note": checked.get("note"),
    }


def _size_range(plan: dict[str, Any], alpha: float, power: float) -> list[int | None]:
    """The size per arm at the two ends of the effect's 95% interval (``None``: unbounded, the
    interval reaches zero)."""
    eff, se, var = plan["effect"], plan["effect_se"], plan["variance"]
    ends = sorted((abs(eff) - 1.96 * se, abs(eff) + 1.96 * se))
    return [
        sample_size(e, var, alpha=alpha, power=power) if e > 0 else None for e in reversed(ends)
    ]


def _text(rec: dict[str, Any]) -> str:
    m = rec["metric"]
    unit = "per customer" if m == "profit" else "(share of customers)"
    fmt = (lambda x: f"{x:+,.0f}") if m == "profit" else (lambda x: f"{100 * x:+.2f} pp")
    lines = [
        f"Pilot of {rec['candidate']} against {rec['baseline']} on {m} {unit}:",
        f"  simulated effect {fmt(rec['effect'])} (SE {fmt(rec['effect_se']).lstrip('+')}) over "
        f"{rec['weeks']} weeks",
        f"  customers per arm: {rec['customers_per_arm']:,} for {rec['power']:.0%} power at a "
        f"two-sided {rec['alpha']:.0%} level",
    ]
    lo, hi = rec["customers_per_arm_range"]
    if lo is None:  # no effect at either end: nothing for a pilot to detect
        lines[-1] = (
            f"  the simulated effect is zero: no pilot of any size confirms a difference on {m}; "
            "simulate more customers or a longer horizon"
        )
        return "\n".join(lines)
    lines.append(
        f"  over the effect's 95% interval: {lo:,} to "
        + (f"{hi:,}" if hi is not None else "unbounded (the interval reaches no effect)")
        + " per arm"
    )
    if 2 * rec["customers_per_arm"] > rec["planning_customers"]:
        lines.append(
            f"  that is more customers than the simulated base of {rec['planning_customers']:,}: "
            "if the real base is of that size, this effect is too small to confirm by a pilot "
            "on this metric; try a longer pilot or another metric"
        )
    sr = rec["stopping_rule"]
    if sr["looks"] > 1:
        bounds = ", ".join(f"{b:.2f}" for b in sr["boundaries"])
        lines.append(
            f"  stopping rule: enrol in {sr['looks']} equal waves "
            f"({sr['customers_per_arm']:,} per arm in all); after each wave has run "
            f"{rec['weeks']} weeks, stop if |z| reaches {bounds} (O'Brien-Fleming)"
        )
    if rec["pilots"]:
        lines.append(
            f"  in {rec['pilots']} simulated pilots: power {rec['empirical_power']:.1%} "
            f"(SE {rec['empirical_power_se']:.1%}) for the single test at the end, "
            f"{rec['sequential_power']:.1%} with the stopping rule "
            f"(mean {rec['mean_looks']:.2f} looks)"
        )
    if rec.get("note"):
        lines.append(f"  not checked in the model: {rec['note']}")
    lines.append("  by pilot length:")
    for r in rec["by_weeks"]:
        mde = r["detectable_effect"]
        tail = f"; detects {fmt(mde).lstrip('+')} at the given size" if mde is not None else ""
        lines.append(
            f"    {r['weeks']:>3} weeks: effect {fmt(r['effect'])}, "
            f"{r['customers_per_arm']:,} per arm{tail}"
        )
    return "\n".join(lines)
