"""Two studies on one --out both keep their results; the top level holds the latest."""

from __future__ import annotations

import json

from retention_sim.cli.main import main

from ..conftest import SCENARIOS

SIZE = ["--customers", "200", "--days", "30", "-r", "2", "--no-progress"]
SC = str(SCENARIOS / "default.yaml")


def _compare(out, *policies):
    args = ["compare", SC, *[a for p in policies for a in ("-p", p)], *SIZE, "--out", str(out)]
    assert main(args) == 0


def _policies(path):
    return set(json.loads(path.read_text())["policies"])


def test_two_studies_on_one_out_each_keep_their_results(tmp_path, capsys):
    out = tmp_path / "out"
    _compare(out, "none", "bau_default")
    first = (out / "comparison.json").read_text()
    _compare(out, "none", "playbook_software")
    printed = capsys.readouterr().out
    assert _policies(out / "comparison.json") == {"no_contact", "playbook_software"}

    folders = sorted((out / "studies").iterdir())
    assert len(folders) == 2
    kept = {f.name: _policies(f / "comparison.json") for f in folders}
    assert sorted(map(sorted, kept.values())) == [
        ["bau_default", "no_contact"],
        ["no_contact", "playbook_software"],
    ]
    old = next(f for f in folders if "bau_default" in kept[f.name])
    assert (old / "comparison.json").read_text() == first  # untouched, byte for byte
    assert f"the study it replaced at the top is kept in {old}" in printed
    latest = json.loads((out / "study.json").read_text())
    assert (out / "studies" / latest["study"] / "comparison.json").read_text() == (
        out / "comparison.json"
    ).read_text()


def test_the_same_study_again_replaces_only_its_own_folder(tmp_path):
    out = tmp_path / "out"
    _compare(out, "none", "bau_default")
    _compare(out, "none", "bau_default")
    assert len(list((out / "studies").iterdir())) == 1


def test_an_edited_policy_file_is_another_study(tmp_path):
    out = tmp_path / "out"
    pol = tmp_path / "p.yaml"
    pol.write_text((SCENARIOS.parent / "policies" / "bau_default.yaml").read_text())
    _compare(out, "none", str(pol))
    pol.write_text(pol.read_text().replace("name: bau_default", "name: bau_edited"))
    _compare(out, "none", str(pol))
    assert len(list((out / "studies").iterdir())) == 2


def test_a_sweep_and_a_compare_on_one_out_keep_both_runs_tables(tmp_path):
    out = tmp_path / "out"
    grid = "policy:campaigns.0.cadence.every_n_days=7,30"
    sweep = ["sweep", SC, "-p", "bau_default", "--grid", grid, *SIZE, "--out", str(out)]
    assert main(sweep) == 0
    sweep_runs = (out / "runs.csv").read_text()
    _compare(out, "none", "bau_default")
    assert (out / "runs.csv").read_text() != sweep_runs
    kept = [f for f in (out / "studies").iterdir() if f.name.startswith("sweep-")]
    assert len(kept) == 1 and (kept[0] / "runs.csv").read_text() == sweep_runs


def test_files_of_an_older_version_are_kept_before_they_are_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "comparison.json").write_text('{"policies": {"old": {}}}\n')
    _compare(out, "none", "bau_default")
    earlier = [f for f in (out / "studies").iterdir() if f.name.startswith("earlier-")]
    assert len(earlier) == 1
    assert _policies(earlier[0] / "comparison.json") == {"old"}
