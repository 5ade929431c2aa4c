"""How a customer responds to a delivered message: open, click, unsubscribe, complain.

With ``r`` the customer's total fatigue over their tolerance *before* the message and
``relevance`` the campaign's (times ``birthday_relevance`` for birthday messages)::

    P(open)            = odds-scaled(open_rate × exp(−fatigue_open_sensitivity × r), relevance)
    P(click | open)    = odds-scaled(min(1, click_rate / open_rate), relevance)
    P(unsubscribe)     = min(1, unsubscribe_rate × (1 + fatigue_unsubscribe_sensitivity × r²))
    P(complaint)       = min(1, complaint_rate × (1 + fatigue_unsubscribe_sensitivity × r²))
    P(reply | open)    = min(1, reply_rate × reply_content_multiplier[content] / open_rate)

"Odds-scaled" multiplies the odds (≈ the probability for small ones, never above 1). A message
is *valued* when opened (an ``info`` message only when clicked, if ``info_valued_on: click``).
The draws are counter-based on (seed, customer, day, channel, message of the day), so two
policies that send the same customer the same message see the same luck.

:func:`deliver_responses` is what the contact engine calls for one send: the fatigue ratio
before the messages, the fatigue they add and their responses, by the NumPy reference
(:meth:`~retention_sim.model.fatigue.Fatigue.ratio`, :meth:`~retention_sim.model.fatigue.Fatigue.add`
and :func:`draw_responses`) or by the compiled kernel (:func:`_deliver_kernel`, one loop over
the messages) when kernels are on (:mod:`~retention_sim.model.kernels`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...config.scenario import Responses as ResponseParameters
from ...config.scenario import Scenario
from ...vocabulary import CHANNELS
from ..fatigue import Fatigue
from ..kernels import njit
from ..random_streams import counter_draw, counter_key, counter_start, counter_uniforms, stream_keys

__all__ = ["ChannelRates", "Responses", "deliver_responses", "draw_responses", "scale_odds"]

#: The response streams, in the kernel's order.
_STREAMS = stream_keys(("open", "click", "unsubscribe", "complaint", "reply"))


def scale_odds(p: np.ndarray, factor: float) -> np.ndarray:
    """Multiply the odds of ``p`` by ``factor``: ≈ ``factor × p`` for small ``p``, never > 1."""
    return factor * p / (1.0 - p + factor * p)


class ChannelRates:
    """Per-channel cost and base response rates of a scenario (0 for channels it lacks)."""

    def __init__(self, scenario: Scenario) -> None:
        chans = [scenario.channels.get(c) for c in CHANNELS]
        self.cost = np.array([c.cost_per_message if c else 0.0 for c in chans])
        self.open_rate = np.array([c.open_rate if c else 0.0 for c in chans])
        self.click_rate = np.array([c.click_rate if c else 0.0 for c in chans])
        self.unsub_rate = np.array([c.unsubscribe_rate if c else 0.0 for c in chans])
        self.complaint_rate = np.array([c.complaint_rate if c else 0.0 for c in chans])
        self.reply_rate = np.array([c.reply_rate if c else 0.0 for c in chans])
        self.replies = bool(self.reply_rate.any())
        multiplier = scenario.responses.reply_content_multiplier or {}
        self.reply_content: dict[str, float] = {str(k): v for k, v in multiplier.items()}


class Responses(NamedTuple):
    """What each of a send's delivered messages did (boolean masks over its rows)."""

    opened: np.ndarray
    clicked: np.ndarray
    unsubscribed: np.ndarray
    complained: np.ndarray
    valued: np.ndarray
    replied: np.ndarray


def draw_responses(
    seed: int,
    rates: ChannelRates,
    params: ResponseParameters,
    *,
    rows: np.ndarray,
    day: int,
    channels: np.ndarray,
    nth: np.ndarray,
    fatigue_ratio: np.ndarray,
    relevance: float,
    content: str,
) -> Responses:
    """Draw the responses to one send's delivered messages (see the module docstring).

    Parameters
    ----------
    seed
        The replication's seed.
    rates
        The scenario's channel rates.
    params
        The scenario's response parameters.
    rows, day, channels, nth
        Who, when, on which channel, and how many messages on that channel the customer had
        already today (the keys of the counter-based draws).
    fatigue_ratio
        Total fatigue over tolerance before the message.
    relevance
        The campaign's relevance (odds multiplier of opening and clicking).
    content
        ``info``, ``offer``, ``reward`` or ``service``.
    """
    ch = channels
    u_open, u_click, u_unsub, u_comp = counter_uniforms(
        seed, ("open", "click", "unsubscribe", "complaint"), rows, day, ch, nth
    )
    p_open = scale_odds(
        rates.open_rate[ch] * np.exp(-params.fatigue_open_sensitivity * fatigue_ratio), relevance
    )
    opened = u_open < p_open
    click_given_open = np.divide(
        rates.click_rate[ch],
        rates.open_rate[ch],
        out=np.zeros(rows.size),
        where=rates.open_rate[ch] > 0,
    )
    p_click = scale_odds(np.minimum(click_given_open, 1.0), relevance)
    clicked = opened & (u_click < p_click)
    amp = 1.0 + params.fatigue_unsubscribe_sensitivity * fatigue_ratio**2
    unsub = u_unsub < np.clip(rates.unsub_rate[ch] * amp, 0.0, 1.0)
    complaint = u_comp < np.clip(rates.complaint_rate[ch] * amp, 0.0, 1.0)
    valued = clicked if (content == "info" and params.info_valued_on == "click") else opened
    replied = np.zeros(rows.size, dtype=bool)
    if rates.replies:  # drawn only when a channel takes replies: no cost, no change otherwise
        (u_reply,) = counter_uniforms(seed, ("reply",), rows, day, ch, nth)
        rate = rates.reply_rate[ch] * rates.reply_content.get(content, 1.0)
        given_open = np.divide(
            rate, rates.open_rate[ch], out=np.zeros(rows.size), where=rates.open_rate[ch] > 0
        )
        replied = opened & (u_reply < np.minimum(given_open, 1.0))
    return Responses(opened, clicked, unsub, complaint, valued, replied)


