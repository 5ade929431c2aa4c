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
