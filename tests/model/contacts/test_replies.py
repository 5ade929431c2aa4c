"""Replies to messages load the service desk: more contact, longer waits for everyone."""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim import load_scenario, policy_from_dict, simulate
from retention_sim.config.policy import load_policy
from retention_sim.config.scenario import Scenario
from retention_sim.errors import InputError

from ...conftest import plain_scenario


def _weekly(content: str = "info", every: int = 7) -> object:
    return {
        "name": f"{content}_{every}",
        "campaigns": [
            {
                "name": "news",
                "type": "notification",
                "channel": "email",
                "content": content,
                "cadence": {"every_n_days": every},
            }
        ],
    }


def _plain_with_replies(rate: float, multiplier: dict | None = None):
    base = plain_scenario()
    data = base.model_dump(mode="json")
    data["channels"]["email"].update(reply_rate=rate, open_rate=0.5, consent_share=1.0)
    if multiplier is not None:
        data["responses"]["reply_content_multiplier"] = multiplier
    return Scenario.model_validate(data)


def test_replies_follow_the_channel_rate_and_the_content_multiplier():
    """Replies per *opened* message: ``reply_rate / open_rate`` (× the content's multiplier),
    to within four binomial standard errors. (Per delivered message the share is
    ``reply_rate`` at neutral fatigue and relevance; fatigue lowers opens, and replies with
    them.)"""
    for content, mult in [("info", 1.0), ("offer", 2.5)]:
        sc = _plain_with_replies(0.02, {"offer": 2.5})
        pol = policy_from_dict(_weekly(content), scenario=sc)
        r = simulate(sc, pol, seed=2, customers=2000, days=120)
        opened = r.summary["messages"]["opened"]
        replies = r.daily["message_replies"].sum()
        p = 0.02 * mult / 0.5
        se = np.sqrt(p * (1 - p) / opened)
        assert abs(replies / opened - p) < 4 * se, (content, replies, opened)
        # every reply reached the desk; those still queued when the run ends are not logged
        logged = r.summary["service"]["by_kind"]["reply"]["requests"]
        assert 0.9 * replies <= logged <= replies


def test_no_reply_rate_no_desk_requests():
    sc = _plain_with_replies(0.0)
    pol = policy_from_dict(_weekly(), scenario=sc)
    r = simulate(sc, pol, seed=2, customers=1000, days=60)
    assert r.summary["service"]["by_kind"]["reply"]["requests"] == 0


def test_a_reply_rate_above_the_open_rate_is_refused():
    data = plain_scenario().model_dump(mode="json")
    data["channels"]["email"].update(reply_rate=0.9, open_rate=0.2)
    with pytest.raises((InputError, ValueError), match="cannot exceed open_rate"):
        Scenario.model_validate(data)


@pytest.mark.slow
def test_over_contacting_lengthens_every_requests_wait():
    """One agent: under a daily blast, replies queue ahead of product issues, whose mean wait
    grows; with replies switched off the blast does not slow the desk for issues."""
    sc = load_scenario("default")
    data = sc.model_dump(mode="json")
    data["service"]["agents"] = 1
    waits = {}
    for rate in (0.0, 0.02):
        d = {**data, "channels": {k: dict(v) for k, v in data["channels"].items()}}
        for v in d["channels"].values():
            v["reply_rate"] = min(rate, v["open_rate"])
        s = Scenario.model_validate(d)
        for name in ("bau_default", "daily_blast"):
            pol = load_policy(name, scenario=s)
            per_seed = []
            for seed in (3, 4):
                kinds = simulate(s, pol, seed=seed, customers=3000, days=180).summary["service"]
                per_seed.append(kinds["by_kind"]["issue"]["mean_wait_hours"])
            waits[rate, name] = float(np.mean(per_seed))
    assert waits[0.02, "daily_blast"] > 3 * waits[0.02, "bau_default"]
    assert waits[0.02, "bau_default"] > 2 * waits[0.0, "bau_default"]
    assert waits[0.0, "daily_blast"] <= 1.5 * waits[0.0, "bau_default"]
