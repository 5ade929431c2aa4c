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


def test_two_reports_on_one_out_each_keep_their_report_and_share_one_store(
    tmp_path, monkeypatch, capsys
):
    """The report's folders, with the rendering replaced by a stand-in that writes what it was
    asked for (the report itself is tested in tests/reporting): where each lands, and that
    every report's runs go to OUT/store."""
    import retention_sim.reporting.report as report

    seen = []

    def fake_render(scenario, policies, *, out, store, **kw):
        seen.append(store)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.ipynb").write_text(json.dumps({"policies": policies}))
        html = out / "report.html"
        html.write_text(" ".join(policies))
        return html

    monkeypatch.setattr(report, "render_report", fake_render)
    out = tmp_path / "rep"
    for pol in ("bau_default", "playbook_software"):
        argv = ["report", SC, "-p", "none", "-p", pol, "-r", "2", "--out", str(out)]
        assert main([*argv, "--no-progress"]) == 0
    assert (out / "report.html").read_text() == "none playbook_software"
    kept = sorted(f / "report.html" for f in (out / "studies").iterdir())
    assert sorted(p.read_text() for p in kept) == ["none bau_default", "none playbook_software"]
    assert all(f.parent.name.startswith("report-") for f in kept)
    assert seen == [out / "store", out / "store"]
    assert "the study it replaced at the top is kept in" in capsys.readouterr().out
