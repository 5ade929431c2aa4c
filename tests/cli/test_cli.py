"""The command line: run writes its files; bad input gives one line and exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from retention_sim.cli.main import main

from ..conftest import ROOT, SCENARIOS


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


POLICY = str(SCENARIOS.parent / "policies" / "bau_default.yaml")
STUDY_COMMANDS = {
    "compare": ["compare", str(SCENARIOS / "default.yaml"), "-p", POLICY],
    "sweep": ["sweep", str(SCENARIOS / "default.yaml"), "-p", POLICY, "--grid", "x=1"],
    "report": ["report", str(SCENARIOS / "default.yaml"), "-p", POLICY, "--out", "unused"],
}


@pytest.mark.parametrize("command", sorted(STUDY_COMMANDS))
@pytest.mark.parametrize(
    "option", [["--customers", "0"], ["--days", "0"], ["--seed", "-1"], ["-r", "x"]]
)
def test_study_commands_refuse_the_same_bad_sizes(command, option, capsys):
    """compare, sweep and report share one definition of their size options."""
    with pytest.raises(SystemExit) as exc:
        main([*STUDY_COMMANDS[command], *option])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]


def test_report_takes_guardrails_and_refuses_unknown_ones_before_any_work(capsys, tmp_path):
    code = main([*STUDY_COMMANDS["report"][:-1], str(tmp_path / "r"), "--guardrail", "proft=1"])
    assert code == 2
    assert "unknown guardrail metric 'proft'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before the notebook ran or a folder was made


def test_every_command_is_registered_once_and_documented():
    from retention_sim.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = list(sub.choices)
    assert names == [
        "run",
        "check",
        "compare",
        "sweep",
        "select",
        "optimise",
        "pilot",
        "robustness",
        "calibrate",
        "forecast",
        "calibrate-response",
        "replay",
        "report",
        "store",
        "bench",
    ]
    for name, p in sub.choices.items():
        helps = [a.help for a in p._actions if a.dest != "help"]
        assert all(helps), (name, [a.dest for a in p._actions if not a.help])


def test_python_dash_m_runs_the_command_line():
    out = subprocess.run(
        [sys.executable, "-m", "retention_sim", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "compare" in out.stdout


def test_version_and_help_show_every_default_in_plain_text(capsys):
    import argparse

    from retention_sim import __version__
    from retention_sim.cli.main import build_parser

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"retention-sim {__version__}"
    parser = build_parser()
    assert "``" not in parser.format_help()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert "``" not in p.format_help(), name
        fmt = p._get_formatter()
        for a in p._actions:
            if not a.option_strings or a.nargs == 0 or a.required or a.dest == "help":
                continue
            if a.default is argparse.SUPPRESS:
                continue
            assert "default" in fmt._expand_help(a).lower(), (name, a.option_strings)


def test_an_unwritable_output_is_refused_before_the_simulation(capsys, tmp_path):
    code = main(["run", str(SCENARIOS / "default.yaml"), "--out", "/proc/forbidden/x"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""  # nothing simulated, nothing printed
    assert err.strip().splitlines() == [
        "retention-sim: error: /proc/forbidden/x: cannot write outputs here: "
        "No such file or directory"
    ]
    afile = tmp_path / "a_file"
    afile.write_text("keep me")
    assert main(["compare", "default", "-p", "bau_default", "--out", str(afile)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert afile.read_text() == "keep me"
    assert (
        main(["calibrate", str(ROOT / "retention_sim/data/cdnow_sample.csv"), "-o", str(tmp_path)])
        == 2
    )
    assert "is a folder; give a file name" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]  # no probe left behind


def test_report_refuses_an_unknown_objective_before_the_kernel_starts(capsys, tmp_path):
    out = tmp_path / "r"
    code = main(
        ["report", "default", "-p", "bau_default", "--objective", "proft", "--out", str(out)]
    )
    assert code == 2
    assert "unknown metric 'proft' (did you mean 'profit'?)" in capsys.readouterr().err
    assert not out.exists()
    code = main(
        ["report", "default", "-p", "bau_default", "--robustness-draws", "2", "--out", str(out)]
    )
    assert code == 2 and "at least 3" in capsys.readouterr().err and not out.exists()


def test_a_preset_name_works_wherever_a_file_does(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "compare",
            "default",
            "-p",
            "bau_default",
            "-p",
            "playbook_software",
            "-r",
            "2",
            "--customers",
            "100",
            "--days",
            "10",
            "--backend",
            "serial",
            "--no-progress",
        ]
    )
    assert code == 0 and "playbook_software" in capsys.readouterr().out
    assert main(["compare", "default", "-p", "playbook_sotware", "--no-progress"]) == 2
    assert "did you mean 'playbook_software'" in capsys.readouterr().err


def test_a_resumed_compare_says_what_it_reused(capsys, tmp_path):
    argv = [
        "compare",
        "default",
        "-p",
        "bau_default",
        "-p",
        "none",
        "-r",
        "2",
        "--customers",
        "100",
        "--days",
        "10",
        "--backend",
        "serial",
        "--no-progress",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    assert "result store: 0 finished runs reused, 4 computed" in capsys.readouterr().out
    assert main(argv) == 0
    assert "result store: 4 finished runs reused, 0 computed" in capsys.readouterr().out


def test_a_mistyped_command_or_choice_gets_did_you_mean(capsys):
    for argv, meant in (
        (["compre"], "'compare'"),
        (["sweep", "default", "--backend", "seral"], "'serial'"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert exc.value.code == 2 and len(err) == 1 and f"(did you mean {meant}?)" in err[0]


def test_an_error_without_a_file_has_no_stray_separator():
    """A Dask scheduler that cannot be reached raises an OSError with no file name: the line
    is the problem alone, not ``error: : Timed out ...``."""
    from retention_sim.cli.main import os_error_line

    timeout = TimeoutError("Timed out trying to connect to tcp://10.255.255.1:8786 after 30 s")
    assert os_error_line(timeout) == (
        "Timed out trying to connect to tcp://10.255.255.1:8786 after 30 s"
    )
    missing = FileNotFoundError(2, "No such file or directory", "/nowhere/x.csv")
    assert os_error_line(missing) == "/nowhere/x.csv: No such file or directory"


def test_calibrate_refuses_a_typo_date_or_amount_in_one_line_naming_the_override(
    tmp_path, capsys, monkeypatch
):
    """Refused while the log is read (nothing fitted, nothing written); each override lets its
    own kind of value through and no other."""
    import pandas as pd

    import retention_sim.calibration.calibrate as calibrate_module

    frame = pd.read_csv(ROOT / "retention_sim/data/cdnow_sample.csv", dtype=str)
    frame.loc[10, "date"] = "2100-01-01"  # line 12
    frame.loc[20, "amount"] = "1e300"  # line 22
    log, out = tmp_path / "log.csv", tmp_path / "s.yaml"
    frame.to_csv(log, index=False)
    fitted = []

    def fake_calibrate(transactions, **kwargs):  # the fit itself is tested elsewhere
        fitted.append(transactions)
        raise SystemExit(0)

    monkeypatch.setattr(calibrate_module, "calibrate", fake_calibrate)
    for flags, option, line in (
        ([], "--allow-far-dates", "line 12"),
        (["--allow-far-dates"], "--allow-large-amounts", "line 22"),
        (["--allow-large-amounts"], "--allow-far-dates", "line 12"),
    ):
        assert main(["calibrate", str(log), *flags, "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"retention-sim: error: {log}: column "), err
        assert option in err[0] and line in err[0]
    assert not fitted and not out.exists()
    with pytest.raises(SystemExit):
        main(["calibrate", str(log), "--allow-far-dates", "--allow-large-amounts", "-o", str(out)])
    assert fitted[0].last_date == pd.Timestamp("2100-01-01")
    assert fitted[0].transactions["amount"].max() >= 1e300
