"""Where every number comes from: fitted, published or assumed, and shown as such."""

from __future__ import annotations

import pytest

from retention_sim import InputError, scenario_from_dict
from retention_sim.calibration.calibrate import calibrate
from retention_sim.config.provenance import KINDS, default_sources, parameter_sources

from ..conftest import ROOT


def _row(table, section, parameter):
    hit = table[(table["section"] == section) & (table["parameter"] == parameter)]
    assert len(hit) == 1, (section, parameter)
    return hit.iloc[0]


def test_published_defaults_name_their_source_and_changes_become_assumptions(default_scenario):
    t = parameter_sources(default_scenario)
    assert set(t["kind"]) <= set(KINDS) and (t["source"].str.len() > 0).all()
    r = _row(t, "channels", "email.open_rate")
    assert r["kind"] == "published" and "Mailchimp" in r["source"]
    changed = parameter_sources(default_scenario.with_overrides({"channels.email.open_rate": 0.3}))
    r = _row(changed, "channels", "email.open_rate")
    assert r["kind"] == "assumption" and "changed from the published 0.227" in r["source"]
    # a segment whose tolerance is not the published 8 is an assumption, one that is, is not
    assert _row(t, "population", "segments.regular.fatigue_tolerance.mean")["kind"] == "published"
    prem = _row(t, "population", "segments.premium.fatigue_tolerance.mean")
    assert prem["kind"] == "assumption"
    assert _row(t, "service", "agents")["kind"] == "assumption"
    # every entry of the package's table names a path the scenario has
    paths = {f"{s}.{p}" for s, p in zip(t["section"], t["parameter"], strict=True)}
    for pattern in default_sources():
        parts = pattern.split(".")
        assert (
            any(
                len(q.split(".")) == len(parts)
                and all(a in ("*", b) for a, b in zip(parts, q.split("."), strict=True))
                for q in paths
            )
            or "yearly_probability_beta" in pattern
        ), pattern


def test_a_calibrated_scenario_says_what_it_fitted_and_from_which_file():
    cal = calibrate(ROOT / "retention_sim" / "data" / "cdnow_sample.csv", until="1997-09-30")
    t = parameter_sources(cal.scenario)
    r = _row(t, "population", "segments.calibrated.purchase_rate_per_year.mean")
    assert r["kind"] == "fitted" and "cdnow_sample.csv up to 1997-09-30" in r["source"]
    # the total dropout is fitted; its split among causes is the seed study's, an assumption
    split = _row(t, "churn", "causes.indifference.annual_probability")
    assert split["kind"] == "assumption" and "fitted dropout × an assumed share" in split["source"]
    assert _row(t, "churn", "dropout_split.indifference")["kind"] == "assumption"
    assert (t["kind"] == "fitted").sum() >= 10
    one = calibrate(
        ROOT / "retention_sim" / "data" / "cdnow_sample.csv", until="1997-09-30", split="lifestyle"
    )
    t = parameter_sources(one.scenario)
    assert _row(t, "churn", "causes.lifestyle.annual_probability")["kind"] == "fitted"
    off = _row(t, "churn", "causes.indifference.annual_probability")
    assert off["kind"] == "assumption" and "cannot tell churn causes apart" in off["source"]


def test_provenance_never_changes_a_scenarios_hash(default_scenario):
    data = default_scenario.model_dump(mode="json")
    data["provenance"] = {"service.agents": {"kind": "fitted", "source": "rota 2026"}}
    noted = scenario_from_dict(data)
    assert noted.content_hash() == default_scenario.content_hash()
    assert _row(parameter_sources(noted), "service", "agents")["source"] == "rota 2026"


def test_a_late_field_at_its_neutral_value_keeps_the_hash(default_scenario):
    """churn.hazard_scale = 1 is the scenario as it was before the field existed: same hash,
    so existing result stores stay valid; any other value is another scenario."""
    from retention_sim.config.base import LATE_NEUTRAL_FIELDS

    assert {"hazard_scale": 1.0, "reply_rate": 0.0, "on_refusal": "drop"}.items() <= (
        LATE_NEUTRAL_FIELDS.items()
    )
    same = default_scenario.with_overrides({"churn.hazard_scale": 1.0})
    other = default_scenario.with_overrides({"churn.hazard_scale": 1.1})
    assert same.content_hash() == default_scenario.content_hash() != other.content_hash()
    silent = default_scenario.with_overrides({"channels.push.reply_rate": 0.0})
    replies = default_scenario.with_overrides({"channels.push.reply_rate": 0.01})
    assert silent.content_hash() == default_scenario.content_hash() != replies.content_hash()


def test_an_interval_must_be_ordered(default_scenario):
    data = default_scenario.model_dump(mode="json")
    data["provenance"] = {"service.agents": {"kind": "fitted", "source": "x", "interval": [5, 2]}}
    with pytest.raises(InputError, match="low <= high"):
        scenario_from_dict(data)
