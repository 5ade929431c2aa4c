"""Policy files: presets are valid against their scenarios; bad policies get one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from retention_sim import InputError, load_scenario
from retention_sim.config.policy import load_policy

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"
SCENARIO_OF = {
    "bau_saas": "saas",
    "bau_fashion_retail": "fashion_retail",
    "bau_grocery": "grocery",
    "bau_premium_durables": "premium_durables",
}


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_policy_preset_is_valid_against_its_scenario(path: Path):
    sc = load_scenario(SCENARIOS / f"{SCENARIO_OF.get(path.stem, 'default')}.yaml")
    pol = load_policy(path, scenario=sc)
    assert pol.name == path.stem


def test_required_presets_exist():
    names = {p.stem for p in POLICIES.glob("*.yaml")}
    required = {
        "no_contact",
        "daily_blast",
        "bau_default",
        "playbook_software",
        "playbook_fashion",
        "playbook_loyalty_app",
    } | set(SCENARIO_OF)
    assert required <= names


def _bad(tmp_path, campaign: dict | None = None, **top) -> str:
    data = {"name": "x", "campaigns": [campaign] if campaign else [], **top}
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError) as exc:
        load_policy(p, scenario=load_scenario(SCENARIOS / "default.yaml"))
    msg = str(exc.value)
    assert "\n" not in msg and str(p) in msg
    return msg


def test_unknown_campaign_type(tmp_path):
    assert "campaigns[0].type" in _bad(tmp_path, {"name": "a", "type": "spam", "cadence": "weekly"})


def test_cadence_of_zero_days(tmp_path):
    msg = _bad(tmp_path, {"name": "a", "type": "notification", "cadence": {"every_n_days": 0}})
    assert "every_n_days" in msg


def test_notification_needs_a_cadence(tmp_path):
    assert "needs a cadence" in _bad(tmp_path, {"name": "a", "type": "notification"})


def test_unknown_channel(tmp_path):
    msg = _bad(tmp_path, {"name": "a", "type": "thank_you", "channel": "fax"})
    assert "campaigns[0].channel" in msg


def test_unknown_segment_against_the_scenario(tmp_path):
    msg = _bad(
        tmp_path,
        {"name": "a", "type": "thank_you", "audience": {"segments": ["students"]}},
    )
    assert "audience.segments" in msg and "students" in msg


def test_empty_offer_and_negative_holdout(tmp_path):
    assert "offer" in _bad(tmp_path, {"name": "a", "type": "win_back", "offer": {}})
    assert "holdout_share" in _bad(tmp_path, guardrails={"holdout_share": -0.1})


def test_duplicate_campaign_names(tmp_path):
    data = {"name": "x", "campaigns": [{"name": "a", "type": "thank_you"}] * 2}
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="repeated: a"):
        load_policy(p)


def test_overrides_reach_list_items():
    pol = load_policy(POLICIES / "bau_default.yaml")
    p3 = pol.with_overrides({"campaigns.0.cadence.every_n_days": 3})
    assert p3.campaigns[0].cadence.every_n_days == 3
    assert p3.content_hash() != pol.content_hash()
    with pytest.raises(InputError, match="no such policy field"):
        pol.with_overrides({"campaigns.99.cadence.every_n_days": 3})


def test_a_derived_policy_gets_a_name_of_its_own():
    """The README puts a policy and its variant in one study: the variant's name carries its
    overrides (or the name given), so the two never clash."""
    pol = load_policy(POLICIES / "bau_default.yaml")
    p3 = pol.with_overrides(
        {"campaigns.0.cadence.every_n_days": 3, "guardrails.holdout_share": 0.1}
    )
    assert p3.name == (
        "bau_default (campaigns.0.cadence.every_n_days=3, guardrails.holdout_share=0.1)"
    )
    assert pol.with_overrides({"campaigns.0.cadence.every_n_days": 3}, name="every3").name == (
        "every3"
    )
    assert pol.with_overrides({"name": "mine"}).name == "mine"
    assert pol.with_overrides({}).name == "bau_default"  # nothing changed, nothing renamed
    from retention_sim import compare, load_scenario

    study = compare(
        load_scenario("default"),
        [pol, p3],
        replications=2,
        customers=100,
        days=10,
        backend="serial",
        progress=False,
    )
    assert study.policies == ["bau_default", p3.name]


def test_unknown_fields_and_values_get_did_you_mean(tmp_path):
    pol = load_policy(POLICIES / "bau_default.yaml")
    with pytest.raises(InputError, match=r"did you mean 'every_n_days'"):
        pol.with_overrides({"campaigns.0.cadence.every_n_dys": 3})
    data = yaml.safe_load((POLICIES / "bau_default.yaml").read_text())
    data["campaigns"][0]["channel"] = "emial"
    data["campaigns"][0]["audiance"] = {}
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError) as exc:
        load_policy(p)
    msg = str(exc.value)
    # one plain sentence per problem: no pydantic union labels, no "and N more problems"
    assert "literal[" not in msg and "more problem" not in msg and "\n" not in msg
    assert "campaigns[0].channel: 'emial' is not allowed; must be 'email'" in msg
    assert "(did you mean 'email'?)" in msg
    assert "campaigns[0].audiance: unknown field (did you mean 'audience'" in msg
