"""`retention-sim robustness`: plausible worlds from --vary or the stated uncertainty."""

from __future__ import annotations

import pytest

from ..conftest import ROOT


def test_cli_robustness_writes_its_record(tmp_path, capsys):
    import json

    from retention_sim.cli.main import main as cli

    sc = ROOT / "params" / "scenarios" / "default.yaml"
    pol = ROOT / "params" / "policies"
    argv = ["robustness", str(sc), "-p", str(pol / "bau_default.yaml")]
    argv += ["-p", str(pol / "playbook_software.yaml"), "--draws", "3", "-r", "1"]
    argv += ["--customers", "200", "--days", "30", "--backend", "serial", "--no-progress"]
    argv += ["--vary", "responses.click_purchase_lift=0.5..1.5", "--out", str(tmp_path)]
    assert cli(argv) == 0
    rec = json.loads((tmp_path / "robustness.json").read_text())
    assert rec["uncertain"] == {"responses.click_purchase_lift": [0.5, 1.5]}
    assert rec["uncertainty_from"] == "--vary" and 0 <= rec["share_better"] <= 1
    assert "sampled worlds" in capsys.readouterr().out


@pytest.mark.parametrize("vary", ["nofield", "x=1..", "responses.click_purchase_lift=a..b"])
def test_cli_robustness_bad_vary_is_one_line_and_exit_2(vary, capsys):
    from retention_sim.cli.main import main as cli

    sc = ROOT / "params" / "scenarios" / "default.yaml"
    pol = ROOT / "params" / "policies"
    argv = ["robustness", str(sc), "-p", str(pol / "bau_default.yaml")]
    argv += ["-p", str(pol / "no_contact.yaml"), "--vary", vary, "--no-progress"]
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
