"""sweep(): what-if curves over policy or scenario fields, same seeds at every point."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from retention_sim import InputError, compare
from retention_sim import sweep as long_sweep
from retention_sim.cli.main import main
from retention_sim.config.policy import load_policy
from retention_sim.study.execution import replication_seed
from retention_sim.study.sweep import POINT_COLUMNS, apply_overrides, parse_field, sweep_wide

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"


def sweep(*args, **kwargs):
    """Most tests read the one-row-per-point view of the sweep."""
    return sweep_wide(long_sweep(*args, **kwargs))


KW = {"replications": 3, "seed": 1, "customers": 300, "days": 60, "backend": "serial"}


@pytest.fixture(scope="module")
def bau(default_scenario):
    return load_policy(POLICIES / "bau_default.yaml", scenario=default_scenario)


@pytest.fixture(scope="module")
def cadence(default_scenario, bau):
    grid = {"policy:campaigns.0.cadence.every_n_days": [3, 7, 30]}
    return sweep(default_scenario, bau, grid, progress=False, **KW)


def test_policy_sweep_table(cadence):
    f = cadence
    field = "policy:campaigns.0.cadence.every_n_days"
    assert f[field].tolist() == [3, 7, 30] and f["point"].tolist() == [0, 1, 2]
    for col in ("profit_mean", "profit_low", "profit_high", "unsubscribe_rate_mean", "best"):
        assert col in f.columns
    assert (f["profit_low"] <= f["profit_mean"]).all() and (
        f["profit_mean"] <= f["profit_high"]
    ).all()
    assert f["best"].sum() == 1
    best = f.loc[f["best"]].iloc[0]
    assert best["profit_mean"] == f["profit_mean"].max() and f.attrs["best_point"] == best["point"]
    assert best["diff_vs_best_mean"] == 0.0
    others = f.loc[~f["best"]]
    assert (others["diff_vs_best_mean"] <= 0).all()
    assert f.attrs["seeds"] == [replication_seed(1, k) for k in range(3)]


def test_every_point_uses_the_same_seeds_as_compare(default_scenario, bau, cadence):
    # the 7-day point is bau_default itself: it must reproduce compare() exactly
    c = compare(default_scenario, [bau], progress=False, **KW)
    row = cadence.loc[cadence["policy:campaigns.0.cadence.every_n_days"] == 7].iloc[0]
    assert row["profit_mean"] == c.interval("bau_default", "profit").mean
    assert row["profit_low"] == c.interval("bau_default", "profit").low


def test_scenario_sweep_and_unprefixed_fields(default_scenario):
    f = sweep(
        default_scenario,
        None,
        {"service.agents": [1, 3]},  # no prefix, no policy: found in the scenario
        metrics=["service_mean_wait_hours"],
        objective="service_mean_wait_hours",
        progress=False,
        **KW,
    )
    assert f["service.agents"].tolist() == [1, 3]
    # lower is better for waiting: the best point has the smallest mean wait
    assert f.loc[f["best"], "service_mean_wait_hours_mean"].iloc[0] == pytest.approx(
        f["service_mean_wait_hours_mean"].min()
    )


def test_grid_product_and_field_parsing(default_scenario, bau):
    assert parse_field("policy:guardrails.holdout_share") == ("policy", "guardrails.holdout_share")
    assert parse_field("service.agents") == (None, "service.agents")
    sc, po = apply_overrides(
        default_scenario, bau, {"scenario:service.agents": 7, "guardrails.holdout_share": 0.1}
    )
    assert sc.service.agents == 7 and po.guardrails.holdout_share == 0.1
    f = sweep(
        default_scenario,
        bau,
        {"guardrails.holdout_share": [0.0, 0.2], "scenario:service.agents": [2, 4]},
        progress=False,
        **{**KW, "replications": 2, "days": 20},
    )
    assert len(f) == 4 and f.attrs["fields"] == [
        "guardrails.holdout_share",
        "scenario:service.agents",
    ]
    assert np.isfinite(f["profit_mean"]).all()


def test_sweep_resumes_from_its_store(default_scenario, bau, tmp_path):
    grid = {"policy:campaigns.0.cadence.every_n_days": [7, 14], "scenario:service.agents": [2, 3]}
    kw = {**KW, "replications": 2, "days": 20, "progress": False, "out": tmp_path}
    first = sweep(default_scenario, bau, grid, **kw)
    assert (first.attrs["runs_computed"], first.attrs["runs_loaded"]) == (8, 0)
    again = sweep(default_scenario, bau, grid, **kw)
    assert (again.attrs["runs_computed"], again.attrs["runs_loaded"]) == (0, 8)
    assert again.equals(first)
    # two scenario points: two studies, each with its own manifest
    assert len(list(tmp_path.glob("runs/*/manifest.json"))) == 2


@pytest.mark.parametrize(
    "grid",
    [
        {"policy:campaigns.0.cadence.nope": [1, 2]},
        {"widget:service.agents": [1]},
        {"service.agents": []},
        {"no.such.field": [1]},
        {"policy:campaigns.0.cadence.every_n_days": [-4]},
    ],
)
def test_bad_grids_are_input_errors(default_scenario, bau, grid):
    with pytest.raises(InputError):
        sweep(default_scenario, bau, grid, progress=False, **KW)


def test_policy_field_without_a_policy_is_an_input_error(default_scenario):
    with pytest.raises(InputError, match="no policy"):
        sweep(
            default_scenario, None, {"policy:guardrails.holdout_share": [0.1]}, progress=False, **KW
        )


def test_cli_sweep(tmp_path, capsys):
    out = tmp_path / "sw"
    argv = [
        "sweep",
        str(SCENARIOS / "default.yaml"),
        "-p",
        str(POLICIES / "bau_default.yaml"),
        "--grid",
        "policy:campaigns.0.cadence.every_n_days=7,14",
        "-r",
        "2",
        "--customers",
        "200",
        "--days",
        "30",
        "--backend",
        "serial",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "every_n_days=14" in printed
    assert "result store: 0 finished runs reused, 4 computed" in printed
    # two replications of a month rarely separate the points: then no point is called best
    assert ("<- best" in printed) != ("tie: each paired 95% interval" in printed)
    data = json.loads((out / "sweep.json").read_text())
    assert len(data["points"]) == 2 and data["objective"] == "profit"
    assert (out / "sweep.csv").read_text().startswith("point,")
    runs = pd.read_csv(out / "runs.csv")
    field = "policy:campaigns.0.cadence.every_n_days"
    assert list(runs.columns[:3]) == ["point", field, "replication"]
    assert list(runs.columns[3:]) == ["metric", "value"]
    assert len(runs) == 2 * 2 * runs["metric"].nunique()  # points x replications x metrics


@pytest.mark.parametrize("grid", ["nofield", "service.agents=", "service.agents=1,,2"])
def test_cli_sweep_bad_grid_exits_2(grid, capsys):
    code = main(
        [
            "sweep",
            str(SCENARIOS / "default.yaml"),
            "--grid",
            grid,
            "--backend",
            "serial",
            "--no-progress",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_tie_is_named_and_the_best_point_must_hold_its_guardrails(default_scenario, bau):
    from retention_sim.study.sweep import format_sweep

    grid = {"policy:campaigns.0.cadence.every_n_days": [2, 7, 30]}
    small = {"customers": 300, "days": 60, "backend": "serial", "progress": False}
    f = sweep(default_scenario, bau, grid, replications=3, seed=2, guardrails={}, **small)
    best = int(f.attrs["best_point"])
    # ties are the points whose paired interval against the best includes zero
    for r in f.to_dict("records"):
        if r["point"] != best:
            assert r["ties_best"] == (r["diff_vs_best_low"] <= 0 <= r["diff_vs_best_high"])
    text = format_sweep(f)
    assert ("<- best" in text) == (not f.attrs["tied_points"])
    # a guardrail that the best point breaks and another point holds moves the best point
    g = sweep(
        default_scenario,
        bau,
        grid,
        replications=3,
        seed=2,
        metrics=["messages_delivered"],
        guardrails={},
        **small,
    )
    lo, hi = g["messages_delivered_low"], g["messages_delivered_high"]
    fewest = int(g["messages_delivered_mean"].idxmin())
    assert best != fewest  # the premise: the most profitable point sends more (measured: 2 days)
    limit = (hi[fewest] + lo[best]) / 2
    assert hi[fewest] < limit < lo[best]
    h = sweep(
        default_scenario,
        bau,
        grid,
        replications=3,
        seed=2,
        guardrails={"messages_delivered": limit},
        **small,
    )
    assert h.attrs["best_point"] != best and bool(h.loc[h.attrs["best_point"], "guardrails_hold"])
    assert not h.loc[best, "guardrails_hold"]
    # no point holds an impossible limit: the best mean of all, said so
    none = sweep(
        default_scenario,
        bau,
        grid,
        replications=3,
        seed=2,
        guardrails={"messages_delivered": 1.0},
        **small,
    )
    assert not none.attrs["best_feasible"] and int(none.attrs["best_point"]) == best
    assert "No point holds every guardrail" in format_sweep(none)
    with pytest.raises(InputError, match="no baseline"):
        sweep(default_scenario, bau, grid, guardrails={"profit": {"max_increase": 1}}, **small)


def test_the_sweep_is_long_one_row_per_point_and_metric(default_scenario, bau):
    """sweep() returns the tidy shape; sweep_wide() the table view; they hold the same values."""
    grid = {"policy:campaigns.0.cadence.every_n_days": [7, 30]}
    long = long_sweep(
        default_scenario, bau, grid, replications=2, customers=200, days=30,
        backend="serial", progress=False, metrics=["profit", "retention_rate"],
    )  # fmt: skip
    field = "policy:campaigns.0.cadence.every_n_days"
    assert list(long.columns[:7]) == ["point", field, "metric", "mean", "low", "high", "p_exceeded"]
    assert list(long.columns[7:]) == list(POINT_COLUMNS)
    # the metrics asked for, then every default guardrail's metric
    metrics = [
        "profit",
        "retention_rate",
        "unsubscribe_rate",
        "complaint_rate",
        "over_fatigue_share",
    ]
    assert list(long["metric"].unique()) == metrics and len(long) == 2 * len(metrics)
    assert long.loc[long["metric"] == "profit", "p_exceeded"].isna().all()
    assert long.loc[long["metric"] == "unsubscribe_rate", "p_exceeded"].between(0, 1).all()
    wide = sweep_wide(long)
    assert len(wide) == 2 and wide.attrs == long.attrs
    for m in metrics:
        assert wide[f"{m}_mean"].tolist() == long.loc[long["metric"] == m, "mean"].tolist()
    assert wide["unsubscribe_rate_p_exceeded"].tolist() == (
        long.loc[long["metric"] == "unsubscribe_rate", "p_exceeded"].tolist()
    )
    assert sweep_wide(wide) is wide
