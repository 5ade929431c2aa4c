"""Presets by name from any directory: notebooks, scripts and the command line alike."""

from __future__ import annotations

import shutil

import pytest

from retention_sim import InputError, load_policy, load_scenario
from retention_sim.config.presets import params_dir, preset_names, resolve_preset

from ..conftest import ROOT


@pytest.mark.parametrize("where", ["root", "notebooks", "elsewhere"])
def test_preset_names_resolve_from_any_directory(where, monkeypatch, tmp_path):
    monkeypatch.delenv("RETENTION_SIM_PARAMS", raising=False)
    monkeypatch.chdir({"root": ROOT, "notebooks": ROOT / "notebooks", "elsewhere": tmp_path}[where])
    assert load_scenario("default").name == "default"
    assert load_policy("playbook_software").name == "playbook_software"
    assert resolve_preset("validation/sbg_regular", "scenario").is_file()
    # a checkout-relative path written for another directory still finds the preset
    assert load_scenario("../params/scenarios/default.yaml").name == "default"
    assert params_dir() is not None and params_dir().resolve() == (ROOT / "params").resolve()


def test_a_path_that_exists_wins_and_the_environment_can_point_elsewhere(monkeypatch, tmp_path):
    mine = tmp_path / "params"
    shutil.copytree(ROOT / "params", mine)
    (mine / "policies" / "only_here.yaml").write_text(
        (ROOT / "params" / "policies" / "no_contact.yaml")
        .read_text()
        .replace("name: no_contact", "name: only_here")
    )
    monkeypatch.setenv("RETENTION_SIM_PARAMS", str(mine))
    assert "only_here" in preset_names("policy")
    assert resolve_preset("only_here", "policy") == mine / "policies" / "only_here.yaml"
    own = tmp_path / "default"  # a file literally named like a preset
    own.write_text("x")
    monkeypatch.chdir(tmp_path)
    assert resolve_preset("default", "scenario") == own.relative_to(tmp_path)


def test_an_unknown_name_lists_the_closest_presets():
    with pytest.raises(InputError, match=r"did you mean 'playbook_software'"):
        load_policy("playbook_sotware")
    with pytest.raises(InputError, match=r"scenario presets: default, fashion_retail"):
        load_scenario("nothing/like/it.yaml")
