"""The pilot plan: sample size, O'Brien-Fleming boundaries, and its power checked in the model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from retention_sim import InputError
from retention_sim.cli.main import main
from retention_sim.study.pilot import obrien_fleming, plan_pilot, sample_size

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"
PAIR = [POLICIES / "no_contact.yaml", POLICIES / "daily_blast.yaml"]


def test_sample_size_is_the_normal_formula():
    # (1.96 + 0.8416)^2 * 2 / 0.25^2 = 251.2 -> 252
    assert sample_size(0.25, 2.0, alpha=0.05, power=0.8) == 252
    assert sample_size(-0.25, 2.0, alpha=0.05, power=0.8) == 252
    assert sample_size(0.0, 2.0, alpha=0.05, power=0.8) == 0


def test_obrien_fleming_constants_match_the_published_table():
    # Jennison & Turnbull (2000), Table 2.3: C_B(K, 0.05) for K = 2..5
    for looks, published in [(2, 1.977), (3, 2.004), (4, 2.024), (5, 2.040)]:
        c, r = obrien_fleming(looks)
        assert c == pytest.approx(published, abs=0.006)  # Monte Carlo error about 0.003
        assert 1.0 < r < 1.05
    assert obrien_fleming(1) == pytest.approx((1.959964, 1.0))


@pytest.mark.slow
def test_the_stated_power_holds_in_400_simulated_pilots():
    # retention over 4 weeks, no contact against a daily blast, bases of 1,500 customers: the
    # plan asks for ~555 per arm; 400 pilots of that size, each from a fresh base with a real
    # random split, reject in the effect's direction 79.5% of the time (measured)
    plan = plan_pilot(
        SCENARIOS / "default.yaml",
        PAIR,
        metric="retention",
        weeks=4,
        customers=1500,
        replications=10,
        pilots=400,
        durations=(4,),
        workers=2,
        progress=False,
    )
    rec = plan.record
    assert rec["effect"] < 0 and rec["pilots"] == 400
    assert abs(rec["empirical_power"] - 0.8) <= 0.05
    assert abs(rec["sequential_power"] - 0.8) <= 0.05 and 1 < rec["mean_looks"] <= 4
    # the size follows from the measured effect and variance
    n = sample_size(rec["effect"], rec["variance"], alpha=0.05, power=0.8)
    assert rec["customers_per_arm"] == n


def test_a_pilot_size_gives_the_smallest_detectable_effect_and_the_weeks():
    plan = plan_pilot(
        SCENARIOS / "default.yaml",
        PAIR,
        metric="retention",
        customers=1200,
        customers_per_arm=400,
        pilots=0,
        durations=(2, 4, 8),
        backend="serial",
        progress=False,
    )
    rec = plan.record
    rows = {r["weeks"]: r for r in rec["by_weeks"]}
    z = 1.959964 + 0.841621
    for r in rows.values():
        assert r["detectable_effect"] == pytest.approx(z * math.sqrt(r["variance"] / 400), rel=1e-4)
    # the chosen length is the shortest whose required size fits 400 per arm
    fits = [w for w, r in sorted(rows.items()) if 0 < r["customers_per_arm"] <= 400]
    assert rec["weeks"] == (fits[0] if fits else 8)
    assert "by pilot length" in plan.text


def test_bad_pilot_arguments():
    with pytest.raises(InputError, match="two policies"):
        plan_pilot(SCENARIOS / "default.yaml", PAIR[:1], pilots=0, progress=False)
    with pytest.raises(InputError, match="metric"):
        plan_pilot(SCENARIOS / "default.yaml", PAIR, metric="happiness", pilots=0)
    with pytest.raises(InputError, match="power"):
        plan_pilot(SCENARIOS / "default.yaml", PAIR, power=1.2, pilots=0)


def test_cli_pilot_writes_pilot_json(tmp_path, capsys):
    argv = ["pilot", str(SCENARIOS / "default.yaml"), "-p", str(PAIR[0]), "-p", str(PAIR[1])]
    argv += ["--metric", "conversion", "--weeks", "2", "--customers", "400", "--pilots", "4"]
    argv += ["--backend", "serial", "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    rec = json.loads((tmp_path / "pilot.json").read_text())
    for key in ("customers_per_arm", "weeks", "power", "alpha", "effect", "empirical_power"):
        assert key in rec
    assert rec["weeks"] == 2 and "Pilot of daily_blast" in capsys.readouterr().out
    assert np.isfinite(rec["stopping_rule"]["boundaries"]).all()


@pytest.mark.parametrize("tail", [["--power", "2"], ["--metric", "nope"], ["-p", "x.yaml"]])
def test_cli_pilot_bad_input_is_one_line_and_exit_2(tail, capsys):
    argv = ["pilot", str(SCENARIOS / "default.yaml"), "-p", str(PAIR[0]), "--pilots", "0"]
    try:
        code = main(argv + ["--no-progress", *tail])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_zero_simulated_effect_says_no_pilot_can_detect_it():
    """Two policies that leave retention identical (the same policy twice, common random
    numbers): no size to give, said in words instead of a traceback."""
    bau = POLICIES / "bau_default.yaml"
    from retention_sim.config.policy import load_policy

    again = load_policy(bau).with_overrides({}, name="bau_again")
    plan = plan_pilot(
        SCENARIOS / "default.yaml",
        [bau, again],
        metric="retention",
        weeks=2,
        customers=300,
        pilots=0,
        backend="serial",
        progress=False,
    )
    assert plan.record["effect"] == 0 and plan.record["customers_per_arm"] == 0
    assert "the simulated effect is zero: no pilot of any size" in plan.text
