"""The benchmark runs and reports every figure it promises (no timing is asserted here)."""

from __future__ import annotations

import json

import pytest

from retention_sim.cli import main


def test_benchmark_reports_its_figures(tmp_path):
    out = tmp_path / "bench.json"
    code = main(
        [
            "bench",
            "--customers",
            "300",
            "600",
            "--days",
            "15",
            "--parallel-customers",
            "300",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    fig = json.loads(out.read_text())
    assert [s["customers"] for s in fig["sizes"]] == [300, 600]
    for s in fig["sizes"]:
        assert s["customer_days"] > 0 and s["customer_days_per_second"] > 0
        assert s["simpy_events"] > s["days"]  # at least one event per simulated day
        assert abs(sum(s["time_share"].values()) - 1.0) < 1e-6
        assert {"contacts", "churn", "purchases", "service desk", "metrics"} <= set(s["time_share"])
    assert 0 < fig["parallel"]["efficiency"] and fig["scaling"]["size_ratio"] == 2


def test_bad_sizes_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--customers", "0", "--days", "10"])
    assert exc.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_the_whole_study_benchmark_runs_its_policies(tmp_path):
    from retention_sim import load_scenario
    from retention_sim.study.bench import DEFAULT_SCENARIO, study_policies

    pols = study_policies(load_scenario(DEFAULT_SCENARIO))
    assert len({p.name for p in pols}) == 10  # ten distinct policies
    with pytest.raises(ValueError, match="1 to 10 policies"):
        study_policies(load_scenario(DEFAULT_SCENARIO), 11)
    out = tmp_path / "study.json"
    assert main(["bench", "--study", "2", "2", "200", "--days", "5", "--json", str(out)]) == 0
    st = json.loads(out.read_text())
    assert st["runs"] == 4 and st["policies"] == [p.name for p in pols[:2]]
    assert st["wall_seconds"] > 0 and st["nominal_customer_days_per_second"] > 0
