"""forecast(): the simulator run forward from the observed customers.

On CDNOW (calibrate on weeks 1–39, forecast weeks 40–78) the numbers asserted here are the
ones measured, with a margin; they are quoted in docs/model.md. The BG/NBD under-forecasts
the holdout of this log by about 12% (a property of the model on this data, published fits
reproduced exactly; nothing here is tuned to it), and by about 4–5% on the cumulative count
from week 1 to week 78.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from retention_sim import simulate
from retention_sim.calibration.calibrate import calibrate
from retention_sim.calibration.forecast import forecast, holdout_comparison
from retention_sim.calibration.transactions import holdout_counts, read_transactions
from retention_sim.cli.main import main
from retention_sim.errors import InputError

from .test_calibrate import known_scenario
from .test_transactions import CDNOW

UNTIL, FROM, TO = "1997-09-30", "1997-10-01", "1998-06-30"


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    out = tmp_path_factory.mktemp("fc")
    cal = calibrate(CDNOW, until=UNTIL, scenario_out=out / "sc.yaml", customers_out=out / "cu.csv")
    fc = forecast(out / "sc.yaml", out / "cu.csv", start=FROM, end=TO, replications=10, seed=0)
    log = read_transactions(CDNOW, until=UNTIL)
    actual = holdout_counts(log, pd.Index(fc.customers["customer_id"]))
    return cal, fc, actual, out


def test_cdnow_holdout_forecast_error_and_correlation(cdnow):
    cal, fc, actual, _ = cdnow
    log = read_transactions(CDNOW, until=UNTIL)
    cmp, weekly = holdout_comparison(fc, log)
    assert cmp["actual"] == 1882 == actual.sum()
    assert cmp["repeat_purchases_before"] == 2457 == cal.histories["frequency"].sum()
    assert -0.16 < cmp["error_model"] < -0.08, cmp  # measured -12.1%
    assert -0.17 < cmp["error_simulated"] < -0.07, cmp  # measured about -12%
    # cumulative repeat purchases from week 1 to week 78: calibration actual + forecast
    assert abs(cmp["cumulative_error_model"]) < 0.07, cmp  # measured -5.3%
    assert abs(cmp["cumulative_error_simulated"]) < 0.07, cmp
    # per-customer forecasts track what each customer did
    assert cmp["correlation_model"] > 0.6, cmp  # measured 0.626
    assert cmp["correlation_simulated"] > 0.5, cmp  # measured 0.58 with 10 replications
    assert weekly["cumulative_actual"].iloc[-1] == 1882


def test_the_simulator_reproduces_the_model_expectation(cdnow):
    """The engine, started from the posterior draws, gives the closed-form expectation."""
    _, fc, _, _ = cdnow
    s = fc.summary
    se = s["purchases_sd"] / math.sqrt(s["replications"])
    assert abs(s["purchases_mean"] - s["purchases_model"]) < 4 * se
    w = fc.weekly
    assert len(w) == 39 and (w["days"] == 7).all()
    assert (w["purchases_lower"] <= w["purchases_upper"]).all()
    assert w["cumulative_mean"].iloc[-1] == pytest.approx(s["purchases_mean"])
    assert w["cumulative_model"].iloc[-1] == pytest.approx(s["purchases_model"], rel=1e-9)
    # besides the fitted model only the split of its dropout among causes (whose bases are set
    # so that under no contact, the historical policy here, the fitted process is reproduced)
    assert len(s["mechanisms_on"]) == 1 and "shared among causes" in s["mechanisms_on"][0]


def test_forecast_is_reproducible_and_validates_dates(cdnow):
    _, fc, _, out = cdnow
    again = forecast(
        out / "sc.yaml", out / "cu.csv", start=FROM, end="1997-10-31", seed=0, replications=2
    )
    once = forecast(
        out / "sc.yaml", out / "cu.csv", start=FROM, end="1997-10-31", seed=0, replications=2
    )
    pd.testing.assert_frame_equal(again.customers, once.customers)
    with pytest.raises(InputError, match="must be after"):
        forecast(out / "sc.yaml", out / "cu.csv", start=UNTIL, end=TO)
    with pytest.raises(InputError, match="before --from"):
        forecast(out / "sc.yaml", out / "cu.csv", start=TO, end=FROM)


def test_cli_forecast_writes_its_files(cdnow, tmp_path, capsys):
    _, _, _, out = cdnow
    dest = tmp_path / "forecast.csv"
    argv = ["forecast", str(out / "sc.yaml"), "--customers", str(out / "cu.csv")]
    code = main([*argv, "--from", "1997-11-01", "--to", "1997-12-31", "-r", "2", "-o", str(dest)])
    assert code == 0
    assert "purchases: simulated" in capsys.readouterr().out
    per = pd.read_csv(dest)
    assert len(per) == 2357 and "expected_purchases" in per.columns
    weekly = pd.read_csv(tmp_path / "forecast_weekly.csv")
    assert weekly["days"].sum() == 61 and weekly["week_start"].iloc[0] == "1997-11-01"
    assert (tmp_path / "forecast_summary.json").exists()
    code = main([*argv, "--from", "1997-01-01", "--to", "1997-12-31"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must be after" in err


@pytest.mark.slow
def test_forecast_lands_on_a_log_the_model_describes(tmp_path):
    """When the log really is a Pareto/NBD (simulated by the engine), calibrating on year one
    and forecasting year two lands within sampling error of what happened."""
    log_frame = simulate(known_scenario(days=730, arrivals_per_day=8), seed=8).transactions
    path = tmp_path / "log.csv"
    log_frame.to_csv(path, index=False)
    cal = calibrate(
        path,
        until="2024-12-30",
        time_unit="day",
        model="pareto_nbd",
        scenario_out=tmp_path / "sc.yaml",
        customers_out=tmp_path / "cu.csv",
    )
    # only the customers acquired by the end of year one are forecast
    fc = forecast(
        tmp_path / "sc.yaml",
        tmp_path / "cu.csv",
        start="2024-12-31",
        end="2025-12-30",
        replications=4,
    )
    cmp, _ = holdout_comparison(fc, read_transactions(path, until="2024-12-30"))
    assert cal.fits["pareto_nbd"].converged
    assert abs(cmp["error_model"]) < 0.06, cmp  # measured +1.3%
    assert abs(cmp["error_simulated"]) < 0.06, cmp  # measured +1.9%
    assert cmp["correlation_model"] > 0.5, cmp  # measured 0.70
