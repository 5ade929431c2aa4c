"""The loyalty section's optional mechanics: unset they leave every hash as it was; set they are
validated like every other field."""

from __future__ import annotations

import pytest

from retention_sim import InputError, load_scenario
from retention_sim.config.base import LATE_OPTIONAL_FIELDS

from ..conftest import SCENARIOS

BLOCKS = {
    "enrolment": {"initial_share": 0.4},
    "spend_gift": {"spend_threshold": 2_000_000, "value": 100_000},
    "special_days": {"birthday_month_multiplier": 2.0},
    "tenure_perk": {"after_days": 1095},
}

#: The presets' hashes before the optional mechanics existed (commit 3088e29). A preset that
#: switches one on (fashion_retail) has a new hash, by design.
HASHES_BEFORE = {
    "default": "4c69ae7b8e6dfc71",
    "grocery": "e9cb085d919f5b46",
    "premium_durables": "d25c33963f62948c",
    "saas": "c44d0a6040501ddc",
}


@pytest.mark.parametrize("name", sorted(HASHES_BEFORE))
def test_presets_without_the_new_mechanics_keep_their_hash(name):
    sc = load_scenario(SCENARIOS / f"{name}.yaml")
    assert sc.content_hash() == HASHES_BEFORE[name]
    assert all(getattr(sc.loyalty, b) is None for b in BLOCKS)


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_each_block_is_hash_neutral_unset_and_changes_the_hash_set(default_scenario, block):
    assert block in LATE_OPTIONAL_FIELDS
    unset = default_scenario.with_overrides({f"loyalty.{block}": None})
    assert unset.content_hash() == default_scenario.content_hash()
    data = dict(BLOCKS[block])
    on = default_scenario.with_overrides({f"loyalty.{block}": data})
    assert on.content_hash() != default_scenario.content_hash()
    # a field of the set block can be overridden by its dotted path, as any other
    key, value = next(iter(data.items()))
    again = on.with_overrides({f"loyalty.{block}.{key}": value})
    assert again.content_hash() == on.content_hash()


def test_sale_events_must_name_calendar_events(default_scenario):
    ok = default_scenario.with_overrides(
        {"loyalty.special_days": {"sale_multiplier": 2, "sale_events": ["Black Friday"]}}
    )
    assert ok.loyalty.special_days.sale_events == ["Black Friday"]
    with pytest.raises(InputError, match=r"sale_events names no calendar event: \['Black Fri'\]"):
        default_scenario.with_overrides({"loyalty.special_days": {"sale_events": ["Black Fri"]}})


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        ("loyalty.enrolment", {"complexity": 1.5}, "less than or equal to 1"),
        ("loyalty.enrolment", {"initial_shar": 0.5}, "unknown field"),
        ("loyalty.spend_gift", {"value": 10}, "spend_threshold"),
        ("loyalty.spend_gift", {"spend_threshold": 0, "value": 10}, "greater than 0"),
        ("loyalty.special_days", {"birthday_month_multiplier": 0.5}, "greater than or equal"),
        ("loyalty.tenure_perk", {"churn_cause": "death"}, "churn_cause"),
        ("loyalty.tenure_perk", {"after_days": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_values_are_named(default_scenario, path, value, match):
    with pytest.raises(InputError, match=match):
        default_scenario.with_overrides({path: value})
