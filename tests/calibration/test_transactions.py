"""Transaction logs: validation errors name the file, column and lines; histories are right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention_sim.calibration.transactions import (
    customer_histories,
    holdout_counts,
    read_transactions,
)
from retention_sim.cli.main import main
from retention_sim.errors import InputError

CDNOW = Path(__file__).resolve().parents[2] / "retention_sim" / "data" / "cdnow_sample.csv"


def _write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = "customer_id,date,amount\na,2024-01-01,10\na,2024-01-15,5\nb,2024-01-03,7\n"


# ----------------------------------------------------------------------------- bad logs
@pytest.mark.parametrize(
    "text,kwargs,expect",
    [
        ("", {}, ["empty"]),
        ("customer_id,date,amount\n", {}, ["header but no purchase rows"]),
        (
            "cust,date,amount\na,2024-01-01,1\n",
            {},
            ["missing customer column 'customer_id'", "--customer-col", "'cust'"],
        ),
        (
            "customer_id,Date,amount\na,2024-01-01,1\n",
            {},
            ["missing date column 'date'", "did you mean 'Date'"],
        ),
        (
            "customer_id,date,value\na,2024-01-01,1\n",
            {"amount_col": "amount"},
            ["missing amount column", "--amount-col"],
        ),
        (
            "customer_id,date,amount\na,2024-01-01,1\nb,2024-13-01,2\nc,yesterday,3\n",
            {},
            ["column 'date'", "2 value(s) are not dates", "lines 3, 4", "'2024-13-01'"],
        ),
        (
            "customer_id,date,amount\na,01/02/2024,1\n",
            {},
            ["not dates", "line 2"],
        ),
        (
            "customer_id,date,amount\na,2024-01-01,1\nb,2024-01-02,-3.5\n",
            {},
            ["negative amount", "line 3", "'-3.5'", "returns"],
        ),
        (
            "customer_id,date,amount\na,2024-01-01,ten\nb,2024-01-02,\n",
            {},
            ["column 'amount'", "not numbers", "lines 2, 3"],
        ),
        (
            "customer_id,date,amount\n,2024-01-01,1\n",
            {},
            ["blank customer id", "line 2"],
        ),
        (GOOD, {"until": "2023-12-31"}, ["--until 2023-12-31 is outside the data", "2024-01-15"]),
        (GOOD, {"until": "2024-02-01"}, ["outside the data"]),
        (GOOD, {"until": "soon"}, ["--until 'soon' is not a date"]),
    ],
)
def test_bad_logs_raise_one_clear_error(tmp_path, text, kwargs, expect):
    p = _write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        read_transactions(p, **kwargs)
    msg = str(exc.value)
    assert "\n" not in msg
    for piece in expect:
        assert piece in msg, msg
    if "not a date" not in msg:
        assert str(p) in msg


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_transactions(tmp_path / "nope.csv")


def test_cli_bad_log_exits_2_with_one_line(tmp_path, capsys):
    p = _write(tmp_path, "customer_id,date,amount\na,2024-01-01,1\nb,2024-99-01,2\n")
    code = main(["calibrate", str(p), "-o", str(tmp_path / "s.yaml")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 3" in err and "Traceback" not in err
    assert not (tmp_path / "s.yaml").exists()


def test_cli_until_outside_data_exits_2(tmp_path, capsys):
    p = _write(tmp_path, GOOD)
    code = main(["calibrate", str(p), "--until", "2030-01-01", "-o", str(tmp_path / "s.yaml")])
    assert code == 2
    assert "outside the data" in capsys.readouterr().err


# ----------------------------------------------------------------------------- handling
def test_same_day_purchases_merge_and_duplicates_are_counted(tmp_path):
    text = (
        "customer_id,date,amount\n"
        "a,2024-01-01,10\n"
        "a,2024-01-01,10\n"  # exact duplicate
        "a,2024-01-01 18:30,5\n"  # same day, later time
        "a,2024-01-08,4\n"
        "\n"  # blank lines are ignored
        "b,2024-01-02,3\n"
    )
    p = _write(tmp_path, text)
    kept = read_transactions(p)
    assert kept.duplicate_rows == 1 and kept.same_day_merged == 2 and kept.rows_read == 5
    a = kept.transactions[kept.transactions["customer_id"] == "a"]
    assert a["amount"].tolist() == [25.0, 4.0]
    dropped = read_transactions(p, duplicates="drop")
    a = dropped.transactions[dropped.transactions["customer_id"] == "a"]
    assert a["amount"].tolist() == [15.0, 4.0]


def test_compact_dates_custom_format_and_custom_columns(tmp_path):
    p = _write(tmp_path, "who;when;paid\n007;19970101;1.5\n007;19970201;2\n")
    log = read_transactions(p, customer_col="who", date_col="when", amount_col="paid", sep=";")
    assert log.transactions["customer_id"].tolist() == ["007", "007"]  # leading zeros kept
    assert log.first_date == pd.Timestamp("1997-01-01")
    q = _write(tmp_path, "customer_id,date,amount\nx,02/03/2024,1\n", "b.csv")
    log = read_transactions(q, date_format="%d/%m/%Y")
    assert log.first_date == pd.Timestamp("2024-03-02")


def test_until_splits_calibration_and_holdout(tmp_path):
    log = read_transactions(_write(tmp_path, GOOD), until="2024-01-10")
    assert len(log.transactions) == 2 and len(log.holdout) == 1
    h = customer_histories(log, time_unit="day")
    assert h.loc["a", "T"] == 9 and h.loc["a", "frequency"] == 0
    assert holdout_counts(log, h.index).to_dict() == {"a": 1, "b": 0}


def test_cdnow_histories_match_the_published_summary():
    """Fader & Hardie's CDNOW summary: x, t_x, T (weeks) and the mean repeat spend."""
    log = read_transactions(CDNOW, until="1997-09-30")
    assert log.n_customers == 2357 and log.rows_read == 6919
    assert log.duplicate_rows == 21 and log.same_day_merged == 223
    h = customer_histories(log, time_unit="week")
    assert list(h.index[:3]) == ["1", "2", "3"]  # numeric ids in numeric order
    # published rows (ID, x, t_x, T, zbar): 1 2 30.43 38.86 22.35 / 2 1 1.71 38.86 11.77
    np.testing.assert_allclose(
        h.loc[["1", "2"], ["frequency", "recency", "T", "monetary_value"]].to_numpy(),
        [[2, 30.43, 38.86, 22.35], [1, 1.71, 38.86, 11.77]],
        atol=0.006,
    )
    assert int(h["frequency"].sum()) == 2457
    assert int(holdout_counts(log, h.index).sum()) == 1882


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_semicolon_tab_and_pipe_separated_exports_read_like_commas(tmp_path, sep):
    """A European spreadsheet's semicolons, a TSV, a pipe export: the separator comes from the
    header line, and the log is the same as the comma-separated one."""
    frame = pd.read_csv(CDNOW)
    path = tmp_path / "log.txt"
    frame.to_csv(path, sep=sep, index=False)
    got, want = read_transactions(path), read_transactions(CDNOW)
    pd.testing.assert_frame_equal(got.transactions, want.transactions)
    assert got.rows_read == want.rows_read


