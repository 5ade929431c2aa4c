"""Calibrated worlds that respond to contact (retention_sim.calibration.historical).

On the CDNOW sample (calibrated to 1997-09-30), the observed customers are run for a year. The
count of observed customers who churn is compared between policies and calibrations over ten
seeds; tolerances are three standard errors of the difference, from the replications' own
spread (paired by seed where the two runs share a calibration).
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from retention_sim import simulate
from retention_sim.calibration.calibrate import calibrate
from retention_sim.calibration.historical import SEED_SHARES, parse_split
from retention_sim.cli.main import main
from retention_sim.config.policy import load_policy
from retention_sim.errors import InputError
from retention_sim.vocabulary import CAUSES

from .test_transactions import CDNOW

UNTIL = "1997-09-30"
SEEDS = range(100, 110)  # not the calibration's own measurement seeds (0-2)
WEEKLY = textwrap.dedent(
    """\
    name: weekly_email
    description: One valued e-mail a week to everyone present.
    campaigns:
      - name: weekly_news
        type: notification
        channel: email
        content: info
        cadence: {every_n_days: 7}
    """
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def weekly_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("pol") / "weekly.yaml"
    p.write_text(WEEKLY)
    return p


@pytest.fixture(scope="module")
def cals(weekly_path):
    return {
        "seed": calibrate(CDNOW, until=UNTIL),
        "lifestyle": calibrate(CDNOW, until=UNTIL, split="lifestyle"),
        "historical_weekly": calibrate(CDNOW, until=UNTIL, historical_policy=weekly_path),
    }


def _churned(cal, policy, *, cause: str | None = None, observed: bool = True) -> np.ndarray:
    """Churned customers per seed (of one cause if given): the observed customers, or the
    synthetic base the scenario draws (``observed=False``, as ``compare`` runs it)."""
    out = []
    history = cal.customers if observed else None
    for s in SEEDS:
        summary = simulate(cal.scenario, policy, seed=s, history=history).summary
        out.append(summary["churned"] if cause is None else summary["churn_by_cause"][cause])
    return np.array(out, dtype=float)


def _metered(cal, policy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per seed and cause: churned customers, the summed daily hazard of the customers present
    (the compensator, whose expectation is the expected churn), and the mean modifier."""
    from retention_sim.model.observed import validate_history
    from retention_sim.model.result import build_result
    from retention_sim.model.simulation import assemble, build_world, run_world

    h = validate_history(cal.customers)
    n, lam, mod = [], [], []
    for s in SEEDS:
        world = build_world(cal.scenario, seed=s, history=h)
        m = assemble(world, policy)
        m.churn.meter = (np.zeros(len(CAUSES)), np.zeros(len(CAUSES)))
        run_world(world, m)
        by_cause = build_result(world, desk=m.desk, contacts=m.contacts).summary["churn_by_cause"]
        n.append([by_cause.get(c, 0) for c in CAUSES])
        hazard, base = m.churn.meter
        lam.append(hazard)
        mod.append(np.divide(hazard, base, out=np.zeros_like(hazard), where=base > 0))
    return np.array(n, dtype=float), np.array(lam), np.array(mod)


def _se(a: np.ndarray, b: np.ndarray | None = None) -> float:
    """Standard error of mean(a) − mean(b) (independent) or of the mean of a (paired diff)."""
    if b is None:
        return float(a.std(ddof=1) / math.sqrt(a.size))
    return math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)


def test_the_split_keeps_the_fitted_total(cals):
    cal = cals["seed"]
    info = cal.responsive
    assert info["split"] == pytest.approx(SEED_SHARES)
    assert cal.dropout_annual == pytest.approx(cals["lifestyle"].dropout_annual, rel=1e-12)
    # no contact: the indifference clock runs, so its base is well below its share
    for key in ("modifiers", "modifiers_synthetic"):
        assert info[key]["indifference"] > 1.5, info[key]
    split = cal.scenario.churn.dropout_split
    assert split["indifference"] < SEED_SHARES["indifference"] / 1.5
    assert cal.scenario.population.last_valued_touch == "first_purchase"
    assert cal.report()["scenario"]["dropout"]["cause"] == "shared"
    # under a historical weekly e-mail the clock is reset often: a much smaller modifier
    weekly = cals["historical_weekly"].responsive["modifiers"]["indifference"]
    assert 1.0 < weekly < info["modifiers"]["indifference"]
    assert cals["historical_weekly"].scenario.population.last_valued_touch is None


def test_under_the_historical_policy_the_fitted_churn_is_reproduced(cals, weekly_path):
    """The fitted process alone (one acausal cause) against the split worlds under the policy
    each was calibrated for: the same churn, within sampling error, for the observed customers
    and for the synthetic base the scenario draws."""
    weekly = load_policy(weekly_path)
    for observed in (True, False):
        fitted = _churned(cals["lifestyle"], None, observed=observed)
        for key, policy in (("seed", None), ("historical_weekly", weekly)):
            split = _churned(cals[key], policy, observed=observed)
            z = (split.mean() - fitted.mean()) / _se(split, fitted)
            assert abs(z) < 3, (observed, key, split.mean(), fitted.mean(), z)