def deliver_responses(
    fatigue: Fatigue,
    seed: int,
    rates: ChannelRates,
    params: ResponseParameters,
    *,
    rows: np.ndarray,
    day: int,
    channels: np.ndarray,
    nth: np.ndarray,
    relevance: float,
    content: str,
    compiled: bool,
) -> Responses:
    """One send's delivered messages: the fatigue ratio before them, the fatigue they add
    (``rows`` unique) and their responses (:func:`draw_responses`, whose arguments these are).

    ``compiled``: by :func:`_deliver_kernel`; otherwise by the NumPy reference. The two agree
    bit for bit: the kernel receives the fatigue ratios (:func:`_ratio_kernel`, from the
    stocks before the send: its rows are unique, so before each message is before them all)
    and their ``exp`` computed by NumPy, whose SIMD ``exp`` differs from the C library's in the
    last bit of about one value in twenty.
    """
    if not compiled:
        ratio = fatigue.ratio(rows)
        fatigue.add(rows, channels)
        return draw_responses(
            seed, rates, params, rows=rows, day=day, channels=channels, nth=nth,
            fatigue_ratio=ratio, relevance=relevance, content=content,
        )  # fmt: skip
    pop = fatigue.world.pop
    out = np.empty((5, rows.size), dtype=bool)
    ratio = np.empty(rows.size)
    _ratio_kernel(rows, pop.fatigue, pop.fatigue_tolerance, ratio)
    tired = np.exp(-params.fatigue_open_sensitivity * ratio)  # NumPy's exp, as the reference
    _deliver_kernel(
        np.uint64(seed), rows, channels, nth, int(day), ratio, tired,
        pop.fatigue, fatigue.weight,
        rates.open_rate, rates.click_rate, rates.unsub_rate, rates.complaint_rate,
        rates.reply_rate, float(rates.reply_content.get(content, 1.0)), rates.replies, _STREAMS,
        float(params.fatigue_unsubscribe_sensitivity),
        float(relevance), out,
    )  # fmt: skip
    opened, clicked, unsub, complaint, replied = out
    valued = clicked if (content == "info" and params.info_valued_on == "click") else opened
    return Responses(opened, clicked, unsub, complaint, valued, replied)


@njit
def _ratio_kernel(rows, stock, tolerance, out):
    """:meth:`Fatigue.ratio` of ``rows`` into ``out``: the float32 channel stocks summed into a
    float64 in channel order, over the tolerance at least 1e-9 (float32)."""
    floor = np.float32(1e-9)
    for i in range(rows.size):
        r = rows[i]
        total = np.float64(stock[r, 0])
        for k in range(1, stock.shape[1]):
            total += np.float64(stock[r, k])
        out[i] = total / np.float64(max(tolerance[r], floor))


@njit
def _deliver_kernel(
    seed, rows, channels, nth, day, ratios, tired, stock, weight,
    open_rate, click_rate, unsub_rate, complaint_rate, reply_rate, reply_multiplier, replies,
    streams, unsub_sensitivity, relevance, out,
):  # fmt: skip
    """Message by message: :meth:`Fatigue.add` (float32), then :func:`draw_responses`' draws,
    operation for operation, into ``out`` (opened, clicked, unsubscribed, complained, replied;
    ``streams``: the keys of :data:`_STREAMS`), with each message's fatigue ratio before the
    send in ``ratios`` and ``exp(−fatigue_open_sensitivity × ratio)`` in ``tired``."""
    n_ch = open_rate.size
    p_click = np.empty(n_ch)  # what depends on the channel only, as the reference computes it
    p_reply = np.empty(n_ch)
    for k in range(n_ch):
        o = open_rate[k]
        q = min(click_rate[k] / o if o > 0 else 0.0, 1.0)
        p_click[k] = relevance * q / (1.0 - q + relevance * q)
        p_reply[k] = min(reply_rate[k] * reply_multiplier / o if o > 0 else 0.0, 1.0)
    h0 = counter_start(seed)
    for i in range(rows.size):
        r = rows[i]
        c = channels[i]
        ratio = ratios[i]
        stock[r, c] += weight[c]
        h = counter_key(counter_key(counter_key(counter_key(h0, r), day), c), nth[i])
        p = open_rate[c] * tired[i]
        p_open = relevance * p / (1.0 - p + relevance * p)
        opened = counter_draw(h, streams[0]) < p_open
        out[0, i] = opened
        out[1, i] = opened and counter_draw(h, streams[1]) < p_click[c]
        amp = 1.0 + unsub_sensitivity * (ratio * ratio)
        out[2, i] = counter_draw(h, streams[2]) < min(max(unsub_rate[c] * amp, 0.0), 1.0)
        out[3, i] = counter_draw(h, streams[3]) < min(max(complaint_rate[c] * amp, 0.0), 1.0)
        out[4, i] = replies and opened and counter_draw(h, streams[4]) < p_reply[c]
