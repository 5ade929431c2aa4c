"""optimise on the engine: a known optimum, groups, guardrails, optimum.json and the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from retention_sim import InputError
from retention_sim.cli.main import main
from retention_sim.study.optimise import optimise, parse_vary

from ..conftest import ROOT, SCENARIOS

SMALL = {"customers": 300, "days": 40, "backend": "serial", "progress": False}
BAU = ROOT / "params" / "policies" / "bau_default.yaml"


def test_a_holdout_only_removes_messages_so_the_search_ends_at_zero(default_scenario):
    # a known optimum: every customer held out is a customer not messaged, so the most
    # messages are delivered at a holdout of 0 (a continuous field, at the range's edge)
    o = optimise(
        default_scenario, BAU, {"policy:guardrails.holdout_share": (0.0, 0.5)},
        objective="messages_delivered", guardrails={}, replications=3, **SMALL,
    )  # fmt: skip
    best = o.record["targets"]["all"]
    assert best["recommended"] == {"policy:guardrails.holdout_share": 0.0}
    # and the cost of contact is lowest at the largest holdout
    o2 = optimise(
        default_scenario, BAU, {"policy:guardrails.holdout_share": (0.0, 0.5)},
        objective="contact_cost", guardrails={}, replications=3, **SMALL,
    )  # fmt: skip
    assert o2.record["targets"]["all"]["recommended"] == {"policy:guardrails.holdout_share": 0.5}


def test_groups_guardrails_and_the_record(default_scenario, tmp_path):
    o = optimise(
        default_scenario, BAU, ["policy:campaigns.0.cadence.every_n_days=2..30"], by="segment",
        replications=3, out=tmp_path, **SMALL,
    )  # fmt: skip
    t = o.record["targets"]
    assert "all" in t and any(k.startswith("segment=") for k in t)
    for r in t.values():
        lo, hi = r["indistinguishable"]["policy:campaigns.0.cadence.every_n_days"]
        v = r["recommended"]["policy:campaigns.0.cadence.every_n_days"]
        assert lo <= v <= hi and 2 <= lo and hi <= 30
        assert [g["metric"] for g in r["guardrails"]][:1] == ["unsubscribe_rate"]
    assert t["segment=premium"]["metric"] == "contribution"
    path, runs_csv = o.write(tmp_path)
    assert json.loads(path.read_text())["objective"] == "profit"
    # every run in long format: one row per evaluated point, replication and metric
    runs = pd.read_csv(runs_csv)
    field = "policy:campaigns.0.cadence.every_n_days"
    assert list(runs.columns) == ["point", field, "replication", "metric", "value"]
    assert runs["point"].nunique() == o.record["points_evaluated"]
    assert set(runs["replication"]) == {0, 1, 2}
    assert len(runs) == o.record["points_evaluated"] * 3 * runs["metric"].nunique()


def test_bad_vary_is_refused_before_any_run(default_scenario):
    for bad in (["x"], ["policy:campaigns.0.cadence.every_n_days=5..1"], ["a=1..b"]):
        with pytest.raises(InputError):
            parse_vary(bad)
    with pytest.raises(InputError):
        optimise(default_scenario, BAU, {"policy:nope": (1, 3)}, **SMALL)
    assert parse_vary(["f=0.1..0.9"])[0].integer is False
    assert parse_vary(["f=1..9"])[0].integer is True


def test_cli_optimise(tmp_path, capsys):
    argv = ["optimise", str(SCENARIOS / "default.yaml"), "-p", str(BAU)]
    argv += ["--vary", "policy:campaigns.0.cadence.every_n_days=3..20", "-r", "2", "--grid", "3"]
    argv += ["--customers", "200", "--days", "30", "--backend", "serial", "--no-progress"]
    assert main(argv + ["--out", str(tmp_path)]) == 0
    assert (tmp_path / "optimum.json").exists() and "points evaluated" in capsys.readouterr().out
    assert main(argv[:4] + ["--vary", "bad", "--no-progress"]) == 2
