"""Scenario files: presets load; bad files give one message naming the file and the field."""

from __future__ import annotations

import pytest
import yaml

from retention_sim import InputError, load_scenario

from ..conftest import SCENARIOS

PRESETS = sorted(SCENARIOS.glob("*.yaml")) + sorted((SCENARIOS / "validation").glob("*.yaml"))


def test_the_five_presets_exist():
    names = {p.stem for p in SCENARIOS.glob("*.yaml")}
    assert {"default", "saas", "fashion_retail", "grocery", "premium_durables"} <= names


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_is_valid(path):
    sc = load_scenario(path)
    assert sc.population.initial_customers > 0


def _write(tmp_path, data, name="bad.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return p


def _default_data():
    return yaml.safe_load((SCENARIOS / "default.yaml").read_text())


def _error(path) -> str:
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert str(path) in msg
    return msg


def test_unknown_field_is_named(tmp_path):
    d = _default_data()
    d["population"]["segments"]["regular"]["purchse_rate"] = 3
    msg = _error(_write(tmp_path, d))
    assert "population.segments.regular.purchse_rate" in msg and "unknown field" in msg


def test_negative_rate_is_named(tmp_path):
    d = _default_data()
    d["population"]["arrivals_per_day"] = -1
    msg = _error(_write(tmp_path, d))
    assert "population.arrivals_per_day" in msg and "greater than or equal to 0" in msg


def test_shares_must_sum_to_one(tmp_path):
    d = _default_data()
    d["population"]["segments"]["regular"]["share"] = 0.5
    msg = _error(_write(tmp_path, d))
    assert "population.segments" in msg and "sum to 1" in msg


def test_missing_required_field(tmp_path):
    d = _default_data()
    del d["calendar"]["start"]
    msg = _error(_write(tmp_path, d))
    assert "calendar.start" in msg and "missing" in msg


def test_unknown_tier_in_stages(tmp_path):
    d = _default_data()
    d["stages"]["loyal_min_tier"] = "platinum"
    assert "platinum" in _error(_write(tmp_path, d))


def test_unknown_channel(tmp_path):
    d = _default_data()
    d["channels"]["fax"] = d["channels"]["email"]
    assert "channels.fax" in _error(_write(tmp_path, d))


def test_yaml_that_is_not_a_mapping(tmp_path):
    assert "mapping" in _error(_write(tmp_path, "- a\n- b\n"))


def test_empty_file(tmp_path):
    assert "empty" in _error(_write(tmp_path, ""))


def test_broken_yaml_names_the_line(tmp_path):
    assert "at line 3" in _error(_write(tmp_path, "name: x\ncalendar: [a, b\nfoo: 1\n"))


def test_not_utf8(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_bytes(b"name: \xff\xfe\n")
    assert "UTF-8" in _error(p)


def test_alias_bomb_is_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    assert "aliases" in _error(_write(tmp_path, "\n".join(lines) + "\n"))


def test_python_object_tags_are_not_constructed(tmp_path):
    p = _write(tmp_path, "name: !!python/object/apply:os.system ['echo hacked']\n")
    assert "not valid YAML" in _error(p)


def test_missing_file(tmp_path):
    assert "not found" in _error(tmp_path / "nope.yaml")


def test_overrides_revalidate(default_scenario):
    sc = default_scenario.with_overrides({"service.agents": 7})
    assert sc.service.agents == 7
    assert sc.content_hash() != default_scenario.content_hash()
    with pytest.raises(InputError, match="service.agents"):
        default_scenario.with_overrides({"service.agents": -1})
    with pytest.raises(InputError, match="no such scenario field"):
        default_scenario.with_overrides({"service.agnts": 1})
