"""The service desk's queue, compiled: agents and account managers as multi-server FIFO queues
with reneging, advanced event by event without a SimPy process per request.

:class:`~retention_sim.model.service_desk.ServiceDesk` runs each request as a SimPy process (the
reference). The requests of a day are known once the day's step has started them, so this queue
replays those processes in one compiled loop per day (:func:`_advance_kernel`), carrying busy
agents and waiting requests over. It reproduces them exactly, tie for tie, by keeping SimPy's
event heap for the desk's events: each event the reference schedules (a process start, an
arrival, a grant, a patience timeout, the ``req | timeout`` condition, a service end, a
release) is scheduled here in the same order and ordered by ``(time, priority, sequence)`` as
SimPy orders by ``(time, priority, event id)``. Hence:

- a request finding a free agent on arrival (``req.triggered``) has no patience clock; any
  other waits for a grant or its patience, whichever SimPy processes first;
- a pool grants the head of its queue only, when a request is made and when a release is
  processed (SimPy's ``_trigger_put`` stops after the first request); the release is processed
  after the service end that made it, so a request arriving at that very instant, in between,
  may see a free agent, held for the queue's head;
- a request that gives up in the instant it is granted releases its agent.

Nothing but the day's step reads or changes what a request changes, so the queue is advanced
at each whole day ``T`` before anything else happens then (:func:`schedule_ticks`), over what
SimPy processes before day ``T``'s step: events before ``T``, and those at ``T`` scheduled
before that step's timeout (the ``mark``, taken after the starts of the requests of day
``T - 1``'s step). At the end of the run (``final``) only events before the horizon count, as
SimPy stops there before processing any.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import simpy
from simpy.events import URGENT

from .kernels import njit

__all__ = ["DeskQueue", "Customers", "Outcomes", "schedule_ticks"]

# request kinds that change the customer differently (service_desk's ISSUE, CALL, CASE)
_ISSUE, _CALL, _CASE = 0, 2, 4
# events: what each SimPy event of a request does when processed
_EV_INIT, _EV_ARRIVE, _EV_GRANT, _EV_PATIENCE, _EV_COND, _EV_SERVICE, _EV_NOPOOL = range(7)
_EV_RELEASE = 7
_NORMAL = 1  # SimPy's priorities: URGENT (0, process starts) before NORMAL at the same time
# a request's mode: waiting to arrive, granted at once, waiting for a grant or its patience,
# in service, waiting with no pool at all
_M_COMING, _M_AT_ONCE, _M_WAITING, _M_SERVING, _M_NO_POOL = range(5)
# a request's flags: granted (an agent is its own), grant processed, condition triggered, built
_GRANTED, _GRANT_DONE, _COND_TRIGGERED, _COND_BUILT = 1, 2, 4, 8
# scalar state (st), request fields (req_i, req_f), heap fields (hi), configuration
_SEQ, _HN, _FREE_N, _SERIAL, _OUT_N, _ISS_N, _USERS, _QHEAD, _QLEN = 0, 1, 2, 3, 4, 5, 6, 8, 10
_R_ROW, _R_KIND, _R_DAY, _R_POOL, _R_MODE, _R_FLAGS, _R_SERIAL = range(7)
_F_OFFSET, _F_SERVICE, _F_ARRIVED, _F_WAIT = range(4)
_H_KEY, _H_EV, _H_REF, _H_SERIAL = range(4)
_C_CAP, _C_UNRESOLVED = 0, 2
_C_PATIENCE, _C_HOURS, _C_QUICK, _C_GAIN, _C_PENALTY = range(5)


class Customers(NamedTuple):
    """The population columns a request reads and changes when it ends (changed in place)."""

    satisfaction: np.ndarray
    unresolved: np.ndarray
    last_valued_touch_day: np.ndarray
    present: np.ndarray
    has_account_manager: np.ndarray


class Outcomes(NamedTuple):
    """The requests that ended during an advance, in the order they ended.

    ``rows, days, wait_hours, served, kinds`` are the service log's fields, ``ends`` the
    moments they ended; ``issue_rows`` and ``issue_closes`` the issues opened (an abandoned
    product issue of a present customer) and the day each closes.
    """

    rows: np.ndarray
    days: np.ndarray
    wait_hours: np.ndarray
    served: np.ndarray
    kinds: np.ndarray
    ends: np.ndarray
    issue_rows: np.ndarray
    issue_closes: np.ndarray


class DeskQueue:
    """The agents' pool and the account managers' pool of one run, and their requests.

    Parameters
    ----------
    agents, managers
        Servers in each pool. A customer of an account manager queues for one when there are
        managers, any other for an agent; with no pool to queue for, waits out its patience.
    patience
        How long a queued request waits for an agent before giving up, in days.
    hours
        Working hours in a day (waits are logged in hours).
    quick_hours, recovery_gain, wait_penalty, unresolved_days
        What an answer does to the customer (the scenario's, see :mod:`.service_desk`).
    """

    def __init__(
        self,
        agents: int,
        managers: int,
        *,
        patience: float,
        hours: float,
        quick_hours: float = 0.0,
        recovery_gain: float = 0.0,
        wait_penalty: float = 0.0,
        unresolved_days: int = 0,
    ) -> None:
        self.cfg_i = np.array([agents, managers, unresolved_days], dtype=np.int64)
        self.cfg_f = np.array([patience, hours, quick_hours, recovery_gain, wait_penalty], float)
        self.st = np.zeros(12, dtype=np.int64)
        self.req_i = np.zeros((0, 7), dtype=np.int64)  # per request slot: see _R_*
        self.req_f = np.zeros((0, 4))  # see _F_*
        self.queue = np.zeros((2, 0), dtype=np.int64)  # each pool's waiting requests, FIFO
        self.free = np.zeros(0, dtype=np.int64)  # free slots, a stack
        self.heap_t, self.heap_i = np.zeros(0), np.zeros((0, 4), dtype=np.int64)
        self._grow_slots(64)
        self._grow_heap(256)
        #: Requests added since the last advance: rows, kinds, days, offsets, service times.
        self._pending: tuple[list, list, list, list, list] = ([], [], [], [], [])

    @property
    def waiting(self) -> int:
        """Requests started and not ended yet (queued, in service or still to arrive)."""
        return int(self.req_i.shape[0] - self.st[_FREE_N]) + len(self._pending[0])

    def add(self, row: int, kind: int, day: int, offset: float, service: float) -> None:
        """A request started during ``day``'s step: it arrives at ``day + offset``."""
        p = self._pending
        p[0].append(row)
        p[1].append(kind)
        p[2].append(day)
        p[3].append(offset)
        p[4].append(service)

    def add_many(self, rows: list, kinds: list, day: int, offsets: list, services: list) -> None:
        """Requests started during ``day``'s step, in the order they start."""
        p = self._pending
        p[0].extend(rows)
        p[1].extend(kinds)
        p[2].extend([day] * len(rows))
        p[3].extend(offsets)
        p[4].extend(services)

    def advance(self, until: int, customers: Customers, *, final: bool = False) -> Outcomes:
        """Process what SimPy processes before day ``until``'s step (before ``until`` if
        ``final``), the requests added since the last advance first (started during
        ``until - 1``'s step); apply each ending's effects to ``customers`` as it ends."""
        rows, kinds, days, offsets, services = self._pending
        n = len(rows)
        free = int(self.st[_FREE_N])
        if n > free:
            self._grow_slots(max(2 * self.req_i.shape[0], self.req_i.shape[0] - free + n))
        if int(self.st[_HN]) + n + 2 > self.heap_t.shape[0]:
            self._grow_heap(2 * (self.heap_t.shape[0] + n))
        if n:
            _admit(
                self.st, self.heap_t, self.heap_i, self.req_i, self.req_f, self.free,
                np.array(rows, dtype=np.int64), np.array(kinds, dtype=np.int64),
                np.array(days, dtype=np.int64), np.array(offsets, dtype=np.float64),
                np.array(services, dtype=np.float64),
            )  # fmt: skip
            self._pending = ([], [], [], [], [])
        lim_key = -1 if final else (_NORMAL << 62) | int(self.st[_SEQ])
        self.st[_OUT_N] = self.st[_ISS_N] = 0
        c = customers
        while _advance_kernel(
            float(until), lim_key, self.st, self.cfg_i, self.cfg_f,
            self.heap_t, self.heap_i, self.req_i, self.req_f, self.queue, self.free,
            self.out_i, self.out_f, self.iss,
            c.satisfaction, c.unresolved, c.last_valued_touch_day, c.present,
            c.has_account_manager,
        ):  # fmt: skip
            self._grow_heap(2 * self.heap_t.shape[0])
        k, j = int(self.st[_OUT_N]), int(self.st[_ISS_N])
        o, f = self.out_i[:k], self.out_f[:k]
        return Outcomes(
            rows=o[:, 0].copy(),
            days=o[:, 1].copy(),
            wait_hours=f[:, 0].copy(),
            served=o[:, 2].astype(bool),
            kinds=o[:, 3].copy(),
            ends=f[:, 1].copy(),
            issue_rows=self.iss[:j, 0].copy(),
            issue_closes=self.iss[:j, 1].copy(),
        )

    def _grow_slots(self, size: int) -> None:
        """Room for ``size`` requests at once (the new slots are free)."""
        old = self.req_i.shape[0]
        req_i = np.zeros((size, 7), dtype=np.int64)
        req_i[:, _R_SERIAL] = -1
        req_f = np.zeros((size, 4))
        queue = np.zeros((2, size), dtype=np.int64)
        free = np.zeros(size, dtype=np.int64)
        if old:
            req_i[:old], req_f[:old], queue[:, :old] = self.req_i, self.req_f, self.queue
            free[: self.st[_FREE_N]] = self.free[: self.st[_FREE_N]]
        nf = int(self.st[_FREE_N])
        free[nf : nf + size - old] = np.arange(size - 1, old - 1, -1)
        self.st[_FREE_N] = nf + size - old
        self.req_i, self.req_f, self.queue, self.free = req_i, req_f, queue, free
        self.out_i = np.zeros((size, 4), dtype=np.int64)
        self.out_f = np.zeros((size, 2))
        self.iss = np.zeros((size, 2), dtype=np.int64)

    def _grow_heap(self, size: int) -> None:
        """Room for ``size`` scheduled events."""
        heap_t, heap_i = np.zeros(size), np.zeros((size, 4), dtype=np.int64)
        n = int(self.st[_HN])
        if n:
            heap_t[:n], heap_i[:n] = self.heap_t[:n], self.heap_i[:n]
        self.heap_t, self.heap_i = heap_t, heap_i


class _Tick(simpy.Event):
    """An event processed before anything else at its time (as a process start is)."""

    def __init__(self, env: simpy.Environment, delay: float, callback: Callable) -> None:
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True
        env.schedule(self, URGENT, delay)


def schedule_ticks(
    env: simpy.Environment, horizon: int, advance: Callable[[int, bool], None]
) -> None:
    """Call ``advance(T, final)`` at each whole day ``T`` of ``1 .. horizon``, first at ``T``.

    Each tick schedules the next; the last (``final``) is scheduled now, ahead of the stop
    event of ``env.run(until=horizon)``, which SimPy processes before anything else at the
    horizon. Call before the run starts, with the environment at time 0.
    """

    def tick(event: simpy.Event) -> None:
        day = int(env.now)
        advance(day, day >= horizon)
        if day + 1 < horizon:
            _Tick(env, 1, tick)

    if horizon > 1:
        _Tick(env, 1, tick)
    if horizon >= 1:
        _Tick(env, horizon, tick)


# ----------------------------------------------------------------------------- the kernels
@njit
def _push(ht, hi, st, t, prio, ev, ref, serial):
    """Schedule event ``ev`` of ``ref`` at ``t``: SimPy's ``heappush`` of ``(t, prio, eid)``."""
    n = st[_HN]
    st[_HN] = n + 1
    key = (prio << 62) | st[_SEQ]
    st[_SEQ] += 1
    while n > 0:
        p = (n - 1) >> 1
        if ht[p] < t or (ht[p] == t and hi[p, _H_KEY] < key):
            break
        ht[n] = ht[p]
        for j in range(4):
            hi[n, j] = hi[p, j]
        n = p
    ht[n] = t
    hi[n, _H_KEY] = key
    hi[n, _H_EV] = ev
    hi[n, _H_REF] = ref
    hi[n, _H_SERIAL] = serial


@njit
def _pop(ht, hi, st):
    """The next event ``(t, ev, ref, serial)``, taken off the heap."""
    t, ev, ref, serial = ht[0], hi[0, _H_EV], hi[0, _H_REF], hi[0, _H_SERIAL]
    n = st[_HN] - 1
    st[_HN] = n
    if n > 0:
        lt, lk = ht[n], hi[n, _H_KEY]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= n:
                break
            d = c + 1
            if d < n and (ht[d] < ht[c] or (ht[d] == ht[c] and hi[d, _H_KEY] < hi[c, _H_KEY])):
                c = d
            if not (ht[c] < lt or (ht[c] == lt and hi[c, _H_KEY] < lk)):
                break
            ht[i] = ht[c]
            for j in range(4):
                hi[i, j] = hi[c, j]
            i = c
        ht[i] = lt
        for j in range(4):
            hi[i, j] = hi[n, j]
    return t, ev, ref, serial


@njit
def _admit(st, ht, hi, req_i, req_f, free, rows, kinds, days, offsets, services):  # fmt: skip
    """Start the requests of a day's step in order: each process's start, at its day, urgent."""
    for k in range(rows.size):
        nf = st[_FREE_N] - 1
        st[_FREE_N] = nf
        s = free[nf]
        serial = st[_SERIAL]
        st[_SERIAL] = serial + 1
        req_i[s, _R_ROW], req_i[s, _R_KIND], req_i[s, _R_DAY] = rows[k], kinds[k], days[k]
        req_i[s, _R_POOL], req_i[s, _R_MODE], req_i[s, _R_FLAGS] = -1, _M_COMING, 0
        req_i[s, _R_SERIAL] = serial
        req_f[s, _F_OFFSET], req_f[s, _F_SERVICE] = offsets[k], services[k]
        _push(ht, hi, st, np.float64(days[k]), 0, _EV_INIT, s, serial)


@njit
def _grant_head(pool, now, st, cfg_i, queue, req_i, ht, hi):
    """SimPy's ``_trigger_put``: grant the head of ``pool``'s queue if an agent is free."""
    n = st[_QLEN + pool]
    if n > 0 and st[_USERS + pool] < cfg_i[_C_CAP + pool]:
        h = st[_QHEAD + pool]
        s = queue[pool, h]
        st[_QHEAD + pool] = h + 1
        st[_QLEN + pool] = n - 1
        st[_USERS + pool] += 1
        req_i[s, _R_FLAGS] |= _GRANTED
        _push(ht, hi, st, now, _NORMAL, _EV_GRANT, s, req_i[s, _R_SERIAL])


@njit
def _enqueue(pool, s, st, queue):
    """Append request ``s`` to ``pool``'s queue (moved to the front of its buffer if full)."""
    h, n = st[_QHEAD + pool], st[_QLEN + pool]
    if h + n == queue.shape[1]:
        for j in range(n):
            queue[pool, j] = queue[pool, h + j]
        h = 0
        st[_QHEAD + pool] = 0
    queue[pool, h + n] = s
    st[_QLEN + pool] = n + 1


@njit
def _dequeue(pool, s, st, queue):
    """Take request ``s`` out of ``pool``'s queue (its ``cancel``), keeping the others' order."""
    h, n = st[_QHEAD + pool], st[_QLEN + pool]
    j = 0
    while queue[pool, h + j] != s:
        j += 1
    for k in range(h + j, h + n - 1):
        queue[pool, k] = queue[pool, k + 1]
    st[_QLEN + pool] = n - 1


@njit
def _finish(
    s, served, wait, now, st, cfg_i, cfg_f, req_i, free, out_i, out_f, iss,
    sat, unresolved, touch, present,
):  # fmt: skip
    """Request ``s`` ends at ``now``: log it, free its slot, change its customer (as
    ``ServiceDesk._request`` does, operation for operation)."""
    row, kind = req_i[s, _R_ROW], req_i[s, _R_KIND]
    wait_h = wait * cfg_f[_C_HOURS]
    k = st[_OUT_N]
    st[_OUT_N] = k + 1
    out_i[k, 0], out_i[k, 1], out_i[k, 2], out_i[k, 3] = row, req_i[s, _R_DAY], served, kind
    out_f[k, 0], out_f[k, 1] = wait_h, now
    req_i[s, _R_SERIAL], req_i[s, _R_MODE], req_i[s, _R_FLAGS] = -1, _M_COMING, 0
    free[st[_FREE_N]] = s
    st[_FREE_N] += 1
    if kind == _CALL or not present[row]:
        return
    x = sat[row]
    quick = cfg_f[_C_QUICK]
    if served and wait_h <= quick:
        if kind == _ISSUE or kind == _CASE:
            x = x + cfg_f[_C_GAIN]
        if kind == _CASE:
            unresolved[row] = 0
        touch[row] = int(now)
    else:
        over = wait_h - quick
        over = over if over > 0.0 else 0.0  # Python's max(0.0, over)
        x = x - cfg_f[_C_PENALTY] * over
    x = x if x > 0.0 else 0.0  # min(1.0, max(0.0, x))
    sat[row] = x if x < 1.0 else 1.0
    if not served and kind == _ISSUE and cfg_i[_C_UNRESOLVED] > 0:
        unresolved[row] += 1
        j = st[_ISS_N]
        st[_ISS_N] = j + 1
        iss[j, 0], iss[j, 1] = row, np.int64(np.ceil(now + cfg_i[_C_UNRESOLVED]))


@njit
def _arrive(s, now, st, cfg_i, cfg_f, ht, hi, req_i, req_f, queue, has_am):
    """Request ``s`` arrives: it asks its pool (or, with none, waits out its patience)."""
    req_f[s, _F_ARRIVED] = now
    serial = req_i[s, _R_SERIAL]
    pool = -1
    if cfg_i[_C_CAP + 1] > 0 and has_am[req_i[s, _R_ROW]]:
        pool = 1
    elif cfg_i[_C_CAP] > 0:
        pool = 0
    req_i[s, _R_POOL] = pool
    if pool < 0:
        req_i[s, _R_MODE] = _M_NO_POOL
        _push(ht, hi, st, now + cfg_f[_C_PATIENCE], _NORMAL, _EV_NOPOOL, s, serial)
        return
    _enqueue(pool, s, st, queue)
    _grant_head(pool, now, st, cfg_i, queue, req_i, ht, hi)
    if req_i[s, _R_FLAGS] & _GRANTED:  # an agent is free: no patience clock
        req_i[s, _R_MODE] = _M_AT_ONCE
    else:
        req_i[s, _R_MODE] = _M_WAITING
        _push(ht, hi, st, now + cfg_f[_C_PATIENCE], _NORMAL, _EV_PATIENCE, s, serial)


@njit
def _advance_kernel(
    lim_t, lim_key, st, cfg_i, cfg_f, ht, hi, req_i, req_f, queue, free,
    out_i, out_f, iss, sat, unresolved, touch, present, has_am,
):  # fmt: skip
    """Process the desk's events before ``(lim_t, lim_key)`` in SimPy's order.

    Returns 1 (nothing lost) when the heap needs more room before the next event, else 0.
    An event of a request that has ended (a patience timeout left by a served request, a grant
    to one that gave up in the same instant) finds its slot's serial changed and does nothing,
    as in SimPy (nothing waits for it any more).
    """
    cap = ht.shape[0]
    while st[_HN] > 0:
        t = ht[0]
        if not (t < lim_t or (t == lim_t and hi[0, _H_KEY] < lim_key)):
            return 0
        if st[_HN] + 2 > cap:
            return 1
        now, ev, s, serial = _pop(ht, hi, st)
        if ev == _EV_RELEASE:  # the release's callback: the pool grants its queue's head
            _grant_head(s, now, st, cfg_i, queue, req_i, ht, hi)
            continue
        if req_i[s, _R_SERIAL] != serial:
            continue
        flags = req_i[s, _R_FLAGS]
        pool = req_i[s, _R_POOL]
        if ev == _EV_INIT:  # the process starts: yield env.timeout(offset)
            _push(ht, hi, st, now + req_f[s, _F_OFFSET], _NORMAL, _EV_ARRIVE, s, serial)
        elif ev == _EV_ARRIVE:
            _arrive(s, now, st, cfg_i, cfg_f, ht, hi, req_i, req_f, queue, has_am)
        elif ev == _EV_GRANT:  # the request event is processed
            req_i[s, _R_FLAGS] = flags | _GRANT_DONE
            if req_i[s, _R_MODE] == _M_AT_ONCE:  # the process resumes: served at once
                req_f[s, _F_WAIT] = now - req_f[s, _F_ARRIVED]
                req_i[s, _R_MODE] = _M_SERVING
                _push(ht, hi, st, now + req_f[s, _F_SERVICE], _NORMAL, _EV_SERVICE, s, serial)
            elif not flags & (_COND_TRIGGERED | _COND_BUILT):  # the condition's check
                req_i[s, _R_FLAGS] |= _COND_TRIGGERED
                _push(ht, hi, st, now, _NORMAL, _EV_COND, s, serial)
        elif ev == _EV_PATIENCE:  # the timeout's check of the condition, if still attached
            if not flags & (_COND_TRIGGERED | _COND_BUILT):
                req_i[s, _R_FLAGS] = flags | _COND_TRIGGERED
                _push(ht, hi, st, now, _NORMAL, _EV_COND, s, serial)
        elif ev == _EV_COND:  # the condition is processed: served if the grant was
            req_i[s, _R_FLAGS] = flags | _COND_BUILT
            if flags & _GRANT_DONE:
                req_f[s, _F_WAIT] = now - req_f[s, _F_ARRIVED]
                req_i[s, _R_MODE] = _M_SERVING
                _push(ht, hi, st, now + req_f[s, _F_SERVICE], _NORMAL, _EV_SERVICE, s, serial)
            else:  # gives up: cancel (or release the agent granted this instant), then log
                if flags & _GRANTED:
                    st[_USERS + pool] -= 1
                else:
                    _dequeue(pool, s, st, queue)
                _push(ht, hi, st, now, _NORMAL, _EV_RELEASE, pool, -1)
                _finish(
                    s, False, now - req_f[s, _F_ARRIVED], now, st, cfg_i, cfg_f, req_i, free,
                    out_i, out_f, iss, sat, unresolved, touch, present,
                )  # fmt: skip
        elif ev == _EV_SERVICE:  # served: release the agent, then log
            st[_USERS + pool] -= 1
            _push(ht, hi, st, now, _NORMAL, _EV_RELEASE, pool, -1)
            _finish(
                s, True, req_f[s, _F_WAIT], now, st, cfg_i, cfg_f, req_i, free,
                out_i, out_f, iss, sat, unresolved, touch, present,
            )  # fmt: skip
        else:  # no pool: the patience is waited out
            _finish(
                s, False, now - req_f[s, _F_ARRIVED], now, st, cfg_i, cfg_f, req_i, free,
                out_i, out_f, iss, sat, unresolved, touch, present,
            )  # fmt: skip
    return 0
