"""Trigger-driven campaigns: who is due a message today because of what happened to them.

- ``thank_you``: customers who bought ``delay_days`` ago;
- ``win_back``: ``after_days`` without a purchase (then every ``repeat_every_days``), churned
  customers included when the audience names the ``churned`` stage (and they left for a reason
  a message can answer);
- ``birthday``: ``days_before`` the customer's birthday;
- ``tier_up``: reaching a tier today, or coming ``near`` the next one (at most once per
  qualification period each);
- ``predicted_next_purchase``: the day the customer's own purchase cycle predicts the next
  purchase, less ``lead_days``.

Most triggers read event lists, not every row (:class:`Triggers`):

- who last bought on a day (:class:`LastPurchases`, for thank-you and a win-back without a
  repeat): the rows of the base when the engine was built, by their last purchase day then,
  and the rows of every purchase booked since (:class:`Bookings`: every purchase, an arrival's
  first and a returning customer's included, is booked in the run's transactions); a later
  purchase moves a row's day, so each row is checked against its day when read;
- birthdays: the rows by birthday, sorted once (drawn at build, never changed);
- tier news: the rows that bought since the last look (only a purchase earns tier points or an
  upgrade), and every row on the first look of each qualification period (the tier review ends
  a period: it resets the points and demotes).

:func:`triggered` and :meth:`TierUpNotices.candidates_reference` are the full scans they
replace (:meth:`Triggers.candidates_reference`); tests check that both give the same rows. A
win-back with a repeat and the predicted next purchase still scan every row.

With the compiled kernels switched on (:mod:`~retention_sim.model.kernels`), the tier news'
look at the rows that bought (:func:`_tell_kernel`, beside :meth:`TierUpNotices._tell`) and
the scan of a win-back with a repeat (:func:`_win_back_kernel`, beside :func:`triggered`) run
in one pass each; they give the NumPy code's rows and state.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ...config.policy import Campaign
from ...vocabulary import NEVER, Stage
from ..kernels import compiled, njit
from ..reactivation import GONE_FOR_GOOD, reachable, reachable_churned
from ..stages import own_cycle_days
from ..world import World

__all__ = [
    "Bookings",
    "RowsBy",
    "LastPurchases",
    "TierUpNotices",
    "Triggers",
    "base_rows",
    "birthday_due",
    "sorted_unique",
    "triggered",
]


def sorted_unique(rows: np.ndarray) -> np.ndarray:
    """``np.unique(rows)`` by a sort: NumPy 2's ``unique`` hashes, some ten times slower on the
    few thousand rows of a day's event list."""
    s = np.sort(rows)
    if s.size < 2:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def base_rows(world: World) -> np.ndarray:
    """The rows present or churned now (sorted): every row but the customers yet to arrive.

    A row outside them enters the base only by arriving (or being referred), which books its
    first purchase (:class:`Bookings`).
    """
    return np.flatnonzero(world.present | (world.pop.stage != Stage.PENDING))


