"""select on the engine: KN over policies, guardrail screening, selection.json, the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from retention_sim import InputError
from retention_sim.cli.main import main
from retention_sim.study.select import parse_indifference, select

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"
SMALL = {"customers": 400, "days": 90, "backend": "serial", "progress": False}
ARMS = [POLICIES / f"{p}.yaml" for p in ("bau_default", "playbook_software", "daily_blast")]


@pytest.fixture(scope="module")
def selection(default_scenario):
    return select(default_scenario, ARMS, first_stage=4, indifference="2%", **SMALL)


def test_selection_record_and_guardrail_screen(selection):
    rec = selection.record
    assert rec["selected"] == selection.selected
    for key in ("pcs", "indifference", "replications", "eliminated", "intervals"):
        assert key in rec
    # daily_blast breaks the default unsubscribe limit on the first stage and leaves at once
    out = {e["policy"]: e for e in rec["eliminated"]}
    assert out["daily_blast"]["reason"] == "guardrail"
    assert "unsubscribe_rate" in out["daily_blast"]["guardrails"]
    assert rec["replications"]["daily_blast"] == 4
    assert rec["total_replications"] == sum(rec["replications"].values())
    # every other policy has a paired interval against the selected one
    assert set(rec["intervals"]) == {p.stem for p in ARMS} - {rec["selected"]}
    assert rec["indifference_share"] == 0.02 and rec["indifference"] > 0
    assert [g["metric"] for g in rec["guardrails"]][:1] == ["unsubscribe_rate"]
    assert "Selected: " in selection.text and "Eliminated:" in selection.text


def test_select_is_reproducible_and_resumes_from_its_store(default_scenario, selection, tmp_path):
    again = select(default_scenario, ARMS, first_stage=4, indifference="2%", out=tmp_path, **SMALL)
    strip = lambda r: {k: v for k, v in r.items() if k != "study"}  # noqa: E731
    assert strip(again.record) == strip(selection.record)
    third = select(default_scenario, ARMS, first_stage=4, indifference="2%", out=tmp_path, **SMALL)
    assert third.record["study"]["runs_computed"] == 0
    assert strip(third.record) == strip(selection.record)


def test_bad_arguments(default_scenario):
    with pytest.raises(InputError, match="at least two"):
        select(default_scenario, ARMS[:1], **SMALL)
    with pytest.raises(InputError, match="pcs"):
        select(default_scenario, ARMS, pcs=0.2, **SMALL)
    assert parse_indifference("1.5%") == (None, 0.015)
    assert parse_indifference(250.0) == (250.0, None)
    for bad in ("abc", "-1%", 0, "0%"):
        with pytest.raises(InputError):
            parse_indifference(bad)


def test_cli_select_writes_selection_json(tmp_path, capsys):
    argv = ["select", str(SCENARIOS / "default.yaml")]
    argv += [x for p in ARMS[:2] for x in ("-p", str(p))]
    argv += ["--customers", "300", "--days", "60", "--first-stage", "3", "--backend", "serial"]
    argv += ["--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    data = json.loads((tmp_path / "selection.json").read_text())
    assert data["selected"] in {"bau_default", "playbook_software"}
    assert "Selected:" in capsys.readouterr().out
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs.columns) == ["policy", "replication", "metric", "value"]
    assert set(runs["policy"]) == {"bau_default", "playbook_software"}
    assert runs.groupby(["policy", "metric"]).size().min() >= 3  # the first stage at least


@pytest.mark.parametrize(
    "tail",
    [
        ["--indifference", "abc"],
        ["--pcs", "1.5"],
        ["--guardrail", "nope=1"],
        ["-p", "missing.yaml"],
    ],
)
def test_cli_select_bad_input_is_one_line_and_exit_2(tail, capsys):
    argv = ["select", str(SCENARIOS / "default.yaml"), "-p", str(ARMS[0]), "-p", str(ARMS[1])]
    try:
        code = main(argv + ["--customers", "50", "--days", "5", "--no-progress", *tail])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_guardrails_of_a_selected_policy_with_more_replications_than_the_first():
    # the first policy leaves after the first stage; the selected one runs on: its limits
    # on the mean use all its replications, a limit on the increase the common ones
    import numpy as np

    from retention_sim import load_scenario
    from retention_sim.study.metrics import METRICS
    from retention_sim.study.ranking_selection import KNOutcome
    from retention_sim.study.select import _selection

    sc = load_scenario(SCENARIOS / "default.yaml")
    rng = np.random.default_rng(0)
    names = ["first", "best"]
    values = {k: {"best": rng.random(len(METRICS))} for k in range(8)}
    for k in range(3):
        values[k]["first"] = rng.random(len(METRICS))
    outcome = KNOutcome(selected=1, replications=[3, 8], eliminated=[(0, 3, 1)])
    checks = [("unsubscribe_rate", "max", 0.5), ("complaints", "max_increase", 0.2)]
    sel = _selection(
        sc, names, values, outcome, {}, checks, objective="profit", pcs=0.95, delta=0.1,
        share=None, first_stage=3, seed=0, customers=(10, 5), computed=[0, 0],
    )  # fmt: skip
    col = METRICS.index("unsubscribe_rate")
    g = sel.record["guardrails"]
    assert g[0]["value"] == pytest.approx(np.mean([values[k]["best"][col] for k in range(8)]))
    ci = METRICS.index("complaints")
    inc = np.mean([values[k]["best"][ci] - values[k]["first"][ci] for k in range(3)])
    assert g[1]["value"] == pytest.approx(inc)
    assert sel.record["intervals"]["first"]["replications"] == 3
