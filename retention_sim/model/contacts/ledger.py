"""The contact ledger: messages delivered, opened, clicked, refused by reason, unsubscribes,
complaints and cost, per campaign and channel; the daily series; the optional message log.

A delivery's counts per channel are taken in one pass by a compiled kernel when kernels are on
(:func:`_tally_kernel`, :mod:`~retention_sim.model.kernels`), by ``bincount`` otherwise; the
cost per channel is summed message after message in both, so the sums are the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...config.policy import Campaign
from ...vocabulary import CHANNELS
from ..kernels import compiled, njit
from ..logs import EventLog
from ..world import World
from .guardrails import DEFERRABLE, REFUSAL_REASONS
from .responses import Responses

__all__ = ["Ledger", "OUTCOMES", "COUNTS"]

#: Outcomes in the message log, by code.
OUTCOMES: tuple[str, ...] = (
    ("delivered", "opened", "clicked")
    + tuple(f"refused_{r}" for r in REFUSAL_REASONS)
    + tuple(f"deferred_{r}" for r in DEFERRABLE)
)
_DEFERRED_CODE = 3 + len(REFUSAL_REASONS)
#: What is counted per campaign × channel.
COUNTS: tuple[str, ...] = (
    "delivered",
    "opened",
    "clicked",
    "unsubscribes",
    "complaints",
    "cost",
    "valued",
)
_MI = {m: k for k, m in enumerate(COUNTS)}
#: The columns of :data:`COUNTS` a delivery's tally fills, in the tally's order (the cost apart).
_TALLIED = np.array([_MI[m] for m in COUNTS if m != "cost"])
#: The daily series of the tally's columns after ``delivered``.
_SERIES = ("messages_opened", "messages_clicked", "unsubscribes", "complaints")


class Ledger:
    """Counters of one policy's messages in one run (and the message log, if kept)."""

    def __init__(self, world: World, campaigns: list[Campaign], *, record: bool) -> None:
        self.world = world
        self.campaigns = campaigns
        #: Whether deliveries are tallied by the compiled kernel.
        self.compiled = compiled()
        self.stats = np.zeros((len(campaigns) + 1, len(CHANNELS), len(COUNTS)))
        self.refused = np.zeros(
            (len(campaigns) + 1, len(CHANNELS) + 1, len(REFUSAL_REASONS)), dtype=np.int64
        )
        # deferrals by campaign and reason; deliveries and drops of messages deferred before
        self.deferred = np.zeros((len(campaigns) + 1, len(DEFERRABLE)), dtype=np.int64)
        self.late = np.zeros((len(campaigns) + 1, 2), dtype=np.int64)  # delivered, dropped
        fields = ("customer_id", "day", "campaign", "channel", "outcome", "unsubscribed")
        self.msg_log = EventLog((*fields, "complained")) if record else None

    def refuse(
        self, c_idx: int, ch: np.ndarray, mask: np.ndarray, reason: int, rows: np.ndarray, day: int
    ) -> None:
        """Count the messages of ``mask`` as refused for ``reason`` (an index of the reasons)."""
        if not mask.any():
            return
        if self.compiled:  # the same counts in one pass (:func:`_refused_kernel`)
            n = _refused_kernel(ch, mask, self.refused[c_idx, :, reason])
        else:
            chm = ch[mask]
            idx = np.where(chm < 0, len(CHANNELS), chm)
            self.refused[c_idx, :, reason] += np.bincount(idx, minlength=len(CHANNELS) + 1)
            n = chm.size
        self.world.log.add(f"refused_{REFUSAL_REASONS[reason]}", float(n))
        if self.msg_log is not None:
            self._log_unsent(c_idx, ch[mask], rows[mask], day, 3 + reason)

    def defer(
        self, c_idx: int, ch: np.ndarray, mask: np.ndarray, reason: int, rows: np.ndarray, day: int
    ) -> None:
        """Count the messages of ``mask`` as deferred to tomorrow for ``reason``."""
        name = REFUSAL_REASONS[reason]
        k = DEFERRABLE.index(name)
        n = int(mask.sum())
        self.deferred[c_idx, k] += n
        self.world.log.add(f"deferred_{name}", float(n))
        if self.msg_log is not None:
            self._log_unsent(c_idx, ch[mask], rows[mask], day, _DEFERRED_CODE + k)

    def _log_unsent(
        self, c_idx: int, ch: np.ndarray, rows: np.ndarray, day: int, outcome: int
    ) -> None:
        """Record messages that were not sent today (refused or deferred) in the message log."""
        if self.msg_log is None:
            return
        self.msg_log.append(
            customer_id=rows,
            day=np.full(rows.size, day, dtype=np.int32),
            campaign=np.full(rows.size, c_idx, dtype=np.int16),
            channel=ch.astype(np.int8),
            outcome=np.full(rows.size, outcome, dtype=np.int8),
            unsubscribed=np.zeros(rows.size, dtype=bool),
            complained=np.zeros(rows.size, dtype=bool),
        )

    def after_deferral(self, c_idx: int, delivered: int, dropped: int) -> None:
        """Count messages deferred earlier that were delivered, or dropped, today."""
        self.late[c_idx] += (delivered, dropped)

    def charge(self, day: int, rows: np.ndarray, cost: np.ndarray) -> float:
        """Book the cost of delivered messages (the day's contact cost and each CLV; ``rows``
        unique); returns their total cost."""
        w = self.world
        total = float(cost.sum())
        w.log.add("contact_cost", total)
        if self.compiled:
            _charge_kernel(w.pop.pv_contribution, rows, cost, w.discount_factor(day))
        else:
            w.pop.pv_contribution[rows] -= cost * w.discount_factor(day)
        return total

    def tally(self, st: np.ndarray, ch: np.ndarray, cost: np.ndarray, r: Responses) -> np.ndarray:
        """Add a delivery to ``st`` (one campaign's counters); return its messages delivered,
        opened, clicked, unsubscribes, complaints and valued per channel (``channels × 6``).

        By :func:`_tally_kernel` when compiled, by ``bincount`` (the reference) otherwise; the
        cost per channel is summed message after message in both, then added to ``st``.
        """
        nch = len(CHANNELS)
        masks = (r.opened, r.clicked, r.unsubscribed, r.complained, r.valued)
        counts = np.zeros((nch, len(_TALLIED)), dtype=np.int64)
        if self.compiled:
            _tally_kernel(ch, *masks, cost, counts, np.zeros(nch), st, _TALLIED, _MI["cost"])
            return counts
        counts[:, 0] = np.bincount(ch, minlength=nch)
        for j, mask in enumerate(masks):
            counts[:, j + 1] = np.bincount(ch[mask], minlength=nch)
        st[:, _TALLIED] += counts
        st[:, _MI["cost"]] += np.bincount(ch, weights=cost, minlength=nch)
        return counts

    def deliveries(
        self,
        day: int,
        c_idx: int,
        rows: np.ndarray,
        ch: np.ndarray,
        cost: np.ndarray,
        r: Responses,
    ) -> None:
        """Count delivered messages and what they did."""
        counts = self.tally(self.stats[c_idx], ch, cost, r)
        log = self.world.log
        log.add("messages_delivered", float(rows.size))
        totals = counts[:, 1:5].sum(axis=0).tolist()
        for column, total in zip(_SERIES, totals, strict=True):
            log.add(column, float(total))
        for k_ch in np.flatnonzero(counts[:, 0]).tolist():
            log.add(f"delivered_{CHANNELS[k_ch]}", float(counts[k_ch, 0]))
        if self.msg_log is not None:
            outcome = np.where(r.clicked, 2, np.where(r.opened, 1, 0)).astype(np.int8)
            self.msg_log.append(
                customer_id=rows,
                day=np.full(rows.size, day, dtype=np.int32),
                campaign=np.full(rows.size, c_idx, dtype=np.int16),
                channel=ch.astype(np.int8),
                outcome=outcome,
                unsubscribed=r.unsubscribed,
                complained=r.complained,
            )

    # ------------------------------------------------------------------ results
    @staticmethod
    def _block(st: np.ndarray) -> dict[str, Any]:
        d: dict[str, Any] = {
            m: float(st[..., _MI[m]].sum()) if m == "cost" else int(st[..., _MI[m]].sum())
            for m in COUNTS
        }
        delivered = max(d["delivered"], 1)
        d["open_rate"] = d["opened"] / delivered
        d["click_rate"] = d["clicked"] / delivered
        d["unsubscribe_rate"] = d["unsubscribes"] / delivered
        d["complaint_rate"] = d["complaints"] / delivered
        return d

    def summary(self) -> dict[str, Any]:
        """Messages delivered / refused by reason / opened / clicked, in all, per channel and
        per campaign."""
        out = self._block(self.stats)
        refused = self.refused
        out["refused"] = {r: int(refused[..., k].sum()) for k, r in enumerate(REFUSAL_REASONS)}
        out["refused_total"] = int(refused.sum())
        if self.deferred.any() or self.late.any():
            out["deferred"] = {r: int(self.deferred[:, k].sum()) for k, r in enumerate(DEFERRABLE)}
            out["deferred_total"] = int(self.deferred.sum())
            out["delivered_after_deferral"] = int(self.late[:, 0].sum())
            out["dropped_after_deferral"] = int(self.late[:, 1].sum())
        out["by_channel"] = {}
        for k, ch in enumerate(CHANNELS):
            b = self._block(self.stats[:, k])
            b["refused"] = {r: int(refused[:, k, j].sum()) for j, r in enumerate(REFUSAL_REASONS)}
            out["by_channel"][ch] = b
        out["by_campaign"] = {}
        for i, c in enumerate(self.campaigns):
            b = self._block(self.stats[i])
            b["refused"] = {r: int(refused[i, :, j].sum()) for j, r in enumerate(REFUSAL_REASONS)}
            if c.on_refusal == "defer":
                b["deferred"] = {r: int(self.deferred[i, k]) for k, r in enumerate(DEFERRABLE)}
                b["delivered_after_deferral"], b["dropped_after_deferral"] = map(int, self.late[i])
            out["by_campaign"][c.name] = b
        return out

    def messages_frame(self) -> pd.DataFrame | None:
        """The message log (``customer_id, date, campaign, channel, outcome, unsubscribed,
        complained``), if recorded."""
        if self.msg_log is None:
            return None
        a = self.msg_log.arrays()
        start = pd.Timestamp(self.world.scenario.calendar.start)
        names = np.array([c.name for c in self.campaigns], dtype=object)
        chn = np.array(CHANNELS + ("none",), dtype=object)
        ch = a["channel"].astype(np.int64)
        frame = pd.DataFrame(
            {
                "customer_id": a["customer_id"].astype(np.int64),
                "date": start + pd.to_timedelta(a["day"].astype(np.int64), unit="D"),
                "campaign": names[a["campaign"].astype(np.int64)] if a["campaign"].size else [],
                "channel": chn[np.where(ch < 0, len(CHANNELS), ch)],
                "outcome": np.array(OUTCOMES, dtype=object)[a["outcome"].astype(np.int64)],
                "unsubscribed": a["unsubscribed"].astype(bool),
                "complained": a["complained"].astype(bool),
            }
        )
        return frame.sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)


