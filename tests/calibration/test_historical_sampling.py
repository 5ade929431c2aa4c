"""The dropout split measured on a subsample of a large base (retention_sim.calibration.historical).

Above ``MEASURE_CAP`` customers, :func:`split_dropout` simulates a fixed random subsample of the
observed customers and synthetic bases sharing the cap. These tests show that the subsample is
what is simulated, that what a policy rations in absolute numbers is scaled with it, and that
the split measured on a subsample lies within its sampling error of the split measured on
every customer (with a lowered cap, to keep the test short).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from retention_sim import load_scenario
from retention_sim.calibration import historical as HI
from retention_sim.calibration.calibrate import calibrate
from retention_sim.config.policy import policy_from_dict
from retention_sim.model import simulation
from retention_sim.model.observed import DROPOUT_CAUSE, validate_history

from ..conftest import SCENARIOS

#: Seed-to-seed spread (one sd, relative) of the effective modifiers on the log below, measured
#: over six seeds (and subsamples) with the cap at 2,000 and three with every customer; the
#: tolerance is three standard errors of the difference. (On the benchmark's two-million-row log
#: the module docstring gives 1.6% and 0.5% at the real cap of 25,000.)
SPREAD = {"observed": (0.037, 0.008), "synthetic": (0.038, 0.012)}


def test_measured_bases_subsample_above_the_cap_only():
    customers = pd.DataFrame({"customer_id": np.arange(100), "v": np.arange(100.0)})
    small = HI.measured_bases(customers, 33, 100)
    assert small["observed"].history is customers and small["observed"].fraction == 1.0
    assert small["synthetic"] == HI.MeasuredBase(None, None, 1.0)
    big = HI.measured_bases(customers, 80, 30)  # three synthetic runs share the cap
    obs = big["observed"].history
    assert obs is not None and len(obs) == 30 and big["observed"].fraction == pytest.approx(0.3)
    assert obs["customer_id"].is_monotonic_increasing and obs["customer_id"].is_unique
    assert list(obs.index) == list(range(30))
    assert big["synthetic"] == HI.MeasuredBase(None, 10, 10 / 80)
    assert HI.measured_bases(customers, 34, 100)["synthetic"].size == 33
    again = HI.measured_bases(customers, 80, 30)["observed"].history
    assert again is not None and again.equals(obs)  # a fixed seed


def test_a_smaller_base_keeps_the_policys_absolute_limits_in_proportion(monkeypatch):
    """The monthly budget is scaled by the share of the base measured, and so is the desk's
    staff (as for ``customers=``)."""
    seen = []
    real = simulation.assemble

    def spy(world, policy=None, **kwargs):
        seen.append((world.pop.n_initial, world.scale, policy.monthly_budget))
        return real(world, policy, **kwargs)

    monkeypatch.setattr(simulation, "assemble", spy)
    sc = load_scenario(SCENARIOS / "default.yaml").with_overrides({"calendar.horizon_days": 5})
    policy = policy_from_dict({"name": "budgeted", "monthly_budget": 1000.0}, source="(test)")
    n = sc.population.initial_customers
    HI.measure_hazards(sc, None, policy, size=n // 10, fraction=0.1)
    assert seen == [(n // 10, pytest.approx(0.1), pytest.approx(100.0))]


@pytest.fixture(scope="module")
def large_log(tmp_path_factory):
    """8,000 customers of a Pareto/NBD log like the benchmark's two-million-row one (purchases
    11 a year, shape 0.8; dropout 30% a year, shape 1; three years), calibrated with the
    dropout in one cause; and the customers file."""
    rng = np.random.default_rng(20250617)
    n, days = 8_000, 1095
    lam = rng.gamma(0.8, 11.0 / 365.0 / 0.8, n)
    mu = rng.gamma(1.0, -math.log(0.7) / 365.0, n)
    first = rng.integers(0, days, n).astype(float)
    span = np.minimum(first + rng.exponential(1.0, n) / mu, days) - first
    repeat = rng.poisson(lam * span)
    who = np.concatenate([np.arange(n), np.repeat(np.arange(n), repeat)])
    when = np.concatenate([first, first[who[n:]] + rng.random(repeat.sum()) * span[who[n:]]])
    dates = pd.Timestamp("2022-01-01") + pd.to_timedelta(np.floor(when), unit="D")
    frame = pd.DataFrame(
        {
            "customer_id": who,
            "date": dates.strftime("%Y-%m-%d"),
            "amount": np.round(rng.gamma(6.0, 10.0, who.size), 2),
        }
    )
    path = tmp_path_factory.mktemp("log") / "log.csv"
    frame.to_csv(path, index=False)
    cal = calibrate(path, split="lifestyle")
    return cal, validate_history(cal.customers, source="(test)")


def _split(large_log, cap):
    cal, history = large_log
    data = copy.deepcopy(cal.scenario_data)
    info = HI.make_responsive(
        data,
        history,
        split="seed",
        historical=None,
        historical_label="no contact",
        dropout_cause=DROPOUT_CAUSE,
        cap=cap,
    )
    return data, info


@pytest.mark.slow
def test_a_split_measured_on_a_subsample_is_within_its_sampling_error(large_log, monkeypatch):
    cal, history = large_log
    n_obs, n_syn = len(history), int(cal.scenario_data["population"]["initial_customers"])
    cap, runs_syn = 2_000, len(HI._SEEDS["synthetic"])
    per_run = cap // runs_syn
    assert n_obs > cap and n_syn > per_run
    full_data, full = _split(large_log, n_obs + n_syn)

    runs = []
    real = HI.measure_hazards

    def spy(scenario, customers, policy, **kwargs):
        runs.append((None if customers is None else len(customers), kwargs["size"]))
        return real(scenario, customers, policy, **kwargs)

    monkeypatch.setattr(HI, "measure_hazards", spy)
    data, sub = _split(large_log, cap)
    # every measurement simulated the cap: the observed subsample, and synthetic bases sharing it
    assert sorted(set(runs), key=str) == sorted({(cap, None), (None, per_run)}, key=str)
    assert len(runs) == 2 * (1 + HI._PASSES)
    # the scenario keeps the real base
    assert data["population"]["initial_customers"] == n_syn
    assert set(data["churn"]["dropout_split"]) == set(HI.SEED_SHARES)

    for kind, key in (("observed", "modifiers"), ("synthetic", "modifiers_synthetic")):
        tol = 3.0 * math.hypot(*SPREAD[kind])
        for cause, want in full[key].items():
            got = sub[key][cause]
            assert got == pytest.approx(want, rel=tol), (kind, cause, got, want, tol)
