"""Cadences fire on the dates they should, audited from the message log.

The scenario starts on Thursday 2026-03-05 (not a Monday, not the first of a month) and runs
400 days, to Thursday 2027-04-08, so that weekday anchors, month ends, the year end and the
last day of the horizon are all crossed. Every campaign goes to every customer, on an email
channel with full consent and no unsubscribes or complaints, so each firing day is one
delivered message per customer. The expected dates below are worked out by hand from the
calendar (pandas only spells out the regular runs). The audit is exact: a date that is
missing, extra or shifted by a day fails; no sampling error is involved.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from retention_sim import policy_from_dict, simulate

from ...conftest import plain_scenario

START = dt.date(2026, 3, 5)  # a Thursday
DAYS = 400
LAST = dt.date(2027, 4, 8)  # START + 399 days, the last simulated day
CUSTOMERS = 40


def _run(start: str, end: str, freq: str) -> list[str]:
    return [d.date().isoformat() for d in pd.date_range(start, end, freq=freq)]


def _day_of(day: int, months: list[tuple[int, int]]) -> list[str]:
    return [dt.date(y, m, day).isoformat() for y, m in months]


MONTHS = [(2026, m) for m in range(3, 13)] + [(2027, m) for m in range(1, 5)]  # Mar 26-Apr 27
QUARTER_MONTHS = [(2026, 3), (2026, 6), (2026, 9), (2026, 12), (2027, 3)]  # from March

CASES = {
    # weekday anchors: the first such weekday on or after the start, then every 7 / 14 days
    "weekly_tue": (
        {"every": "weekly", "weekday": "tue"},
        _run("2026-03-10", "2027-04-08", "7D"),
    ),
    "biweekly_mon": (
        {"every": "biweekly", "weekday": "mon"},
        _run("2026-03-09", "2027-04-08", "14D"),
    ),
    # without a weekday: from the start plus offset_days
    "weekly_offset_3": (
        {"every": "weekly", "offset_days": 3},
        _run("2026-03-08", "2027-04-08", "7D"),
    ),
    "biweekly_plain": ({"every": "biweekly"}, _run("2026-03-05", "2027-04-08", "14D")),
    # monthly: on day_of_month, or on the start's day of the month; Apr 2027 still counts
    "monthly_15": ({"every": "monthly", "day_of_month": 15}, _day_of(15, MONTHS[:-1])),
    "monthly_plain": ({"every": "monthly"}, _day_of(5, MONTHS)),
    # quarterly: every third month counted from the start month
    "quarterly_10": ({"every": "quarterly", "day_of_month": 10}, _day_of(10, QUARTER_MONTHS)),
    "quarterly_plain": ({"every": "quarterly"}, _day_of(5, QUARTER_MONTHS)),
    "every_9_offset_4": (
        {"every_n_days": 9, "offset_days": 4},
        _run("2026-03-09", "2027-04-08", "9D"),
    ),
    "every_30": ({"every_n_days": 30}, _run("2026-03-05", "2027-04-08", "30D")),
    # one-off dates: those outside the horizon (before the start, the day after the last
    # day) are never sent
    "dates": (
        {"dates": ["2026-01-01", "2026-03-05", "2026-07-04", "2027-04-08", "2027-04-09"]},
        ["2026-03-05", "2026-07-04", "2027-04-08"],
    ),
    "daily": ({"every": "daily"}, _run("2026-03-05", "2027-04-08", "D")),
}


@pytest.fixture(scope="module")
def cadence_run():
    email = {
        "consent_share": 1.0,
        "cost_per_message": 1.0,
        "open_rate": 0.2,
        "click_rate": 0.02,
        "unsubscribe_rate": 0.0,
        "complaint_rate": 0.0,
    }
    sc = plain_scenario(
        calendar={"start": START.isoformat(), "horizon_days": DAYS},
        channels={"email": email},
    )
    pol = policy_from_dict(
        {
            "name": "cadences",
            "campaigns": [
                {"name": name, "type": "notification", "channel": "email", "cadence": cad}
                for name, (cad, _) in CASES.items()
            ],
        },
        scenario=sc,
    )
    return simulate(sc, pol, seed=1, customers=CUSTOMERS, record_messages=True)


@pytest.mark.parametrize("name", list(CASES))
def test_cadence_fires_on_the_hand_computed_dates(cadence_run, name):
    log = cadence_run.extras["messages"]
    log = log[log["campaign"] == name]
    got = sorted({d.date().isoformat() for d in log["date"]})
    expected = CASES[name][1]
    assert got == expected, (
        f"{name}: missing {sorted(set(expected) - set(got))[:6]}, "
        f"unexpected {sorted(set(got) - set(expected))[:6]}"
    )
    # every customer on every firing day, each message delivered
    per_day = log.groupby("date")["customer_id"].nunique()
    assert (per_day == CUSTOMERS).all() and len(log) == CUSTOMERS * len(expected)
    assert log["outcome"].isin(["delivered", "opened", "clicked"]).all()
