"""Audiences: declarative filters on stage, segment, tier, RFM segment, recency, consent,
membership and value or spend decile (never evaluated code). A customer must pass every filter
that is given."""

from __future__ import annotations

import numpy as np

from ...config.policy import Audience
from ...vocabulary import CHANNEL_INDEX, STAGES
from ..population import Population
from ..rfm import SEGMENT_CODES, RfmSegments
from .frequency import FREQUENCY_CLASSES, FrequencyClasses

__all__ = ["audience_mask"]


def _among(values: np.ndarray, codes: list[int]) -> np.ndarray:
    """``np.isin(values, codes)`` for a few small integer codes, one comparison each (``isin``
    sorts or hashes: several times slower, on a full column as on a few rows)."""
    m = np.zeros(values.shape, dtype=bool)
    for code in codes:
        m |= values == code
    return m


def audience_mask(
    pop: Population,
    a: Audience,
    rows: np.ndarray | slice,
    day: int,
    *,
    rfm: RfmSegments,
    members: np.ndarray,
    frequency: FrequencyClasses | None = None,
) -> np.ndarray:
    """Which of ``rows`` (or, with ``slice(None)``, of all rows) pass the audience ``a``.

    Parameters
    ----------
    pop
        The population.
    a
        The audience.
    rows
        Candidate rows, or ``slice(None)`` for every row.
    day
        Today (for days since the last purchase).
    rfm
        The current RFM segments.
    members
        Membership of the policy's paid programme, per row.
    frequency
        The frequency classes (when an audience of the policy uses them).
    """
    size = pop.capacity if isinstance(rows, slice) else rows.size
    m = np.ones(size, dtype=bool)
    if a.stages is not None:
        codes = [STAGES.index(s) for s in a.stages]
        m &= _among(pop.stage[rows], codes)
    if a.segments is not None:
        codes = [pop.segment_names.index(s) for s in a.segments]
        m &= _among(pop.segment[rows], codes)
    if a.tiers is not None:
        codes = [pop.tier_names.index(t) for t in a.tiers]
        m &= _among(pop.tier[rows], codes) & pop.enrolled[rows]  # non-members hold no tier
    if a.rfm is not None:
        codes = [SEGMENT_CODES[s] for s in a.rfm if s != "vip"]
        mm = _among(rfm.segment[rows], codes)
        if "vip" in a.rfm:
            mm |= rfm.vip[rows]
        m &= mm
    if a.days_since_purchase is not None:
        rec = day - pop.last_purchase_day[rows]
        if a.days_since_purchase.min is not None:
            m &= rec >= a.days_since_purchase.min
        if a.days_since_purchase.max is not None:
            m &= rec <= a.days_since_purchase.max
    if a.consent is not None:
        for ch in a.consent:
            m &= pop.consent[rows, CHANNEL_INDEX[ch]] & ~pop.unsubscribed[rows, CHANNEL_INDEX[ch]]
    if a.members_only:
        m &= members[rows]
    if a.frequency_class is not None and frequency is not None:
        codes = [FREQUENCY_CLASSES.index(c) for c in a.frequency_class]
        m &= _among(frequency.classes(rows), codes)
    for rng, dec in ((a.value_decile, rfm.value_decile), (a.spend_decile, rfm.spend_decile)):
        if rng is not None:
            d = dec[rows]
            m &= d >= (1 if rng.min is None else rng.min)
            if rng.max is not None:
                m &= d <= rng.max
    return m
