"""The command line: run writes its files; bad input gives one line and exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from retention_sim.cli.main import main

from ..conftest import SCENARIOS


def test_run_writes_summary_daily_and_transactions(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(SCENARIOS / "default.yaml"),
            "--customers",
            "500",
            "--days",
            "30",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "retention rate" in printed and "churn by cause" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["days"] == 30
    assert (out / "daily.csv").read_text().startswith("date,customers,")
    assert (out / "transactions.csv").read_text().startswith("customer_id,date,amount")


def test_check_accepts_presets(capsys):
    assert main(["check", str(SCENARIOS / "default.yaml"), str(SCENARIOS / "grocery.yaml")]) == 0
    assert capsys.readouterr().out.count("valid scenario") == 2


@pytest.mark.parametrize(
    "argv_tail",
    [["--customers", "-5"], ["--days", "0"], ["--seed", "x"]],
)
def test_bad_arguments_exit_2(argv_tail, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(SCENARIOS / "default.yaml"), *argv_tail])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_file_exits_2_with_one_line_and_keeps_existing_outputs(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncalendar: {start: 2026-01-01}\npopulation: {initial_customers: -3}\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    proc = subprocess.run(
        [sys.executable, "-m", "retention_sim", "run", str(bad), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr and "population" in proc.stderr
    assert (out / "summary.json").read_text() == "{}"


def test_check_validates_a_policy_against_a_scenario(tmp_path, capsys):
    pol = tmp_path / "p.yaml"
    pol.write_text(
        "name: p\ncampaigns:\n  - {name: a, type: thank_you, audience: {segments: [students]}}\n"
    )
    assert main(["check", str(pol)]) == 0  # valid on its own
    assert "valid policy" in capsys.readouterr().out
    code = main(["check", str(pol), "--scenario", str(SCENARIOS / "default.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and "students" in err and err.count("\n") == 1
    only_name = tmp_path / "n.yaml"
    only_name.write_text("name: bare\n")  # a policy with nothing but a name is a policy
    assert main(["check", str(only_name)]) == 0
    assert "valid policy" in capsys.readouterr().out