@njit
def _tally_kernel(
    ch, opened, clicked, unsubscribed, complained, valued, cost, counts, spent, st, columns,
    cost_column,
):  # fmt: skip
    """Message by message, :meth:`Ledger.tally`'s counts per channel into ``counts`` and the
    cost into ``spent`` (added in the messages' order, as ``bincount`` adds its weights); then
    both added to ``st`` (``columns``: the counts' columns there)."""
    for i in range(ch.size):
        c = ch[i]
        counts[c, 0] += 1
        counts[c, 1] += opened[i]
        counts[c, 2] += clicked[i]
        counts[c, 3] += unsubscribed[i]
        counts[c, 4] += complained[i]
        counts[c, 5] += valued[i]
        spent[c] += cost[i]
    for c in range(counts.shape[0]):
        for j in range(columns.size):
            st[c, columns[j]] += np.float64(counts[c, j])
        st[c, cost_column] += spent[c]


@njit
def _refused_kernel(ch, mask, out):  # fmt: skip
    """Count the messages of ``mask`` per channel into ``out`` (its last cell: no channel,
    ``ch < 0``), as :meth:`Ledger.refuse`'s reference does; returns how many."""
    n = 0
    none = out.size - 1
    for i in range(ch.size):
        if mask[i]:
            c = ch[i]
            out[c if c >= 0 else none] += 1
            n += 1
    return n


@njit
def _charge_kernel(pv, rows, cost, factor):  # fmt: skip
    """``pv[rows] -= cost × factor`` (``rows`` unique), operation for operation."""
    for i in range(rows.size):
        pv[rows[i]] -= cost[i] * factor
