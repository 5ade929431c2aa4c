"""A campaign in the shape platforms export: a message log with a holdout, and the transaction log
(retention_sim.calibration.campaign_logs)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from retention_sim.calibration.campaign_logs import experiment_from_logs
from retention_sim.calibration.response_fit import fit_response
from retention_sim.cli.main import main
from retention_sim.errors import InputError

D0 = pd.Timestamp("2024-03-01")


def _write(path, rows, columns):
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


@pytest.fixture
def tiny(tmp_path):
    day = lambda k: (D0 + pd.Timedelta(days=k)).date().isoformat()  # noqa: E731
    msgs = _write(
        tmp_path / "messages.csv",
        [
            ("a", day(2), "promo"),  # a's second message: the send day is the first
            ("a", day(0), "promo"),
            ("b", "", "holdout"),  # no date: counts from the campaign's first send
            ("c", day(1), "promo"),
            ("d", day(0), "holdout"),
        ],
        ["customer_id", "date", "arm"],
    )
    tx = _write(
        tmp_path / "tx.csv",
        [
            ("a", day(-400), 5.0),  # before the lookback: recency, tenure; not frequency
            ("a", day(-10), 10.0),
            ("a", day(-1), 20.0),  # the day before the send: pre-period
            ("a", day(0), 7.0),  # the send day: in the window
            ("a", day(0), 3.0),  # same day, merged
            ("a", day(6), 4.0),  # last day of a 7-day window
            ("a", day(7), 100.0),  # first day after it
            ("b", day(-3), 8.0),
            ("b", day(3), 9.0),
            ("c", day(8), 1.0),  # c: no purchase before, none in its window (days 1-7)
            ("z", day(30), 1.0),  # not in the campaign; the log runs to day 30
        ],
        ["customer_id", "date", "amount"],
    )
    return msgs, tx


def test_the_table_takes_the_window_from_the_send_day(tiny, tmp_path):
    msgs, tx = tiny
    out = tmp_path / "table.csv"
    ex = experiment_from_logs(
        msgs,
        tx,
        control="holdout",
        window_days=7,
        feature_cols=["recency_days", "frequency", "monetary", "tenure_days", "prior_buyer"],
        table_out=out,
    )
    t = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    assert list(t.index) == ["a", "b", "c", "d"]
    first_log_day = D0 - pd.Timedelta(days=400)
    a, b, c, d = (t.loc[k] for k in "abcd")
    assert (a["arm"], a["send_day"]) == ("promo", "2024-03-01")
    assert (a["recency_days"], a["frequency"], a["monetary"], a["tenure_days"]) == (1, 2, 30.0, 400)
    assert (a["conversion"], a["spend"]) == (1, 14.0)  # 7 + 3 on the send day, 4 on day 6
    assert b["send_day"] == "2024-03-01"  # the first send of the campaign
    assert (b["recency_days"], b["conversion"], b["spend"]) == (3, 1, 9.0)
    span = (pd.Timestamp("2024-03-02") - first_log_day).days + 1
    assert (c["prior_buyer"], c["frequency"], c["tenure_days"], c["recency_days"]) == (
        0,
        0,
        0,
        span,
    )
    assert (c["conversion"], c["spend"]) == (0, 0.0)  # day 8 is after c's window (days 1-7)
    assert (d["conversion"], d["prior_buyer"]) == (0, 0)
    assert ex.files == [str(msgs), str(tx)] and ex.source == str(msgs)
    assert ex.arm_counts() == {"holdout": 2, "promo": 2}


def _campaign(tmp_path, n=6000, seed=3):
    """A campaign with a known multiplicative effect on the standardised frequency: histories
    drawn first, features computed by hand from them, outcomes drawn from the truth."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:05d}" for i in range(n)])
    arm = rng.choice(["holdout", "email"], size=n)
    rate = rng.gamma(1.5, 1 / 300, n)  # purchases per day before the campaign
    rows, freq = [], np.zeros(n)
    for i in range(n):
        days = np.flatnonzero(rng.random(500) < rate[i]) - 500  # days −500 … −1
        freq[i] = np.sum(days >= -365)
        rows += [(ids[i], (D0 + pd.Timedelta(days=int(k))).date().isoformat(), 10.0) for k in days]
    z = (freq - freq.mean()) / freq.std()
    treated = arm == "email"
    logit = -2.5 + 0.6 * z + treated * (0.5 + 0.3 * z)
    buy = rng.random(n) < 1 / (1 + np.exp(-logit))
    for i in np.flatnonzero(buy):
        day = (D0 + pd.Timedelta(days=int(rng.integers(0, 14)))).date().isoformat()
        rows.append((ids[i], day, float(rng.gamma(4.0, 12.5))))
    rows.append(("other", (D0 + pd.Timedelta(days=40)).date().isoformat(), 1.0))  # log end
    for i in np.flatnonzero(rng.random(n) < 0.3):  # purchases after the window do not count
        rows.append((ids[i], (D0 + pd.Timedelta(days=20)).date().isoformat(), 50.0))
    tx = _write(tmp_path / "tx.csv", rows, ["customer_id", "date", "amount"])
    send = np.where(treated, D0.date().isoformat(), "")
    msgs = _write(
        tmp_path / "msgs.csv",
        list(zip(ids, send, arm, strict=True)),
        ["customer_id", "date", "arm"],
    )
    return msgs, tx, buy


