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
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...config.scenario import Responses as ResponseParameters
from ...config.scenario import Scenario
from ...vocabulary import CHANNELS
from ..random_streams import counter_uniforms

__all__ = ["ChannelRates", "Responses", "draw_responses", "scale_odds"]


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
