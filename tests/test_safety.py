"""Safety and hygiene: no eval/exec, safe YAML, outputs only where asked, clipped probabilities
warn, results independent of the working directory."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

from retention_sim import simulate
from retention_sim.config.policy import policy_from_dict
from retention_sim.errors import ProbabilityClipWarning

from .conftest import ROOT


def test_no_eval_or_exec_anywhere_in_the_package():
    for path in (ROOT / "retention_sim").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile"}, f"{path}:{node.lineno}"
        assert "yaml.load(" not in path.read_text().replace(
            "yaml.load(text, Loader=_SafeLoader)", ""
        )


def test_run_writes_only_under_the_output_folder(tmp_path):
    work = tmp_path / "cwd"
    work.mkdir()
    out = tmp_path / "out" / "run"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "retention_sim",
            "run",
            str(ROOT / "params" / "scenarios" / "default.yaml"),
            "--policy",
            str(ROOT / "params" / "policies" / "bau_default.yaml"),
            "--customers",
            "200",
            "--days",
            "20",
            "--out",
            str(out),
            "--record-messages",
        ],
        cwd=work,
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "daily.csv",
        "messages.csv",
        "summary.json",
        "transactions.csv",
    ]
    assert list(work.iterdir()) == []  # nothing written in the working directory
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_results_do_not_depend_on_the_working_directory(tmp_path):
    def run(cwd, scenario, out):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "retention_sim",
                "run",
                scenario,
                "--customers",
                "300",
                "--days",
                "30",
                "--seed",
                "4",
                "--out",
                out,
            ],
            cwd=cwd,
            check=True,
            capture_output=True,
        )
        return json.loads((tmp_path / out / "summary.json").read_text())

    a = run(ROOT, str(ROOT / "params/scenarios/default.yaml"), str(tmp_path / "a"))
    rel = os.path.relpath(ROOT / "params/scenarios/default.yaml", tmp_path)
    b = run(tmp_path, rel, "b")
    assert a == b


def test_relevance_scales_the_odds_and_never_leaves_zero_one(default_scenario):
    pol = policy_from_dict(
        {
            "name": "loud",
            "campaigns": [{"name": "bday", "type": "birthday", "channel": "sms", "relevance": 10}],
        },
        scenario=default_scenario,
    )
    r = simulate(default_scenario, pol, seed=1, customers=4000, days=200)
    b = r.summary["messages"]["by_campaign"]["bday"]
    # sms opens at 0.85; relevance 10 × birthday 3 multiplies the odds by 30: p = 0.994
    p = 30 * 0.85 / (1 - 0.85 + 30 * 0.85)
    n = b["delivered"]
    assert n > 100 and abs(b["opened"] / n - p) < 4 * ((p * (1 - p) / n) ** 0.5) + 1 / n


def test_consent_above_one_warns(default_scenario):
    sc = default_scenario.with_overrides(
        {"population.segments.regular.consent_multiplier": {"email": 2.0}}
    )
    with pytest.warns(ProbabilityClipWarning, match="email"):
        simulate(sc, seed=1, customers=200, days=5)


def test_outputs_are_written_atomically_with_ordinary_permissions(tmp_path):
    import stat

    from retention_sim.outputs import _UMASK, atomic_write_text

    p = atomic_write_text(tmp_path / "x" / "a.txt", "hello")
    assert p.read_text() == "hello"
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~_UMASK
    assert [q.name for q in p.parent.iterdir()] == ["a.txt"]  # no temporary file left behind
