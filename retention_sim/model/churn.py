"""Competing churn hazards by cause, each with its own exponential clock.

Every customer holds one clock per cause: the cumulative hazard still to go before the cause
fires, set to an Exp(1) draw at creation. Each day the cause's hazard (base × modifiers) is taken
off its clock; the cause fires when the clock runs out. When several causes run out on the same
day, the one that ran out first within the day (the smallest fraction of the day's hazard
needed) wins. This is exact for hazards that are constant within a day, and it keeps each
cause's luck independent of every other cause and of the policy (common random numbers).

The step works one block of rows at a time (sized to stay in the CPU cache) and, within a
block, one cause at a time with one reusable day-hazard buffer, so no customers × causes
temporary is ever built and a large base does not stream every array from memory per cause.
"""

from __future__ import annotations

import numpy as np

from ..vocabulary import CAUSES, STAGES, Stage
from .kernels import compiled, njit
from .perks import holders, perk_of
from .social import spread_churn
from .world import World

__all__ = ["Churn", "hazards"]

_I = {c: k for k, c in enumerate(CAUSES)}
_ANNOYANCE = _I["annoyance"]
_BLOCK = 1 << 17  # rows per block: a block's float64 columns are 1 MB
_FRIENDS, _COMPETITOR = _I["friends"], _I["competitor"]
_DISSATISFACTION, _INDIFFERENCE = _I["dissatisfaction"], _I["indifference"]
_NEW = Stage.NEW
_EMPTY_BOOL = np.zeros(0, dtype=bool)
_EMPTY_F32 = np.zeros(0, dtype=np.float32)
_EMPTY_F64 = np.zeros(0)


