"""The metric catalogue: the one place a metric is defined."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from retention_sim.study import metrics as M

from ..conftest import ROOT


def test_catalogue_is_consistent():
    names = [m.name for m in M.CATALOGUE]
    assert len(names) == len(set(names)) and tuple(names) == M.METRICS
    for m in M.CATALOGUE:
        assert m.unit in ("money", "rate", "count", "hours") and m.better in ("higher", "lower")
        assert M.metric_label(m.name) == m.label and m.chart_label
    assert M.LOWER_IS_BETTER == {m.name for m in M.CATALOGUE if m.better == "lower"}
    assert {"profit", "retention_rate"}.isdisjoint(M.LOWER_IS_BETTER)
    assert {"churn_rate", "unsubscribe_rate", "contact_cost"} <= M.LOWER_IS_BETTER


def test_flatten_reads_every_metric_from_a_summary():
    summary = {
        "profit": 1.0,
        "revenue": 2.0,
        "gross_margin": 3.0,
        "clv": 4.0,
        "retention_rate": 0.5,
        "churn_rate": 0.25,
        "initial_base_retained": 0.75,
        "churned": 7,
        "churn_by_cause": {"friends": 3},
        "messages": {"delivered": 11, "unsubscribes": 2, "complaints": 1},
        "service": {"mean_wait_hours": 1.5},
    }
    flat = M.flatten_summary(summary)
    assert list(flat) == list(M.METRICS)
    assert flat["churn_friends"] == 3 and flat["churn_death"] == 0
    assert (flat["messages_delivered"], flat["service_mean_wait_hours"]) == (11, 1.5)
    assert flat["unsubscribe_rate"] == 0.0  # absent without a policy


ADDED = """    Metric("purchases_total", "purchases", "count", "higher", _key("purchases")),
"""

SCRIPT = """
import json
from retention_sim import compare, load_scenario, load_policy, sweep
from retention_sim.study.metrics import format_metric, metric_label
sc = load_scenario({scenario!r})
bau = load_policy({policy!r}, scenario=sc)
kw = dict(customers=150, days=20, backend="serial", progress=False)
c = compare(sc, [bau, None], replications=2, **kw)
s = c.summary(["purchases_total"])
v = c.verdict("purchases_total", {{"purchases_total": {{"max_increase": 1e9}}}})
sw = sweep(sc, bau, {{"policy:guardrails.holdout_share": [0.0, 0.5]}}, replications=2,
           metrics=["purchases_total"], objective="purchases_total", **kw)
print(json.dumps({{
    "values": c.values("bau_default", "purchases_total").tolist(),
    "rows": len(s),
    "text": c.to_text(["purchases_total"]),
    "verdict": v.text,
    "record": "purchases_total" in c.to_dict(v)["metrics"],
    "sweep": "purchases_total" in set(sw["metric"]),
    "label": metric_label("purchases_total"),
    "format": format_metric("purchases_total", 12.0),
}}))
"""


def test_a_metric_added_to_the_catalogue_reaches_every_study(tmp_path):
    """Add one catalogue entry to a copy of the package: compare, the verdict, the text
    table, the JSON record and sweep all know it, with nothing else changed."""
    pkg = tmp_path / "retention_sim"
    shutil.copytree(ROOT / "retention_sim", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    path = pkg / "study" / "metrics.py"
    src = path.read_text()
    anchor = '    Metric(\n        "service_mean_wait_hours",'
    assert anchor in src
    path.write_text(src.replace(anchor, ADDED + anchor))
    code = SCRIPT.format(
        scenario=str(ROOT / "params/scenarios/default.yaml"),
        policy=str(ROOT / "params/policies/bau_default.yaml"),
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    assert all(v > 0 for v in got["values"])  # read from the runs' summaries
    assert got["rows"] == 3  # two policies and one difference
    assert "purchases" in got["text"] and "purchases" in got["verdict"]
    assert got["record"] and got["sweep"]
    assert (got["label"], got["format"]) == ("purchases", "12.0")
