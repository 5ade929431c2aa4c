"""The run file's checksum and schema: every alteration a hand or a disk can make is caught."""

from __future__ import annotations

import json
import math

import pytest

from retention_sim.study.metrics import DAILY_SERIES, METRICS
from retention_sim.study.run_file import RESULT_FORMAT, check_run, checksum, dump, run_problem


def record(days: int = 3) -> dict:
    rec = {
        "format": RESULT_FORMAT,
        "policy": "p",
        "policy_hash": "abc",
        "replication": 2,
        "seed": 7,
        "metrics": {m: float(i) + 0.1 for i, m in enumerate(METRICS)},
        "daily": {s: [1.5] * days for s in DAILY_SERIES},
        "groups": {"segment": {"a": [1.0, 2.0, 1.0, 0.0]}},
        "written": "2026-12-01T00:00:00+00:00",
    }
    rec["metrics"]["unsubscribe_rate"] = math.nan  # NaN is a legal value
    rec["checksum"] = checksum(rec)
    return rec


def test_a_sound_record_passes_and_survives_a_json_round_trip():
    rec = record()
    back = json.loads(dump(rec))
    assert run_problem(back, days=3) is None
    assert check_run(back, days=3, recorded=rec["checksum"]) is None
    assert checksum(back) == rec["checksum"]


def test_the_checksum_ignores_the_time_written_but_nothing_else():
    rec = record()
    assert checksum({**rec, "written": "later"}) == rec["checksum"]
    for key, value in [("seed", 8), ("policy", "q"), ("replication", 3)]:
        assert checksum({**rec, key: value}) != rec["checksum"]
    tiny = dict(rec, metrics={**rec["metrics"], "profit": rec["metrics"]["profit"] + 1e-9})
    assert checksum(tiny) != rec["checksum"]


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (lambda r: r.update(format=2), "format is 2"),
        (lambda r: r.pop("seed"), "'seed' is missing"),
        (lambda r: r.update(replication=True), "'replication' is missing or not a int"),
        (lambda r: r["metrics"].pop("profit"), "metric 'profit' is missing"),
        (lambda r: r["metrics"].update(profit="1"), "metric 'profit' is not a number"),
        (lambda r: r["metrics"].update(profit=True), "metric 'profit' is not a number"),
        (lambda r: r["metrics"].update(bogus=1.0), "unknown metric 'bogus'"),
        (lambda r: r["metrics"].update(profit=math.inf), "infinite"),
        (lambda r: r.update(daily=[]), "not a table of series"),
        (lambda r: r["daily"].pop("customers"), "misses customers"),
        (lambda r: r["daily"].update(customers=[1.0, "x", 2.0]), "not a list of numbers"),
        (lambda r: r["daily"].update(customers=[1.0]), "different lengths"),
        (lambda r: r["groups"]["segment"].update(a=[1.0]), "not four numbers"),
    ],
)
def test_each_schema_violation_is_named(change, phrase):
    rec = record()
    change(rec)
    rec["checksum"] = checksum(rec)  # re-signed: only the schema can catch it
    problem = check_run(rec, days=3, recorded=None)
    assert problem is not None and phrase in problem


def test_a_series_of_the_wrong_horizon_is_refused():
    assert "have 3 days, the study has 4" in run_problem(record(3), days=4)


def test_identity_fields_are_checked():
    rec = record()
    assert "seed is 7, expected 8" in check_run(rec, days=3, recorded=None, expect={"seed": 8})
