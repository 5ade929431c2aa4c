"""Fixed runs whose outputs must stay bit-identical across refactors (the golden outputs).

``python -m tests.golden_runs`` (from the repository root) records them in
``tests/golden/outputs.json``; ``tests/test_golden.py`` recomputes them and compares. Record
again only when a change is *meant* to change results, and say so in the commit message.

Each run is reduced to its summary (in full) and the SHA-256 of every table it writes, so a
difference in any number of any output file is caught.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy
import simpy

from retention_sim import compare, load_scenario, simulate
from retention_sim.calibration.calibrate import calibrate
from retention_sim.calibration.forecast import forecast
from retention_sim.config.policy import load_policy, policy_from_dict
from retention_sim.study.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden" / "outputs.json"
SCENARIO = ROOT / "params" / "scenarios" / "default.yaml"
POLICIES = ROOT / "params" / "policies"
CDNOW = ROOT / "retention_sim" / "data" / "cdnow_sample.csv"

#: Every campaign type, both programmes, every guardrail: the engine's code paths in one policy.
KITCHEN_SINK: dict[str, Any] = {
    "name": "kitchen_sink",
    "campaigns": [
        {
            "name": "welcome",
            "type": "journey",
            "start": "new_customer",
            "priority": 80,
            "steps": [
                {"after_days": 0, "channel": "email", "content": "info"},
                {
                    "after_days": 3,
                    "channel": "preferred",
                    "content": "offer",
                    "offer": {"discount": 0.1, "valid_days": 10},
                },
                {"after_days": 10, "channel": "sms", "content": "service"},
            ],
        },
        {
            "name": "winback_series",
            "type": "journey",
            "start": "lapsed",
            "priority": 75,
            "steps": [
                {
                    "after_days": 0,
                    "channel": "email",
                    "content": "offer",
                    "offer": {"discount": 0.2},
                },
                {
                    "after_days": 14,
                    "channel": "zalo",
                    "content": "reward",
                    "offer": {"bonus_points": 200},
                },
            ],
        },
        {
            "name": "promo",
            "type": "notification",
            "channel": "email",
            "cadence": {"every": "weekly", "weekday": "thu"},
            "priority": 30,
        },
        {
            "name": "offer_sms",
            "type": "notification_with_offer",
            "channel": "sms",
            "cadence": {"every": "monthly", "day_of_month": 5},
            "offer": {"discount": 0.15},
            "audience": {"rfm": ["at_risk", "cant_lose", "vip"]},
            "priority": 40,
        },
        {
            "name": "dates",
            "type": "notification",
            "channel": "push",
            "cadence": {"dates": ["2026-02-14", "2026-03-08", "2026-06-01"]},
        },
        {
            "name": "nudge",
            "type": "notification",
            "channel": "email",
            "cadence": {"trigger": "predicted_next_purchase", "lead_days": 2},
        },
        {
            "name": "bday",
            "type": "birthday",
            "channel": "zalo",
            "days_before": 3,
            "offer": {"gift_value": 20000},
        },
        {"name": "thanks", "type": "thank_you", "channel": "preferred", "priority": 90},
        {"name": "tiers", "type": "tier_up", "channel": "email"},
        {
            "name": "wb",
            "type": "win_back",
            "channel": "email",
            "after_days": 120,
            "repeat_every_days": 45,
            "audience": {"stages": ["lapsed", "churned"]},
            "offer": {"discount": 0.25},
        },
        {
            "name": "calls",
            "type": "proactive_call",
            "channel": "phone",
            "cadence": "biweekly",
            "audience": {"stages": ["at_risk"], "tiers": ["gold"]},
        },
    ],
    "guardrails": {
        "caps": [
            {"channel": "any", "max": 4, "window_days": 7},
            {"channel": "email", "max": 8, "window_days": 30, "window": "calendar"},
        ],
        "min_gap_hours": {"sms": 48},
        "quiet_weekdays": ["sun"],
        "holdout_share": 0.05,
    },
    "monthly_budget": 450_000,
    "programmes": {
        "membership": {"fee_per_year": 200_000, "join_share": 0.2},
        "referral": {"reward_value": 30_000, "referrals_per_year": 0.3},
    },
}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _frame_sha(frame: pd.DataFrame, *, index: bool = False) -> str:
    return _sha(frame.to_csv(index=index, float_format="%.17g").encode())


def _run_record(result: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "summary": json.loads(json.dumps(result.summary, sort_keys=True)),
        "daily_sha": _frame_sha(result.daily, index=True),
        "transactions_sha": _frame_sha(result.transactions),
        "customers_sha": _frame_sha(result.customers),
    }
    if result.extras.get("messages") is not None:
        rec["messages_sha"] = _frame_sha(result.extras["messages"])
    if "observed_customer_id" in result.extras:
        rec["observed_sha"] = _sha(
            np.asarray(result.extras["observed_customer_id"]).astype(str).tobytes()
        )
    return rec


_VOLATILE = ("created", "engine", "study_key", "store", "package_version")


def compute(tmp: Path) -> dict[str, Any]:
    """Run every golden case; ``tmp`` is a scratch folder for the calibration's files."""
    sc = load_scenario(SCENARIO)
    bau = load_policy(POLICIES / "bau_default.yaml", scenario=sc)
    soft = load_policy(POLICIES / "playbook_software.yaml", scenario=sc)
    sink = policy_from_dict(KITCHEN_SINK, scenario=sc)
    out: dict[str, Any] = {}
    out["no_policy"] = _run_record(simulate(sc, seed=11, customers=2000, days=120))
    out["bau_default"] = _run_record(
        simulate(sc, bau, seed=12, customers=2000, days=120, record_messages=True)
    )
    out["playbook_software"] = _run_record(
        simulate(sc, soft, seed=13, customers=1500, days=150, record_messages=True)
    )
    out["kitchen_sink"] = _run_record(
        simulate(sc, sink, seed=14, customers=1500, days=400, record_messages=True)
    )
    cal = calibrate(
        CDNOW, until="1997-09-30", scenario_out=tmp / "cal.yaml", customers_out=tmp / "cust.csv"
    )
    # the log's path is part of the report and of the YAML header: where the repository sits
    # must not matter
    report = json.dumps(cal.report(), default=str, sort_keys=True).replace(str(ROOT), "<root>")
    out["calibration"] = {
        "report": json.loads(report),
        "scenario_yaml_sha": _sha(cal.scenario_yaml().replace(str(ROOT), "<root>").encode()),
        "customers_sha": _sha((tmp / "cust.csv").read_bytes()),
    }
    cal_sc = load_scenario(tmp / "cal.yaml")
    cal_bau = load_policy(POLICIES / "bau_default.yaml", scenario=cal_sc)
    out["calibrated_run"] = _run_record(
        simulate(cal_sc, cal_bau, seed=15, days=90, history=tmp / "cust.csv")
    )
    fc = forecast(
        cal_sc, tmp / "cust.csv", start="1997-10-01", end="1997-12-31", replications=3, seed=2
    )
    out["forecast"] = {
        "customers_sha": _frame_sha(fc.customers),
        "weekly_sha": _frame_sha(fc.weekly),
        "summary": json.loads(json.dumps(fc.summary, sort_keys=True)),
    }
    comp = compare(
        sc,
        [bau, soft, None],
        replications=3,
        seed=5,
        customers=300,
        days=60,
        backend="serial",
        progress=False,
    )
    verdict = comp.verdict(
        "profit", {"unsubscribe_rate": 0.004, "contact_cost": {"max_increase": 1e6}}
    )
    d = comp.to_dict(verdict)
    for k in _VOLATILE:
        d["study"].pop(k, None)
    out["comparison"] = {
        "dict": json.loads(json.dumps(d, sort_keys=True)),
        "csv_sha": _frame_sha(comp.summary()),
        "text": comp.to_text(),
        "daily_sha": _frame_sha(comp.daily()),
    }
    sw = sweep(
        sc,
        bau,
        {"policy:campaigns.0.cadence.every_n_days": [3, 14]},
        replications=2,
        seed=1,
        customers=300,
        days=60,
        backend="serial",
        progress=False,
    )
    out["sweep"] = {"csv_sha": _frame_sha(sw)}
    return out


def versions() -> dict[str, str]:
    """The libraries (and machine) whose floating point the golden outputs depend on."""
    return {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "simpy": simpy.__version__,
        "python": ".".join(map(str, sys.version_info[:2])),
        "machine": platform.machine(),
    }


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = {"versions": versions(), "outputs": compute(Path(tmp))}
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
