"""Effects per group of the starting base: outcomes that add up, Holm across groups, targeting."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from retention_sim import compare, policy_from_dict, simulate
from retention_sim.cli.main import main
from retention_sim.study import statistics as st

from ..conftest import ROOT, SCENARIOS

SMALL = {"customers": 600, "days": 90, "backend": "serial", "progress": False}
PREMIUM_ONLY = {
    "name": "premium_news",
    "campaigns": [
        {
            "name": "premium_weekly",
            "type": "notification_with_offer",
            "channel": "email",
            "cadence": {"every_n_days": 7},
            "audience": {"segments": ["premium"]},
            "offer": {"discount": 0.2},
        }
    ],
}


def test_group_outcomes_add_up_to_the_starting_base(default_scenario):
    r = simulate(default_scenario, None, seed=3, customers=500, days=60)
    groups = r.extras["groups"]
    c = r.customers.set_index("customer_id")
    churned = int((c.loc[c.index < 500, "stage"] == "churned").sum())
    contrib = float(r.extras["contribution"][:500].sum())
    for kind, by in groups.items():
        v = np.array(list(by.values()))
        assert v[:, 0].sum() == 500, kind
        assert v[:, 3].sum() == churned and v[:, 2].sum() == 500 - churned
        assert v[:, 1].sum() == pytest.approx(contrib)
    seg = c.loc[c.index < 500, "segment"].value_counts()
    assert {g: x[0] for g, x in groups["segment"].items()} == seg.to_dict()


@pytest.fixture(scope="module")
def targeted(default_scenario):
    pol = policy_from_dict(PREMIUM_ONLY)
    return compare(
        default_scenario,
        {"none": None, "premium": pol},
        replications=4,
        seed=1,
        by="segment",
        **SMALL,
    )


def test_a_campaign_for_one_segment_moves_that_segment(targeted):
    t = targeted.by_group("segment", ["contribution"]).set_index("group")
    prem = abs(t.loc["premium", "mean"])
    assert t.loc["premium", "p_holm"] < 0.05 and prem > 0
    for g in t.index.drop("premium"):
        # untouched segments move only through shared queues and friends: far less
        assert abs(t.loc[g, "mean"]) < prem / 5, (g, t.loc[g, "mean"], prem)


def test_holm_across_the_groups(targeted):
    t = targeted.by_group("segment", ["contribution"])
    assert t["p_holm"].tolist() == pytest.approx(st.holm(t["p_value"].to_numpy()).tolist())
    for r in t.to_dict("records"):
        excludes = r["adj_low"] > 0 or r["adj_high"] < 0
        assert excludes == (r["p_holm"] < 0.05)
        assert r["adj_high"] - r["adj_low"] >= r["high"] - r["low"] - 1e-9


def test_comparison_json_carries_by(targeted, tmp_path):
    targeted.write(tmp_path)
    data = json.loads((tmp_path / "comparison.json").read_text())
    groups = {r["group"] for r in data["by"]["segment"]}
    assert "premium" in groups and len(groups) >= 2


def test_cli_compare_by_prints_the_table_and_refuses_unknown_groups(capsys):
    argv = ["compare", str(SCENARIOS / "default.yaml"), "-p", "none"]
    argv += ["-p", str(ROOT / "params" / "policies" / "bau_default.yaml"), "-r", "2"]
    argv += ["--customers", "200", "--days", "30", "--backend", "serial", "--no-progress"]
    assert main(argv + ["--by", "start_stage"]) == 0
    assert "by group (Holm across groups)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--by", "postcode"])
    assert exc.value.code == 2


def test_group_outcomes_survive_the_result_store(default_scenario, targeted, tmp_path):
    """Runs read back from a study's store carry their group outcomes: a resumed study (and
    the report, which reads the runs its command computed) breaks differences down the same."""
    pol = policy_from_dict(PREMIUM_ONLY)
    kw = {"replications": 4, "seed": 1, "by": "segment", "out": tmp_path, **SMALL}
    compare(default_scenario, {"none": None, "premium": pol}, **kw)
    resumed = compare(default_scenario, {"none": None, "premium": pol}, **kw)
    assert (resumed.info["runs_loaded"], resumed.info["runs_computed"]) == (8, 0)
    pd.testing.assert_frame_equal(
        resumed.by_group("segment", ["contribution"]),
        targeted.by_group("segment", ["contribution"]),
    )