def test_the_logs_give_the_same_fit_as_the_table_and_recover_the_truth(tmp_path):
    msgs, tx, buy = _campaign(tmp_path)
    table = tmp_path / "table.csv"
    ex = experiment_from_logs(
        msgs,
        tx,
        control="holdout",
        window_days=14,
        feature_cols=["frequency"],
        effect_cols=["frequency"],
        table_out=table,
    )
    assert (ex.frame["conversion"].to_numpy() == buy).all()
    from_logs = fit_response(ex, form="multiplicative").model
    from_table = fit_response(
        table,
        arm_col="arm",
        control="holdout",
        window_days=14,
        conversion_col="conversion",
        spend_col="spend",
        feature_cols=["frequency"],
        effect_cols=["frequency"],
        form="multiplicative",
    ).model
    assert from_logs.conversion == from_table.conversion
    # the table file holds spend to ten significant digits (outputs.CSV_DIGITS): the spend
    # fit from it moves by that rounding, relative 1e-10, times the fit's conditioning
    _assert_close(from_logs.spend.model_dump(), from_table.spend.model_dump(), rtol=1e-6)
    assert from_logs.source.file == f"{msgs} + {tx}"
    r = from_logs.conversion
    pairs = [
        (r.baseline.intercept, -2.5),
        (r.baseline.coefficients["frequency"], 0.6),
        (r.effects["email"].intercept, 0.5),
        (r.effects["email"].modifiers["frequency"], 0.3),
    ]
    z = [(e.estimate - v) / e.se for e, v in pairs]
    assert max(abs(v) for v in z) < 3, z
    # spend per converter: gamma with mean 50 in both arms (no effect on the basket)
    s = from_logs.spend
    assert abs(s.effects["email"].estimate) < 3 * s.effects["email"].se
    assert abs(np.exp(s.baseline.intercept.estimate) - 50.0) < 3 * 50 * s.baseline.intercept.se


@pytest.mark.parametrize(
    "case, match",
    [
        ("no_arm_column", "missing arm column 'arm'"),
        ("two_arms", "more than one arm"),
        ("blank_treatment_date", "blank \\(only holdout rows may be\\)"),
        ("window_past_the_log", "past the transaction log's last day"),
        ("unknown_feature", "not derived from the logs"),
        ("unknown_control", "control arm 'control'"),
    ],
)
def test_bad_logs_get_one_line_and_status_2(case, match, tiny, tmp_path, capsys):
    msgs, tx = tiny
    m = pd.read_csv(msgs, dtype=str, keep_default_na=False)
    extra, control, window = [], "holdout", "7"
    if case == "no_arm_column":
        m = m.rename(columns={"arm": "variant"})
    elif case == "two_arms":
        m.loc[len(m)] = ["d", "2024-03-01", "promo"]
    elif case == "blank_treatment_date":
        m.loc[0, "date"] = ""
    elif case == "window_past_the_log":
        window = "40"
    elif case == "unknown_feature":
        extra = ["--feature-cols", "recency"]
    elif case == "unknown_control":
        control = "control"
    m.to_csv(msgs, index=False)
    out = tmp_path / "r.yaml"
    argv = ["calibrate-response", "--messages", str(msgs), "--transactions", str(tx)]
    argv += ["--control", control, "--window-days", window, "-o", str(out), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert re.search(match, err), err
    assert not out.exists()


def test_one_input_shape_at_a_time(tiny, tmp_path, capsys):
    msgs, tx = tiny
    argv = ["calibrate-response", str(msgs), "--messages", str(msgs), "--transactions", str(tx)]
    assert main([*argv, "--control", "holdout", "--window-days", "7", "-o", "r.yaml"]) == 2
    assert "either EXPERIMENT.csv, or --messages" in capsys.readouterr().err
    with pytest.raises(InputError, match="at least 1"):
        experiment_from_logs(msgs, tx, control="holdout", window_days=0)


def test_cli_fits_from_logs_and_the_table_replays(tmp_path, capsys):
    msgs, tx, _ = _campaign(tmp_path, n=3000)
    resp, table = tmp_path / "r.yaml", tmp_path / "t.csv"
    argv = ["calibrate-response", "--messages", str(msgs), "--transactions", str(tx)]
    argv += ["--control", "holdout", "--window-days", "14", "-o", str(resp)]
    # every past purchase here is 10.00, so monetary is ten times frequency: refused by name
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'monetary' is a linear combination" in err, err
    argv += ["--feature-cols", "recency_days,frequency"]
    assert main([*argv, "--write-experiment", str(table)]) == 0
    assert "fitted from" in capsys.readouterr().out
    replay = ["replay", str(table), "--response", str(resp), "--conversion-col", "conversion"]
    assert main([*replay, "-r", "2", "--out", str(tmp_path / "rp")]) == 0
    arms = pd.read_csv(tmp_path / "rp" / "arms.csv")
    assert list(arms["arm"]) == ["holdout", "email"] and arms["customers"].sum() == 3000


def _assert_close(a, b, *, rtol: float) -> None:
    """Equal structure, and equal numbers up to ``rtol``."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_close(a[k], b[k], rtol=rtol)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_close(x, y, rtol=rtol)
    elif isinstance(a, float) and not isinstance(a, bool):
        assert a == pytest.approx(b, rel=rtol, abs=1e-12), (a, b)
    else:
        assert a == b