def test_compare_on_a_calibrated_scenario_moves_retention(cals, weekly_path):
    """The strategist's path: compare no contact with a weekly e-mail on the calibrated
    scenario (its synthetic base): the paired interval on retention excludes 0."""
    from retention_sim.study.compare import compare

    pols = {"no_contact": None, "weekly": load_policy(weekly_path)}
    c = compare(
        cals["seed"].scenario, pols, replications=10, seed=7, backend="serial", progress=False
    )
    v = c.verdict("retention_rate")
    # retention rises; the e-mail's cost makes it a trade-off against profit
    assert v.low > 0 and v.decision in ("adopt", "trade-off"), v.text
    # switched off: with all of the dropout in lifestyle the e-mail cannot raise retention
    off = compare(
        cals["lifestyle"].scenario, pols, replications=10, seed=7, backend="serial", progress=False
    )
    v_off = off.verdict("retention_rate")
    assert not v_off.low > 0 and v_off.decision not in ("adopt", "trade-off")


def test_contact_moves_churn_only_when_the_dropout_has_behavioural_causes(cals, weekly_path):
    weekly = load_policy(weekly_path)
    # seed split, calibrated under no contact: weekly e-mail keeps customers (indifference)
    n0, lam0, mod0 = _metered(cals["seed"], None)
    n1, lam1, mod1 = _metered(cals["seed"], weekly)
    diff = n0.sum(axis=1) - n1.sum(axis=1)
    assert diff.mean() / _se(diff) > 3, diff  # measured 39.7 fewer of 244.2 (paired SE 1.75)
    # its size is what the hazards imply: churn minus the summed hazard is a martingale with
    # variance the summed hazard, so the two differences agree within sampling error
    implied = lam0.sum(axis=1) - lam1.sum(axis=1)
    se = math.sqrt((lam0.sum(axis=1).mean() + lam1.sum(axis=1).mean()) / len(SEEDS))
    assert abs(diff.mean() - implied.mean()) < 3 * se, (diff.mean(), implied.mean(), se)
    # and the hazards move through the indifference clock: weekly valued touches lower its
    # mean modifier (measured 3.60 to 1.70), which carries most of the difference
    k = CAUSES.index("indifference")
    assert mod1[:, k].mean() < mod0[:, k].mean() - 1.0
    assert (lam0[:, k] - lam1[:, k]).mean() > 0.8 * implied.mean()
    # calibrated under weekly e-mail: stopping it loses customers
    diff = _churned(cals["historical_weekly"], None) - _churned(cals["historical_weekly"], weekly)
    assert diff.mean() / _se(diff) > 3, diff  # measured 54.9 more of 239.8
    # switched off: all of the dropout in lifestyle, which no contact moves (the e-mails
    # still annoy a few customers into leaving: over-contact, measured 2.5 of 243)
    one = cals["lifestyle"]
    diff = _churned(one, None, cause="lifestyle") - _churned(one, weekly, cause="lifestyle")
    assert abs(diff.mean()) <= 3 * _se(diff), diff


def test_bad_split_and_historical_policy_are_refused_before_fitting(tmp_path, capsys):
    with pytest.raises(InputError, match="unknown cause"):
        parse_split({"boredom": 1.0})
    with pytest.raises(InputError, match="non-negative"):
        parse_split("indifference=-1,lifestyle=2")
    with pytest.raises(InputError, match="CAUSE=SHARE"):
        parse_split("indifference")
    assert parse_split("indifference=3,lifestyle=1") == {"indifference": 0.75, "lifestyle": 0.25}
    bad = tmp_path / "bad.yaml"
    bad.write_text(WEEKLY.replace("every_n_days: 7", "every_n_days: -7"))
    out = tmp_path / "sc.yaml"
    for extra in (["--split", "boredom=1"], ["--historical-policy", str(bad)]):
        code = main(["calibrate", str(CDNOW), "--until", UNTIL, "-o", str(out), *extra])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert not out.exists()
    assert "bad.yaml" in err and "every_n_days" in err


def test_cli_calibrate_with_historical_policy_and_forecast_under_a_policy(
    tmp_path, weekly_path, capsys
):
    sc, cu = tmp_path / "sc.yaml", tmp_path / "cu.csv"
    argv = ["calibrate", str(CDNOW), "--until", UNTIL, "-o", str(sc), "--customers-out", str(cu)]
    assert main([*argv, "--historical-policy", str(weekly_path)]) == 0
    assert "the historical policy 'weekly_email'" in capsys.readouterr().out
    fc = ["forecast", str(sc), "--customers", str(cu), "--from", "1997-10-01", "--to", "1997-12-31"]
    assert main([*fc, "-r", "2", "--policy", str(weekly_path)]) == 0
    assert "contact: policy 'weekly_email'" in capsys.readouterr().out


def test_calibrate_takes_a_fitted_response(tmp_path, capsys):
    from retention_sim.calibration.response_fit import fit_response
    from retention_sim.config.provenance import parameter_sources

    hill = CDNOW.parent / "hillstrom.csv.gz"
    fit = fit_response(
        hill,
        rows=np.arange(0, 64000, 8),
        arm_col="treatment",
        control="No E-Mail",
        window_days=14,
        conversion_col="conversion",
        spend_col="spend",
        feature_cols=["recency", "history"],
    )
    path = fit.write(tmp_path / "response.yaml")
    cal = calibrate(CDNOW, until=UNTIL, split="lifestyle", response=path)
    assert cal.scenario.response == fit.model
    t = parameter_sources(cal.scenario)
    rows = t[t["section"] == "response"]
    assert len(rows) > 5 and (rows["kind"] == "fitted").all()
    assert rows["source"].str.contains("hillstrom.csv.gz").all()
    # a bad response file is refused in one line before anything is fitted
    bad = tmp_path / "bad.yaml"
    bad.write_text("response: {window_days: 0}\n")
    out = tmp_path / "sc.yaml"
    argv = ["calibrate", str(CDNOW), "--until", UNTIL, "-o", str(out), "--response", str(bad)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.yaml" in err and not out.exists()