def test_decimal_commas_are_named_as_such(tmp_path):
    frame = pd.read_csv(CDNOW).head(50)
    frame["amount"] = frame["amount"].map(lambda v: f"{v:.2f}".replace(".", ","))
    path = tmp_path / "log.csv"
    frame.to_csv(path, sep=";", index=False)
    with pytest.raises(InputError, match="look like decimal commas"):
        read_transactions(path)


def test_a_bad_date_format_and_a_folder_are_refused_in_one_line(tmp_path, capsys):
    assert (
        main(["calibrate", str(CDNOW), "--date-format", "%Q", "-o", str(tmp_path / "s.yaml")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1  # the rest of the line is the date parser's own words
    assert err[0].startswith("retention-sim: error: --date-format '%Q' is not a date format: ")
    assert main(["calibrate", str(tmp_path), "-o", str(tmp_path / "s.yaml")]) == 2
    assert "is a folder, not a file" in capsys.readouterr().err
    assert not (tmp_path / "s.yaml").exists()


# ----------------------------------------------------------------------------- outliers
def _log_frame(n: int = 3000, seed: int = 0, sigma: float = 0.8) -> pd.DataFrame:
    """A plausible log: purchases spread over 1997-1998, lognormal amounts."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("1997-01-01") + pd.to_timedelta(rng.integers(0, 546, n), unit="D")
    return pd.DataFrame(
        {
            "customer_id": rng.integers(1, n // 3, n).astype(str),
            "date": days.strftime("%Y-%m-%d"),
            "amount": np.round(rng.lognormal(np.log(30.0), sigma, n), 2),
        }
    )


@pytest.mark.parametrize("typo", ["1900-01-01", "2100-01-01", "1979-03-02"])
def test_a_far_typo_date_is_refused_naming_its_line_and_the_override(tmp_path, typo):
    frame = _log_frame()
    frame.loc[41, "date"] = typo  # line 43: line 1 is the header
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as exc:
        read_transactions(path)
    msg = str(exc.value)
    for piece in (str(path), "column 'date'", "1 date(s) far outside", "line 43", repr(typo)):
        assert piece in msg, msg
    assert "--allow-far-dates" in msg and "\n" not in msg
    log = read_transactions(path, allow_far_dates=True)
    assert typo in (log.first_date.date().isoformat(), log.last_date.date().isoformat())


def test_far_dates_are_judged_against_the_bulk_of_the_log_not_its_ends(tmp_path):
    """The percentiles ignore the typos themselves: two on each side, both named; a date a
    few months past a 1.5-year log is not a typo."""
    frame = _log_frame()
    frame.loc[[5, 6], "date"] = "1900-01-01"
    frame.loc[[7, 8], "date"] = "2100-01-01"
    frame.loc[9, "date"] = "1999-03-01"  # eight months after the rest: kept
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"4 date\(s\) far outside .* lines 7, 8, 9, 10:"):
        read_transactions(path)
    frame.loc[[5, 6, 7, 8], "date"] = "1998-01-01"
    frame.to_csv(path, index=False)
    assert read_transactions(path).last_date == pd.Timestamp("1999-03-01")


@pytest.mark.parametrize("value", ["1e300", "2e15", "99999999999"])
def test_an_absurd_amount_is_refused_naming_its_line_and_the_override(tmp_path, value):
    frame = _log_frame()
    frame["amount"] = frame["amount"].astype(str)
    frame.loc[99, "amount"] = value  # line 101
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as exc:
        read_transactions(path)
    msg = str(exc.value)
    for piece in (str(path), "column 'amount'", "implausibly large", "line 101", repr(value)):
        assert piece in msg, msg
    assert "1,000,000 times" in msg and "--allow-large-amounts" in msg and "\n" not in msg
    log = read_transactions(path, allow_large_amounts=True)
    assert log.transactions["amount"].max() >= float(value)


def test_above_1e15_is_refused_whatever_the_median_and_zeros_do_not_count(tmp_path):
    frame = _log_frame(n=500)
    frame["amount"] = frame["amount"] * 1e12  # a median of 3e13: 1e6 times would be 3e19
    frame.loc[3, "amount"] = 2e15
    frame.to_csv(tmp_path / "big.csv", index=False)
    with pytest.raises(InputError, match=r"implausibly large on line 5: .*above 1e15"):
        read_transactions(tmp_path / "big.csv")
    free = _log_frame(n=500)
    free.loc[:399, "amount"] = 0.0  # mostly free orders: the median is of the positive amounts
    free.loc[400, "amount"] = 3000.0
    free.to_csv(tmp_path / "free.csv", index=False)
    assert read_transactions(tmp_path / "free.csv").transactions["amount"].max() >= 3000.0


def test_a_realistic_log_with_long_tails_passes(tmp_path):
    """100,000 rows with lognormal amounts, sigma 1.5 (the chance of a false alarm for such a
    log is P(Z > 9.2) per row, 1.6e-15 in all; see the module docstring), and dates from a
    trade that grew a thousandfold over the period."""
    rng = np.random.default_rng(7)
    n, span = 100_000, 730
    growth = np.log(1000.0) / span
    day = np.floor(np.log1p(rng.random(n) * np.expm1(growth * span)) / growth).astype(int)
    frame = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 20_000, n).astype(str),
            "date": (pd.Timestamp("2023-01-01") + pd.to_timedelta(day, unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "amount": np.round(rng.lognormal(np.log(25.0), 1.5, n), 2),
        }
    )
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    log = read_transactions(path)
    amounts = frame["amount"]
    assert log.rows_read == n and amounts.max() > 300 * amounts.median()  # a long tail indeed


def test_an_engine_log_of_two_years_passes(tmp_path):
    from retention_sim import load_scenario, simulate

    sc = load_scenario(Path(__file__).resolve().parents[2] / "params/scenarios/default.yaml")
    tx = simulate(sc, seed=2, customers=400, days=730).transactions
    tx.to_csv(tmp_path / "tx.csv", index=False)
    log = read_transactions(tmp_path / "tx.csv")
    assert log.rows_read == len(tx) and (log.last_date - log.first_date).days > 700