class Bookings:
    """The purchases booked in a run since the reader last looked.

    Every purchase goes through :func:`~retention_sim.model.purchases.book_purchases`, which
    appends its rows and day to ``world.transactions``; the reader starts at the end of what was
    booked when it was made.
    """

    def __init__(self, world: World) -> None:
        self.log = world.transactions
        self.seen = len(self.log.chunks("customer_id"))

    def read(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(rows, days)`` of every booking since the last read (rows as int64)."""
        rows = self.log.chunks("customer_id", self.seen)
        days = self.log.chunks("day", self.seen)
        self.seen += len(rows)
        return [(r.astype(np.int64), d) for r, d in zip(rows, days, strict=True)]

    def rows(self) -> np.ndarray:
        """The rows booked since the last read (a row booked twice is there twice)."""
        got = [r for r, _ in self.read()]
        return np.concatenate(got) if got else np.zeros(0, dtype=np.int64)


class RowsBy:
    """Rows sorted by an integer column's value (then by row), to read those of one value."""

    def __init__(self, rows: np.ndarray, values: np.ndarray) -> None:
        order = np.argsort(values, kind="stable")
        self.rows = rows[order]
        # int64, as the values asked for: searchsorted would convert the column on every call
        self.values = values[order].astype(np.int64)

    def of(self, value: int) -> np.ndarray:
        """The rows whose value was ``value`` (in row order)."""
        lo, hi = np.searchsorted(self.values, np.array([value, value + 1], dtype=np.int64))
        return self.rows[lo:hi]


class LastPurchases:
    """Who last bought on a given day, asked at most ``lag`` days later.

    The rows of the base when it was made (by their last purchase day then) and those of every
    purchase booked since, by its day. A row is listed under every day it bought; each list is
    checked against the row's last purchase day when read, and compacted to the rows still
    listed under their last day when the lists hold twice as many rows as the population.
    """

    def __init__(self, world: World, lag: int) -> None:
        self.world = world
        self.lag = lag
        rows = base_rows(world)
        self.start = RowsBy(rows, world.pop.last_purchase_day[rows])
        self.bookings = Bookings(world)
        self.by_day: dict[int, list[np.ndarray]] = {}
        self.held = 0
        self.day = NEVER  # of the last read

    def on(self, day: int, past: int) -> np.ndarray:
        """The rows whose last purchase was on ``past``, sorted; asked on ``day``."""
        self._read(day)
        rows = np.concatenate([self.start.of(past), *self.by_day.get(past, [])])
        return sorted_unique(rows[self.world.pop.last_purchase_day[rows] == past])

    def _read(self, day: int) -> None:
        for rows, days in self.bookings.read():
            if rows.size == 0:
                continue
            first = int(days[0])
            if (days == first).all():
                self._add(first, rows)
            else:
                for d in np.unique(days).tolist():
                    self._add(int(d), rows[days == d])
        if day != self.day:  # the days no longer asked for, once a day
            self.day = day
            for d in [d for d in self.by_day if d < day - self.lag]:
                self.held -= sum(r.size for r in self.by_day.pop(d))
        if self.held > 2 * self.world.pop.capacity:
            self._compact()

    def _add(self, day: int, rows: np.ndarray) -> None:
        self.by_day.setdefault(day, []).append(rows)
        self.held += rows.size

    def _compact(self) -> None:
        """Keep, under each day, the rows whose last purchase is still that day, each once."""
        last = self.world.pop.last_purchase_day
        self.held = 0
        for d, parts in list(self.by_day.items()):
            rows = sorted_unique(np.concatenate(parts))
            rows = rows[last[rows] == d]
            if rows.size:
                self.by_day[d] = [rows]
                self.held += rows.size
            else:
                del self.by_day[d]


class TierUpNotices:
    """When each customer was last told of a tier (``near`` and ``reached``), per campaign."""

    def __init__(self, world: World, campaigns: list[Campaign]) -> None:
        self.world = world
        n = world.pop.capacity
        self.notified = {
            i: np.full((n, 2), -1, dtype=np.int32)
            for i, c in enumerate(campaigns)
            if c.type == "tier_up"
        }
        self.bookings = {i: Bookings(world) for i in self.notified}
        #: The qualification period of each campaign's last look.
        self.period: dict[int, int] = {}
        #: Whether the look at the rows that bought uses the compiled kernel (:func:`_tell_kernel`).
        self.compiled = compiled()

    def candidates(self, i: int, c: Campaign, day: int) -> np.ndarray:
        """Customers tier-up campaign ``i`` tells today (and remembers having told).

        The rows that bought since the last look; every row on a period's first look. Points
        and tiers change only by a purchase (:func:`~retention_sim.model.loyalty.earn_points`)
        and at the review that ends a period, and a row enters the base by a purchase: any other
        row is as it was at the last look, when it was told or was not due.
        """
        booked = self.bookings[i].rows()
        loy = self.world.scenario.loyalty
        if not loy.enabled:
            return np.zeros(0, dtype=np.int64)
        period = day // loy.qualification_window_days
        if self.period.get(i) != period:
            self.period[i] = period
            return self.candidates_reference(i, c, day)
        if self.compiled:
            return self._tell_compiled(i, c, day, booked)
        return self._tell(i, c, day, booked)

    def _tell_compiled(self, i: int, c: Campaign, day: int, rows: np.ndarray) -> np.ndarray:
        """:meth:`_tell` by the compiled kernel (one pass over ``rows``)."""
        w = self.world
        pop = w.pop
        loy = w.scenario.loyalty
        th = np.array([t.threshold_points for t in loy.tiers] + [np.inf])
        out = np.empty(rows.size, dtype=np.int64)
        n = _tell_kernel(
            rows, w.present, pop.upgraded_day, pop.period_points, pop.tier, th,
            float(c.near_share), self.notified[i], int(day),
            int(day // loy.qualification_window_days),
            "reached" in c.notify_on, "near" in c.notify_on, out,
        )  # fmt: skip
        return np.sort(out[:n])

    def _tell(self, i: int, c: Campaign, day: int, rows: np.ndarray) -> np.ndarray:
        """:meth:`candidates_reference` on ``rows`` only (in any order, a row there twice or
        more: told once, and listed once, in the sorted answer)."""
        w = self.world
        pop = w.pop
        loy = w.scenario.loyalty
        th = np.array([t.threshold_points for t in loy.tiers] + [np.inf])
        period = day // loy.qualification_window_days
        notified = self.notified[i]
        pres = w.present[rows]
        parts = []
        if "reached" in c.notify_on:
            untold = notified[rows, 1] != period
            hit = rows[pres & (pop.upgraded_day[rows] == day) & untold]
            notified[hit, 1] = period
            parts.append(hit)
        if "near" in c.notify_on:
            points = pop.period_points[rows]
            nxt = th[pop.tier[rows] + 1]
            near = (points >= c.near_share * nxt) & (points < nxt)
            hit = rows[pres & near & (notified[rows, 0] != period)]
            notified[hit, 0] = period
            parts.append(hit)
        return sorted_unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def candidates_reference(self, i: int, c: Campaign, day: int) -> np.ndarray:
        """:meth:`candidates` by a scan of every row."""
        w = self.world
        pop = w.pop
        loy = w.scenario.loyalty
        if not loy.enabled:
            return np.zeros(0, dtype=np.int64)
        th = np.array([t.threshold_points for t in loy.tiers] + [np.inf])
        period = day // loy.qualification_window_days
        notified = self.notified[i]
        parts = []
        if "reached" in c.notify_on:
            hit = np.flatnonzero(w.present & (pop.upgraded_day == day) & (notified[:, 1] != period))
            notified[hit, 1] = period
            parts.append(hit)
        if "near" in c.notify_on:
            nxt = th[pop.tier + 1]  # tier codes are small (int8)
            near = (pop.period_points >= c.near_share * nxt) & (pop.period_points < nxt)
            hit = np.flatnonzero(w.present & near & (notified[:, 0] != period))
            notified[hit, 0] = period
            parts.append(hit)
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


class Triggers:
    """Today's candidates of every trigger campaign of a policy (all but journeys)."""

    def __init__(self, world: World, campaigns: list[Campaign]) -> None:
        self.world = world
        self.tier = TierUpNotices(world, campaigns)
        lags = [c.delay_days for c in campaigns if c.type == "thank_you"] + [
            c.after_days for c in campaigns if c.type == "win_back" and not c.repeat_every_days
        ]
        self.last_purchases = LastPurchases(world, max(lags)) if lags else None
        birthdays = any(c.type == "birthday" for c in campaigns)
        doy = world.pop.birthday_doy
        self.birthdays = RowsBy(np.arange(doy.size), doy) if birthdays else None
        #: Whether the scans left (a win-back with a repeat) use the compiled kernel.
        self.compiled = compiled()

    def candidates(self, i: int, c: Campaign, day: int) -> np.ndarray:
        """The rows trigger campaign ``i`` is due today (sorted), before its audience."""
        w = self.world
        t = c.type
        if t == "tier_up":
            return self.tier.candidates(i, c, day)
        if t == "birthday" and self.birthdays is not None:
            rows = self.birthdays.of(birthday_due(w, c, day))
            return rows[w.present[rows]]
        if self.last_purchases is not None:
            if t == "thank_you":
                rows = self.last_purchases.on(day, day - c.delay_days)
                return rows[w.present[rows]]
            if t == "win_back" and not c.repeat_every_days:
                rows = self.last_purchases.on(day, day - c.after_days)
                keep = w.present[rows]
                if c.audience.stages is not None and "churned" in c.audience.stages:
                    keep |= reachable(w, rows)
                return rows[keep]
        if t == "win_back" and self.compiled:
            return self._win_back_compiled(c, day)
        return self.candidates_reference(i, c, day)

    def _win_back_compiled(self, c: Campaign, day: int) -> np.ndarray:
        """:func:`triggered`'s win-back rows by the compiled kernel (one pass over the rows)."""
        w = self.world
        pop = w.pop
        churned = c.audience.stages is not None and "churned" in c.audience.stages
        gone = np.zeros(max(GONE_FOR_GOOD) + 1, dtype=np.bool_)
        gone[list(GONE_FOR_GOOD)] = True
        out = np.empty(pop.capacity, dtype=np.int64)
        n = _win_back_kernel(
            w.present, pop.stage, pop.churn_cause, pop.last_purchase_day, int(day),
            int(c.after_days), int(c.repeat_every_days or 0), churned, gone, out,
        )  # fmt: skip
        return out[:n].copy()

    def candidates_reference(self, i: int, c: Campaign, day: int) -> np.ndarray:
        """:meth:`candidates` by a scan of every row."""
        if c.type == "tier_up":
            return self.tier.candidates_reference(i, c, day)
        w = self.world
        recency = None
        if c.type == "win_back" or (c.cadence is not None and c.cadence.trigger is not None):
            recency = day - w.pop.last_purchase_day
        return np.flatnonzero(triggered(w, c, day, recency))


@njit
def _tell_kernel(
    rows, present, upgraded_day, period_points, tier, th, near_share, notified, day, period,
    reached, near, out,
):  # fmt: skip
    """:meth:`TierUpNotices._tell` in one pass over ``rows``: marks ``notified`` and puts each
    row told (once, in the order of ``rows``) into ``out``; returns how many."""
    n = 0
    for k in range(rows.size):
        r = rows[k]
        hit = False
        if reached and present[r] and upgraded_day[r] == day and notified[r, 1] != period:
            notified[r, 1] = period
            hit = True
        if near and present[r] and notified[r, 0] != period:
            nxt = th[tier[r] + 1]
            points = period_points[r]
            if points >= near_share * nxt and points < nxt:
                notified[r, 0] = period
                hit = True
        if hit:
            out[n] = r
            n += 1
    return n


@njit
def _win_back_kernel(
    present, stage, churn_cause, last_purchase_day, day, after, repeat, churned, gone, out
):  # fmt: skip
    """The rows a win-back is due (ascending, into ``out``; returns how many), as
    :func:`triggered`: present, or (with ``churned``) churned for a cause not in ``gone``;
    ``since = day − last purchase − after`` is 0, or with ``repeat > 0`` a multiple of it.
    """
    n = 0
    for i in range(present.size):
        if not present[i]:
            if not churned or stage[i] != _CHURNED:
                continue
            cause = churn_cause[i]
            if 0 <= cause < gone.size and gone[cause]:
                continue
        since = day - np.int64(last_purchase_day[i]) - after
        if since < 0:
            continue
        if (since % repeat == 0) if repeat > 0 else since == 0:
            out[n] = i
            n += 1
    return n


_CHURNED = Stage.CHURNED


def birthday_due(world: World, c: Campaign, day: int) -> int:
    """The birthday (day of the year, 0–364) birthday campaign ``c`` greets on ``day``."""
    date = world.scenario.calendar.start + dt.timedelta(days=day)
    doy = min(date.timetuple().tm_yday - 1, 364)
    return (doy + c.days_before) % 365


def triggered(world: World, c: Campaign, day: int, recency: np.ndarray | None) -> np.ndarray:
    """Mask of the rows a trigger campaign (not ``tier_up``, not ``journey``) is due today.

    ``recency`` is today's days since the last purchase of every row (computed by the caller
    once for all campaigns that need it).
    """
    pop = world.pop
    pres = world.present
    t = c.type
    if t == "thank_you":
        return pres & (pop.last_purchase_day == day - c.delay_days)
    if t == "win_back":
        assert recency is not None
        base = pres
        if c.audience.stages is not None and "churned" in c.audience.stages:
            base = pres.copy()
            base[reachable_churned(world)] = True
        since = recency - c.after_days
        if c.repeat_every_days:
            return base & (since >= 0) & (since % c.repeat_every_days == 0)
        return base & (since == 0)
    if t == "birthday":
        return pres & (pop.birthday_doy == birthday_due(world, c, day))
    if c.cadence is not None and c.cadence.trigger == "predicted_next_purchase":
        assert recency is not None
        everyone = np.arange(pop.capacity)
        due = np.rint(own_cycle_days(world, everyone)).astype(np.int64) - c.cadence.lead_days
        return pres & (recency == np.maximum(due, 1))
    raise ValueError(f"campaign {c.name!r} of type {t!r} is not trigger-driven")
