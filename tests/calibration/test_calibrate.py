"""calibrate(): parameters recovered from an engine-simulated log, the scenario mapping, the
customers file as the starting population, and calibrate → run → compare end to end."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from retention_sim import load_scenario, scenario_from_dict, simulate
from retention_sim.calibration.calibrate import calibrate
from retention_sim.calibration.fitted_scenario import gamma_moments_of_product
from retention_sim.cli.main import main
from retention_sim.errors import InputError
from retention_sim.model.observed import load_history
from retention_sim.model.simulation import build_world

from ..conftest import ROOT, all_causes_off
from .test_transactions import CDNOW

# the truth behind the simulated log (per day): Pareto/NBD purchases and dropout, gamma-gamma
RATE_MEAN_PER_YEAR, RATE_SHAPE = 6.0, 0.8
DROPOUT_ANNUAL, DROPOUT_SHAPE = 0.3, 1.0
SPEND_MEAN, SPEND_P, SPEND_Q = 100.0, 6.0, 4.0


def known_scenario(days: int = 730, arrivals_per_day: float = 10.0):
    """New customers arrive every day (their first purchase is in the log), buy as a Poisson
    process with gamma heterogeneity and leave with a gamma-heterogeneous exponential hazard:
    exactly a Pareto/NBD, with gamma-gamma spend. Every other mechanism is neutral."""
    churn = all_causes_off()
    churn["causes"]["lifestyle"] = {"annual_probability": DROPOUT_ANNUAL, "frailty": True}
    return scenario_from_dict(
        {
            "name": "known",
            "calendar": {"start": "2024-01-01", "horizon_days": days},
            "population": {
                "initial_customers": 0,
                "arrivals_per_day": arrivals_per_day,
                "tenure": {"mean_years": 0},
                "segments": {
                    "all": {
                        "share": 1.0,
                        "purchase_rate_per_year": {"mean": RATE_MEAN_PER_YEAR, "shape": RATE_SHAPE},
                        "spend": {"mean_per_purchase": SPEND_MEAN, "p": SPEND_P, "q": SPEND_Q},
                        "frailty_shape": DROPOUT_SHAPE,
                    }
                },
            },
            "churn": churn,
            "social": {"mean_ties": 0},
            "loyalty": {"enabled": False},
            "satisfaction": {"purchase_sensitivity": 0, "spread": 0},
            "service": {"agents": 1, "product_issue_rate_per_year": 0, "inquiry_rate_per_year": 0},
        },
        source="(test)",
    )


def truth_per_day() -> dict[str, float]:
    h = -math.log1p(-DROPOUT_ANNUAL) / 365.0
    return {
        "r": RATE_SHAPE,
        "alpha": RATE_SHAPE / (RATE_MEAN_PER_YEAR / 365.0),
        "s": DROPOUT_SHAPE,
        "beta": DROPOUT_SHAPE / h,
    }


@pytest.fixture(scope="module")
def known_log(tmp_path_factory):
    tx = simulate(known_scenario(), seed=5).transactions
    path = tmp_path_factory.mktemp("known") / "known.csv"
    tx.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cdnow_cal(tmp_path_factory):
    out = tmp_path_factory.mktemp("cdnow")
    cal = calibrate(
        CDNOW,
        until="1997-09-30",
        scenario_out=out / "scenario.yaml",
        customers_out=out / "customers.csv",
    )
    return cal, out


# ----------------------------------------------------------------------------- recovery
def test_calibrate_recovers_the_parameters_of_a_simulated_log(known_log):
    cal = calibrate(known_log, time_unit="day")
    assert cal.selected == "pareto_nbd"  # the true model fits better
    pn = cal.fits["pareto_nbd"]
    z = pn.z_scores(truth_per_day())
    assert all(abs(v) < 4 for v in z.values()), (pn.params, pn.se, z)
    gg = cal.fits["gamma_gamma"]
    gamma = SPEND_MEAN * (SPEND_Q - 1) / SPEND_P
    z = gg.z_scores({"p": SPEND_P, "q": SPEND_Q, "gamma": gamma})
    assert all(abs(v) < 4 for v in z.values()), (gg.params, gg.se, z)


def test_the_scenario_carries_the_fit(known_log):
    # split="lifestyle": all of the fitted dropout in one cause, the fitted model alone
    cal = calibrate(known_log, time_unit="week", model="pareto_nbd", split="lifestyle")
    p = cal.fits["pareto_nbd"].params
    seg = cal.scenario.population.segments["calibrated"]
    assert seg.purchase_rate_per_year.mean == pytest.approx(p["r"] / p["alpha"] * 365 / 7, 1e-5)
    assert seg.purchase_rate_per_year.shape == pytest.approx(p["r"], 1e-5)
    assert seg.frailty_shape == pytest.approx(p["s"], 1e-5)
    lifestyle = cal.scenario.churn.causes.lifestyle
    assert lifestyle.frailty
    hazard = p["s"] / (p["beta"] * 7)
    assert lifestyle.annual_probability == pytest.approx(-math.expm1(-365 * hazard), 1e-5)
    g = cal.fits["gamma_gamma"].params
    assert seg.spend.mean_per_purchase == pytest.approx(g["p"] * g["gamma"] / (g["q"] - 1), 1e-5)
    # and, up to sampling error, the truth the log was simulated from
    assert seg.purchase_rate_per_year.mean == pytest.approx(RATE_MEAN_PER_YEAR, rel=0.1)
    assert lifestyle.annual_probability == pytest.approx(DROPOUT_ANNUAL, abs=0.12)
    assert seg.spend.mean_per_purchase == pytest.approx(SPEND_MEAN, rel=0.1)
    # nothing else churns or modifies purchases
    causes = cal.scenario.churn.causes
    for name in ("death", "relocation", "friends", "competitor", "dissatisfaction"):
        assert getattr(causes, name).annual_probability == 0
    assert cal.scenario.population.arrivals_per_day == 0 and not cal.scenario.loyalty.enabled


def test_the_scenario_carries_each_fits_interval_and_robustness_varies_it(known_log):
    """calibrate writes a 95% interval beside every fitted purchase, dropout and spend field;
    those intervals hold the truth the log was simulated from, and they are the ranges
    robustness draws worlds from (the dropout level as churn.hazard_scale, whatever the split)."""
    from retention_sim.config.provenance import parameter_sources
    from retention_sim.study.uncertainty import default_uncertainty

    cal = calibrate(known_log, time_unit="week", model="pareto_nbd", split="seed")
    prov = cal.scenario.provenance
    seg = "population.segments.calibrated"
    truth = {
        f"{seg}.purchase_rate_per_year.mean": RATE_MEAN_PER_YEAR,
        f"{seg}.purchase_rate_per_year.shape": RATE_SHAPE,
        f"{seg}.frailty_shape": DROPOUT_SHAPE,
        f"{seg}.spend.p": SPEND_P,
        f"{seg}.spend.q": SPEND_Q,
        f"{seg}.spend.mean_per_purchase": SPEND_MEAN,
    }
    data = cal.scenario.model_dump(mode="json")
    for key, true in truth.items():
        lo, hi = prov[key].interval
        node = data
        for k in key.split("."):
            node = node[k]
        assert lo < node < hi and lo < true < hi, (key, lo, node, true, hi)
    # the dropout level relative to the fit, around 1, holding the true hazard's ratio
    lo, hi = prov["churn.hazard_scale"].interval
    p = cal.fits["pareto_nbd"].params
    fitted_hazard = p["s"] / (p["beta"] * 7)
    true_hazard = -math.log1p(-DROPOUT_ANNUAL) / 365
    assert lo < 1 < hi and lo < true_hazard / fitted_hazard < hi
    u = default_uncertainty(cal.scenario)
    for key in [*truth, "churn.hazard_scale"]:
        assert u[key] == pytest.approx(prov[key].interval), key
    # and the assumptions table shows them beside the values
    shown = parameter_sources(cal.scenario).set_index("parameter")["source"]
    assert "95% interval [" in shown["segments.calibrated.purchase_rate_per_year.mean"]


def test_bgnbd_dropout_is_moment_matched():
    rng = np.random.default_rng(1)
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    mu = rng.gamma(r, 1 / alpha, 2_000_000) * rng.beta(a, b, 2_000_000)
    mean, shape = gamma_moments_of_product(r, alpha, a, b)
    assert mean == pytest.approx(mu.mean(), rel=0.01)
    assert shape == pytest.approx(mu.mean() ** 2 / mu.var(), rel=0.05)


# ----------------------------------------------------------------------------- files
def test_cdnow_calibration_report_and_files(cdnow_cal):
    cal, out = cdnow_cal
    # the message costs a log cannot tell are the VND defaults: the notes say so
    assert any("set for a retailer in VND" in n and "email 50" in n for n in cal.notes)
    rep = cal.report()
    assert rep["selected"] == "bgnbd"  # higher log-likelihood on CDNOW, as published
    assert set(rep["models"]) == {"bgnbd", "pareto_nbd", "gamma_gamma"}
    for m in rep["models"].values():
        assert m["converged"] and all(np.isfinite(v) for v in m["se"].values())
    assert sum(rep["rfm_segments"].values()) == 2357
    sc = load_scenario(out / "scenario.yaml")
    assert sc == cal.scenario
    h = load_history(out / "customers.csv")
    assert len(h) == 2357 and h["as_of"].iloc[0] == pd.Timestamp("1997-09-30")
    assert {"rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_segment"} <= set(h.columns)
    text = cal.describe()
    assert "BG/NBD" in text and "Pareto/NBD" in text and "<- selected" in text


def test_observed_customers_become_the_starting_base(cdnow_cal):
    cal, out = cdnow_cal
    h = load_history(out / "customers.csv")
    sc = load_scenario(out / "scenario.yaml")
    n_alive = []
    for seed in range(6):
        world = build_world(sc, seed=seed, days=30, history=h)
        pop = world.pop
        n0 = pop.n_initial
        n_alive.append(n0)
        rows = pop.extra["observed_rows"]
        assert rows.size == n0 and world.present[:n0].all()
        first = pd.Timestamp("1997-10-01") + pd.to_timedelta(pop.acquired_day[:n0], unit="D")
        assert (first.to_numpy() == h["first_purchase"].to_numpy()[rows]).all()
        assert (pop.n_purchases[:n0] == h["n_purchases"].to_numpy()[rows]).all()
        assert (pop.last_purchase_day[:n0] <= 0).all()
    # customers are drawn alive with their posterior probability
    p = h["p_alive"].to_numpy()
    se = math.sqrt(float((p * (1 - p)).sum()) / len(n_alive))
    assert abs(np.mean(n_alive) - p.sum()) < 4 * se
    # the same seed gives the same customers (common random numbers)
    a = build_world(sc, seed=3, days=30, history=h).pop
    b = build_world(sc, seed=3, days=30, history=h).pop
    assert np.array_equal(a.purchase_rate, b.purchase_rate)


def test_simulate_with_history(cdnow_cal):
    cal, out = cdnow_cal
    sc = load_scenario(out / "scenario.yaml")
    r = simulate(sc, seed=1, days=60, history=out / "customers.csv")
    ids = r.extras["observed_customer_id"]
    assert r.summary["customers_start"] == ids.size and ids.size < 2357
    with pytest.raises(ValueError, match="exclusive"):
        simulate(sc, customers=10, history=out / "customers.csv")
    late = sc.with_overrides({"calendar.start": "1998-01-01"})
    with pytest.raises(InputError, match="calendar.start"):
        simulate(late, history=out / "customers.csv")


def test_bad_customers_file(tmp_path, cdnow_cal):
    _, out = cdnow_cal
    h = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    h.drop(columns=["p_alive"]).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(InputError, match="missing column.*p_alive"):
        load_history(tmp_path / "c.csv")
    h.assign(p_alive=1.5).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(InputError, match="'p_alive'.*row"):
        load_history(tmp_path / "d.csv")


def test_too_little_data(tmp_path):
    p = tmp_path / "tiny.csv"
    p.write_text("customer_id,date,amount\na,2024-01-01,1\nb,2024-01-02,1\n")
    with pytest.raises(InputError, match="too little data"):
        calibrate(p)


# ----------------------------------------------------------------------------- end to end
def test_cli_calibrate_run_compare_end_to_end(tmp_path, capsys):
    sc, cu, rep = tmp_path / "sc.yaml", tmp_path / "cu.csv", tmp_path / "rep.json"
    argv = ["calibrate", str(CDNOW), "--until", "1997-09-30", "--time-unit", "week"]
    assert main([*argv, "-o", str(sc), "--customers-out", str(cu), "--report", str(rep)]) == 0
    printed = capsys.readouterr().out
    assert "<- selected" in printed and "wrote" in printed
    assert sc.exists() and cu.exists() and rep.exists()
    assert main(["run", str(sc), "--days", "60", "--seed", "1", "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "summary.json").exists()
    policy = ROOT / "params" / "policies" / "bau_default.yaml"
    code = main(
        [
            "compare",
            str(sc),
            "-p",
            "none",
            "-p",
            str(policy),
            "-r",
            "2",
            "--customers",
            "300",
            "--days",
            "60",
            "--backend",
            "serial",
            "--no-progress",
        ]
    )
    assert code == 0
    assert "Verdict" in capsys.readouterr().out