class Churn:
    """The competing churn clocks of one run, with its constant tables."""

    def __init__(self, world: World) -> None:
        self.world = world
        pop = world.pop
        c = world.scenario.churn.causes
        tiers = [x.name for x in world.scenario.loyalty.tiers]
        self.indifference_stage = np.array(
            [c.indifference.stage_multiplier.get(s, 1.0) for s in STAGES]
        )
        self.tier_multiplier = np.array([c.competitor.tier_multiplier.get(n, 1.0) for n in tiers])
        # causes that can ever fire: a base hazard somewhere, or annoyance (fatigue-driven)
        live = [
            k
            for k in range(len(CAUSES))
            if k == _ANNOYANCE or bool(np.any(pop.base_hazard[:, k] > 0))
        ]
        if c.annoyance.annual_probability_per_excess <= 0 and _ANNOYANCE in live:
            live.remove(_ANNOYANCE)
        self.live = live
        perk = perk_of(world.scenario)
        #: ``(cause, multiplier)`` of a tenure perk's holders (docs/model.md §5), if any.
        self.perk = (
            (_I[perk.churn_cause], perk.hazard_multiplier)
            if perk is not None and perk.churn_cause is not None and perk.hazard_multiplier != 1
            else None
        )
        self.buffer = np.zeros(min(pop.capacity, _BLOCK))
        #: Whether :meth:`step` uses the compiled kernel (see :mod:`.kernels`).
        self.compiled = compiled()
        self._scratch: tuple[np.ndarray, ...] | None = None
        #: When set, ``(hazard, base)``: per cause, the day hazards summed over the days and
        #: the customers present, with and without their modifiers (calibration reads the
        #: mean modifier of each cause under a policy from it).
        self.meter: tuple[np.ndarray, np.ndarray] | None = None

    def cause_hazard(
        self,
        day: int,
        k: int,
        out: np.ndarray | None = None,
        rows: slice = slice(None),
    ) -> np.ndarray:
        """Daily hazard of cause ``k`` for the ``rows`` slice (zero for rows not in the base).

        Modifiers (see ``docs/model.md`` §7.3):

        - friends: × (1 + per_churned_tie × exposure)
        - competitor: × pressure(day) × tier multiplier × demotion multiplier (recently demoted)
          × dormant wake-up multiplier (a lapsed customer contacted recently)
        - dissatisfaction: × exp(k × (reference − satisfaction)) × (1 + per_unresolved × open issues)
        - indifference: × stage multiplier × min(max, 1 + growth × max(0, days since valued touch −
          grace) / 30); the ``new`` stage's multiplier stops once the customer is onboarded (their
          first valued touch from a contact)
        - annoyance: h × max(0, total fatigue / tolerance − 1)
        - a tenure perk's cause: × its hazard multiplier for the perk's holders
        """
        world = self.world
        pop = world.pop
        sc = world.scenario
        c = sc.churn.causes
        r = rows
        present = world.present[r]
        h = np.empty(present.size) if out is None else out
        name = CAUSES[k]
        if name == "annoyance":
            ann = c.annoyance.annual_probability_per_excess
            ftot = world.today.fatigue_total
            if ann <= 0 or ftot is None:  # no contact policy: no fatigue, no annoyance
                h[:] = 0.0
                return h
            np.divide(ftot[r], pop.fatigue_tolerance[r], out=h)
            h -= 1.0
            np.maximum(h, 0.0, out=h)
            h *= present
            h *= -np.log1p(-ann) / 365.0
            if c.annoyance.frailty:
                h *= pop.frailty[r]
            return h
        np.multiply(pop.base_hazard[r, k], present, out=h)
        if name == "friends" and c.friends.per_churned_tie:
            h *= 1.0 + c.friends.per_churned_tie * pop.exposure[r]
        elif name == "competitor":
            h *= world.today.competitor_pressure
            h *= self.tier_multiplier[pop.tier[r]]
            if c.competitor.demotion_multiplier != 1.0:
                recent = (day - pop.demoted_day[r]) < c.competitor.demotion_memory_days
                h[recent] *= c.competitor.demotion_multiplier
            woken, mult = world.today.woken, world.today.wakeup_multiplier
            if woken is not None and mult != 1.0:
                h[woken[r]] *= mult
        elif name == "dissatisfaction":
            dis = c.dissatisfaction
            ref = sc.satisfaction.reference
            h *= np.exp(dis.satisfaction_sensitivity * (ref - pop.satisfaction[r]))
            if dis.per_unresolved_issue:
                h *= 1.0 + dis.per_unresolved_issue * pop.unresolved[r]
        elif name == "indifference":
            ind = c.indifference
            clock = (day - pop.last_valued_touch_day[r]).astype(np.float64)
            clock -= ind.grace_days
            np.maximum(clock, 0.0, out=clock)
            clock *= ind.growth_per_30_days / 30.0
            clock += 1.0
            np.minimum(clock, ind.max_multiplier, out=clock)
            stage = pop.stage[r]
            stage_m = self.indifference_stage[stage]
            # onboarding: a new customer's extra indifference hazard ends with their first valued touch
            stage_m[pop.onboarded[r] & (stage == Stage.NEW)] = 1.0
            clock *= stage_m
            h *= clock
        if self.perk is not None and k == self.perk[0]:  # a tenure perk's holders
            h[holders(world, r, day)] *= self.perk[1]
        return h

    def step(self, day: int) -> np.ndarray:
        """Run every cause's clock down by one day; churn the customers whose clock ran out.

        Returns the rows that churned today. Their stage becomes ``churned`` with ``churn_day``
        and ``churn_cause`` set, and their ties gain exposure (social contagion). The compiled
        kernel (:func:`_clocks_kernel`) does the day's clocks in one pass over the customers
        present; the NumPy reference (:meth:`clocks_reference`) runs when the kernel is off
        (:mod:`.kernels`) or a meter is set.
        """
        world = self.world
        if not world.present.any():
            return np.zeros(0, dtype=np.int64)
        if self.compiled and self.meter is None:
            gone, cause = self.clocks_compiled(day)
        else:
            gone, cause = self.clocks_reference(day)
        if gone.size == 0:
            return gone
        pop = world.pop
        pop.churn_day[gone] = day
        pop.churn_cause[gone] = cause
        pop.churn_clock[gone] = np.inf  # a churned customer's clocks stop (a win-back draws anew)
        world.set_stage(gone, Stage.CHURNED)
        world.present[gone] = False
        counts = np.bincount(cause, minlength=len(CAUSES))
        for k, name in enumerate(CAUSES):
            if counts[k]:
                world.log.add(f"churn_{name}", float(counts[k]))
        spread_churn(world, gone)
        return gone

    def _live_today(self) -> list[int]:
        if self.world.today.fatigue_total is None:  # no contact policy: no annoyance
            return [k for k in self.live if k != _ANNOYANCE]
        return self.live

    def clocks_reference(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """The day's clocks in NumPy, block by block and cause by cause (the reference).

        Takes each live cause's hazard off its clock and returns the rows whose clock ran out
        (ascending) with, per row, the cause that ran out first within the day (ties: the lower
        cause index). Fills the meter when one is set.
        """
        world = self.world
        pop = world.pop
        clocks = pop.churn_clock
        hit_rows, hit_frac, hit_cause = [], [], []
        live = self._live_today()
        for lo in range(0, pop.capacity, _BLOCK):
            block = slice(lo, min(lo + _BLOCK, pop.capacity))
            h = self.buffer[: block.stop - lo]
            for k in live:
                self.cause_hazard(day, k, h, block)
                if self.meter is not None:
                    self.meter[0][k] += float(h.sum())
                    self.meter[1][k] += float(
                        np.sum(
                            pop.base_hazard[block, k], where=world.present[block], dtype=np.float64
                        )
                    )
                clock = clocks[block, k]
                clock -= h
                hit = np.flatnonzero(clock <= 0.0)  # only present rows move; churned sit at +inf
                if hit.size:
                    hk = h[hit]
                    with np.errstate(divide="ignore", invalid="ignore"):
                        # fraction of today's hazard that was still to go this morning
                        hit_frac.append((clock[hit] + hk) / hk)
                    hit_rows.append(hit + lo)
                    hit_cause.append(np.full(hit.size, k, dtype=np.int8))
        if not hit_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8)
        rows = np.concatenate(hit_rows)
        frac = np.concatenate(hit_frac)
        cause = np.concatenate(hit_cause)
        # per row, the cause whose clock ran out earliest in the day (ties: the lower cause index)
        order = np.lexsort((cause, frac, rows))
        rows, cause = rows[order], cause[order]
        first = np.ones(rows.size, dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        return rows[first], cause[first]

    def clocks_compiled(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """The day's clocks by the compiled kernel: what :meth:`clocks_reference` returns."""
        world = self.world
        pop = world.pop
        c = world.scenario.churn.causes
        sc = world.scenario
        today = world.today
        live = np.array(self._live_today(), dtype=np.int64)
        ftot = today.fatigue_total
        woken = today.woken
        ann = c.annoyance.annual_probability_per_excess
        ind, dis, comp = c.indifference, c.dissatisfaction, c.competitor
        perk_cause, perk_mult = self.perk if self.perk is not None else (-1, 1.0)
        perk = perk_of(sc)
        if self._scratch is None or self._scratch[0].size != pop.capacity:
            self._scratch = (
                np.full(pop.capacity, -1, dtype=np.int8),
                np.zeros(pop.capacity),
                np.empty(pop.capacity, dtype=np.int64),
                np.empty(pop.capacity, dtype=np.int8),
            )
        best_cause, best_frac, out_rows, out_cause = self._scratch
        # the satisfaction factor by NumPy's own exp (SIMD, not the C library's): the kernel's
        # hazards are then the reference's to the last bit
        dis_factor = (
            np.exp(dis.satisfaction_sensitivity * (sc.satisfaction.reference - pop.satisfaction))
            if _DISSATISFACTION in live
            else _EMPTY_F64
        )
        n = _clocks_kernel(
            day, pop.churn_clock.T, pop.base_hazard.T, world.present, live,
            pop.exposure, float(c.friends.per_churned_tie or 0.0),
            float(today.competitor_pressure), pop.tier, self.tier_multiplier,
            pop.demoted_day, float(comp.demotion_multiplier), int(comp.demotion_memory_days),
            _EMPTY_BOOL if woken is None else woken, float(today.wakeup_multiplier),
            dis_factor, pop.unresolved, float(dis.per_unresolved_issue or 0.0),
            pop.last_valued_touch_day, float(ind.grace_days), ind.growth_per_30_days / 30.0,
            float(ind.max_multiplier), pop.stage, self.indifference_stage, pop.onboarded,
            _EMPTY_F32 if ftot is None else ftot, pop.fatigue_tolerance,
            -np.log1p(-ann) / 365.0 if ann > 0 else 0.0, pop.frailty, bool(c.annoyance.frailty),
            int(perk_cause), float(perk_mult), pop.enrolled, pop.acquired_day,
            int(perk.after_days) if perk is not None else 0,
            best_cause, best_frac, out_rows, out_cause,
        )  # fmt: skip
        return out_rows[:n].copy(), out_cause[:n].copy()


_KERNEL_BLOCK = 2048  # rows per block of the compiled kernel: its hazard buffer stays in L1


@njit
def _clocks_kernel(
    day, clocks_t, base_t, present, live,
    exposure, per_tie,
    pressure, tier, tier_mult, demoted_day, demotion_mult, demotion_memory, woken, wake_mult,
    dis_factor, unresolved, per_unresolved,
    last_touch, grace, growth, max_mult, stage, stage_mult, onboarded,
    ftot, tol, ann_rate, frailty, ann_frailty,
    perk_cause, perk_mult, enrolled, acquired_day, perk_after,
    best_cause, best_frac, out_rows, out_cause,
):  # fmt: skip
    """One day of every live cause's clock (``clocks_t``/``base_t``: causes × rows, C order).

    ``dis_factor`` is the dissatisfaction cause's satisfaction factor of every row, computed
    by NumPy before the call (its ``exp`` differs from the C library's in the last bit).

    Block by block of rows, cause by cause: the cause's hazard into a small buffer, operation
    for operation as :meth:`Churn.cause_hazard` computes it and in the same floating-point
    types (branch-free, so the compiler can vectorise it: a modifier that does not apply
    multiplies by 1.0, which is exact); then the clocks. Each of those loops is a function of
    the block's slices counting from 0 (a loop from an offset keeps numba's negative-index
    check and is not vectorised: 3–4× slower, measured). Writes the rows whose clock ran out
    (ascending) and the cause that ran out first within the day (ties: the lower cause index)
    into ``out_rows``/``out_cause`` and returns how many. ``best_cause`` (all -1 on entry and on
    exit) and ``best_frac`` are per-row scratch.
    """
    n = present.size
    has_woken = woken.size > 0 and wake_mult != 1.0
    buf = np.empty(_KERNEL_BLOCK)
    n_out = 0
    for lo in range(0, n, _KERNEL_BLOCK):
        hi = min(lo + _KERNEL_BLOCK, n)
        h = buf[: hi - lo]
        pr = present[lo:hi]
        first = n_out
        for j in range(live.size):
            k = live[j]
            bk = base_t[k, lo:hi]
            if k == _ANNOYANCE:
                _annoyance(h, pr, ftot[lo:hi], tol[lo:hi], ann_rate, frailty[lo:hi], ann_frailty)
            elif k == _FRIENDS:
                _friends(h, pr, bk, exposure[lo:hi], per_tie)
            elif k == _COMPETITOR:
                _competitor(
                    h,
                    pr,
                    bk,
                    pressure,
                    tier[lo:hi],
                    tier_mult,
                    day,
                    demoted_day[lo:hi],
                    demotion_mult,
                    demotion_memory,
                    has_woken,
                    woken[lo:hi] if has_woken else woken,
                    wake_mult,
                )
            elif k == _DISSATISFACTION:
                _dissatisfaction(h, pr, bk, dis_factor[lo:hi], unresolved[lo:hi], per_unresolved)
            elif k == _INDIFFERENCE:
                _indifference(
                    h,
                    pr,
                    bk,
                    day,
                    last_touch[lo:hi],
                    grace,
                    growth,
                    max_mult,
                    stage[lo:hi],
                    stage_mult,
                    onboarded[lo:hi],
                )
            else:
                _plain(h, pr, bk)
            if k == perk_cause:
                for t in range(h.size):
                    if enrolled[lo + t] and day - acquired_day[lo + t] >= perk_after:
                        h[t] *= perk_mult
            col = clocks_t[k, lo:hi]
            if _take(col, h) == 0:
                continue
            for t in range(h.size):
                c = col[t]
                if c <= 0.0:
                    i = lo + t
                    x = h[t]
                    frac = (c + x) / x  # share of today's hazard still to go this morning
                    b = best_cause[i]
                    if b < 0:
                        out_rows[n_out] = i
                        n_out += 1
                    if (
                        b < 0
                        or frac < best_frac[i]
                        or (np.isnan(best_frac[i]) and not np.isnan(frac))
                    ):
                        best_cause[i] = k  # the first to run out (NaN last; ties: lower cause)
                        best_frac[i] = frac
        if n_out - first > 1:  # the block's rows, found cause by cause: ascending
            out_rows[first:n_out] = np.sort(out_rows[first:n_out])
    for m in range(n_out):
        out_cause[m] = best_cause[out_rows[m]]
        best_cause[out_rows[m]] = -1  # the scratch is all -1 again for the next day
    return n_out


# The block's hazard of one cause into ``h``, from the block's slices (see _clocks_kernel).


@njit
def _take(col, h):
    """Take ``h`` off the clocks ``col``; how many ran out."""
    hits = 0
    for t in range(col.size):
        c = col[t] - h[t]
        col[t] = c
        hits += c <= 0.0
    return hits


@njit
def _plain(h, present, bk):
    for t in range(h.size):
        h[t] = np.float64(bk[t]) * present[t]


@njit
def _friends(h, present, bk, exposure, per_tie):
    for t in range(h.size):
        h[t] = (np.float64(bk[t]) * present[t]) * (1.0 + per_tie * exposure[t])


@njit
def _competitor(h, present, bk, pressure, tier, tier_mult, day, demoted_day, demotion_mult,
                demotion_memory, has_woken, woken, wake_mult):  # fmt: skip
    for t in range(h.size):
        x = np.float64(bk[t]) * present[t]
        x *= pressure
        x *= tier_mult[tier[t]]
        x *= demotion_mult if (day - demoted_day[t]) < demotion_memory else 1.0
        if has_woken:
            x *= wake_mult if woken[t] else 1.0
        h[t] = x


@njit
def _dissatisfaction(h, present, bk, dis_factor, unresolved, per_unresolved):
    for t in range(h.size):
        x = np.float64(bk[t]) * present[t]
        x *= dis_factor[t]
        if per_unresolved != 0.0:
            x *= 1.0 + per_unresolved * unresolved[t]
        h[t] = x


@njit
def _indifference(h, present, bk, day, last_touch, grace, growth, max_mult, stage, stage_mult,
                  onboarded):  # fmt: skip
    for t in range(h.size):
        clock = np.float64(day - last_touch[t]) - grace
        clock = min(max(clock, 0.0) * growth + 1.0, max_mult)
        st = stage[t]
        clock *= 1.0 if (onboarded[t] and st == _NEW) else stage_mult[st]
        h[t] = (np.float64(bk[t]) * present[t]) * clock


@njit
def _annoyance(h, present, ftot, tol, ann_rate, frailty, ann_frailty):
    for t in range(h.size):
        x = np.float64(ftot[t] / tol[t]) - 1.0  # float32 ÷ float32, as the reference
        x = max(x, 0.0) * present[t]
        x *= ann_rate
        if ann_frailty:
            x *= frailty[t]
        h[t] = x


def hazards(world: World, day: int) -> np.ndarray:
    """Daily hazard of each cause for every row (zero for rows not in the base), with today's
    values in ``world.today``.

    Returns an array of shape ``capacity × causes`` (for inspection and tests; the daily step
    works cause by cause, see :meth:`Churn.cause_hazard`).
    """
    churn = Churn(world)
    out = np.zeros((world.pop.capacity, len(CAUSES)))
    for k in range(len(CAUSES)):
        out[:, k] = churn.cause_hazard(day, k)
    return out
