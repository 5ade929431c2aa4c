"""Replaying a randomised campaign in the simulator: the engine applies a fitted response for
exactly its window, a fit on one half of Hillstrom predicts the other half through the
simulator, and experiments drawn by the simulator give back the truth they were drawn from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from retention_sim.calibration.experiment import read_experiment
from retention_sim.calibration.replay import replay, simulate_experiment
from retention_sim.calibration.response_fit import fit_response, predict
from retention_sim.cli import main
from retention_sim.config.response import ResponseModel

from ..conftest import ROOT

HILLSTROM = ROOT / "retention_sim" / "data" / "hillstrom.csv.gz"
FEATURES = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]
EFFECTS = ["recency", "history", "mens", "womens", "newbie"]


@pytest.fixture(scope="module")
def hillstrom():
    return read_experiment(
        HILLSTROM,
        arm_col="treatment",
        control="No E-Mail",
        window_days=14,
        conversion_col="conversion",
        spend_col="spend",
        visit_col="visit",
        feature_cols=FEATURES,
        effect_cols=EFFECTS,
    )


@pytest.fixture(scope="module")
def quarter(hillstrom):
    rows = np.arange(0, 64000, 4)
    return rows, fit_response(hillstrom, rows=rows)


def test_each_customers_simulated_probability_is_the_fitted_one(hillstrom, quarter):
    """The engine adds the fitted effect to the purchase hazard for exactly the window's W
    draws: each customer's probability of buying in the window, read from the simulator's own
    daily probabilities, equals the model's under every arm (a window a day short or long, or
    an effect applied on open only, would not)."""
    rows, fit = quarter
    sample = rows[:3000]
    r = replay(hillstrom, fit.model, rows=sample, replications=2, seed=3)
    frame = hillstrom.frame.iloc[sample]
    for arm in hillstrom.arms:
        got = r.customers[r.customers["arm"] == arm]
        assert (got["row"].to_numpy() == sample).all()
        want = predict(fit.model, frame, arm)
        np.testing.assert_allclose(
            got["conversion_probability"], want.conversion, rtol=1e-9, atol=1e-15
        )
        # visits too: the agent's visit hazard and the message's visit effect (model.visits)
        np.testing.assert_allclose(got["visit_probability"], want.visit, rtol=1e-9, atol=1e-15)
    for col in ("conversion_probability", "visit_probability"):
        treated = r.customers[r.customers["arm"] == "Mens E-Mail"][col]
        control = r.customers[r.customers["arm"] == "No E-Mail"][col]
        assert (treated.to_numpy() > control.to_numpy()).mean() > 0.9, col


def _mean_se(values):
    return values.mean(), values.std(ddof=1) / np.sqrt(values.size)


@pytest.mark.slow
@pytest.mark.parametrize("fit_half", ["A", "B"])
def test_fit_on_one_half_replayed_on_the_other(hillstrom, fit_half):
    """As tests/calibration/test_response_fit.py, but through the simulator: fit on one half
    (seed 0), replay the other; each arm's simulated conversion and spend per customer, and
    each uplift, within 2 combined SE √(SE_A² + SE_B²) of the other half's observation; the
    same for visits (model/visits.py)."""
    perm = np.random.default_rng(0).permutation(len(hillstrom.frame))
    halves = {"A": np.sort(perm[:32000]), "B": np.sort(perm[32000:])}
    other = "B" if fit_half == "A" else "A"
    fit = fit_response(hillstrom, rows=halves[fit_half])
    r = replay(hillstrom, fit.model, rows=halves[other], replications=3, seed=0)
    arms = r.arms.set_index("arm")
    fa, fb = hillstrom.frame.iloc[halves[fit_half]], hillstrom.frame.iloc[halves[other]]
    col = hillstrom.arm_col
    for outcome in ("conversion", "spend", "visit"):
        obs_a = {a: _mean_se(fa.loc[fa[col] == a, outcome].to_numpy(float)) for a in arms.index}
        obs_b = {a: _mean_se(fb.loc[fb[col] == a, outcome].to_numpy(float)) for a in arms.index}
        sim = arms[f"{outcome}_simulated"]
        for a in arms.index:
            assert arms.loc[a, f"{outcome}_observed"] == pytest.approx(obs_b[a][0])
            z = (sim[a] - obs_b[a][0]) / np.hypot(obs_a[a][1], obs_b[a][1])
            assert abs(z) < 2, (outcome, a, z)
        c = hillstrom.control
        for t in hillstrom.treatments:
            se = np.sqrt(sum(v[1] ** 2 for v in (obs_a[t], obs_a[c], obs_b[t], obs_b[c])))
            z = ((sim[t] - sim[c]) - (obs_b[t][0] - obs_b[c][0])) / se
            assert abs(z) < 2, (outcome, t, z)


def _truth(form: str, effects: dict[str, tuple[float, float]]) -> ResponseModel:
    est = lambda v: {"estimate": v, "se": 0.0}  # noqa: E731
    return ResponseModel.model_validate(
        {
            "window_days": 14,
            "source": {
                "file": "(truth)",
                "sha256": "0" * 64,
                "arm_column": "arm",
                "control": "control",
                "treatments": list(effects),
                "rows": {},
            },
            "features": {"x1": {"kind": "numeric"}, "x2": {"kind": "numeric"}},
            "baseline_features": ["x1", "x2"],
            "effect_features": ["x2"],
            "conversion": {
                "form": form,
                "log_likelihood": {"multiplicative": 0.0, "additive": 0.0},
                "baseline": {
                    "intercept": est(-2.0),
                    "coefficients": {"x1": est(1.0), "x2": est(0.5)},
                },
                "effects": {
                    t: {"channel": "email", "intercept": est(b), "modifiers": {"x2": est(m)}}
                    for t, (b, m) in effects.items()
                },
            },
        }
    )


TRUE_EFFECTS = {
    "multiplicative": {"t1": (0.8, 0.4), "t2": (0.4, -0.2)},
    "additive": {"t1": (0.08, 0.02), "t2": (0.04, -0.01)},
}


@pytest.mark.slow
def test_experiments_drawn_by_the_simulator_give_back_their_truth(tmp_path):
    """Ten experiments per form drawn by the simulator (8,000 customers, standardised features,
    the effect applied by the engine). The true form wins the likelihood comparison in at least
    9 of 10; fitted in the true form, the conversion parameters' z-scores are standard normal
    (Σz² inside its χ² 99.9% interval, none beyond 4). This is also the round trip: a response
    the simulator ran is what calibrate-response returns."""
    zs, picks = [], {"multiplicative": 0, "additive": 0}
    for form, effects in TRUE_EFFECTS.items():
        truth = _truth(form, effects)
        for seed in range(10):
            rng = np.random.default_rng(1000 + seed)
            frame = pd.DataFrame({"x1": rng.normal(size=8000), "x2": rng.binomial(1, 0.4, 8000)})
            frame = (frame - frame.mean()) / frame.std(ddof=0)  # the truth is on this scale
            arms = rng.choice(["control", *effects], size=len(frame))
            data = simulate_experiment(truth, frame, arms, seed=seed)
            path = tmp_path / f"{form}{seed}.csv"
            data.to_csv(path, index=False)
            fit = fit_response(
                path,
                arm_col="arm",
                control="control",
                window_days=14,
                conversion_col="conversion",
                feature_cols=["x1", "x2"],
                effect_cols=["x2"],
                form=form,
            )
            r = fit.model.conversion
            picks[form] += max(r.log_likelihood, key=r.log_likelihood.get) == form
            pairs = [(r.baseline.intercept, -2.0), (r.baseline.coefficients["x1"], 1.0)]
            pairs.append((r.baseline.coefficients["x2"], 0.5))
            for t, (b, m) in effects.items():
                pairs += [(r.effects[t].intercept, b), (r.effects[t].modifiers["x2"], m)]
            zs += [(e.estimate - v) / e.se for e, v in pairs]
    z = np.array(zs)
    assert picks["multiplicative"] >= 9 and picks["additive"] >= 9, picks
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], z.size)
    assert lo < np.sum(z**2) < hi, (np.sum(z**2), lo, hi)
    assert np.max(np.abs(z)) < 4, np.round(z, 2)


def test_replay_command_writes_arms_and_customers(tmp_path, hillstrom, quarter, capsys):
    rows, fit = quarter
    small = tmp_path / "small.csv"
    hillstrom.frame.iloc[rows[:2000]].to_csv(small, index=False)
    response = fit.write(tmp_path / "response.yaml")
    out = tmp_path / "replay"
    args = ["replay", str(small), "--response", str(response), "--conversion-col", "conversion"]
    assert main([*args, "--spend-col", "spend", "-r", "2", "--out", str(out)]) == 0
    arms = pd.read_csv(out / "arms.csv")
    assert list(arms["arm"]) == ["No E-Mail", "Mens E-Mail", "Womens E-Mail"]
    assert arms["customers"].sum() == 2000
    customers = pd.read_csv(out / "customers.csv")
    assert len(customers) == 3 * 2000 and customers["row"].max() == 1999
    assert customers["conversion_probability"].between(0, 1).all()
    capsys.readouterr()
    bad = tmp_path / "bad.yaml"
    bad.write_text("response: {window_days: 0}\n")
    assert (
        main(
            [
                "replay",
                str(small),
                "--response",
                str(bad),
                "--conversion-col",
                "conversion",
                "--out",
                str(tmp_path / "r3"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0]
    assert not (tmp_path / "r3").exists()


@pytest.mark.slow
def test_round_trip_with_the_hillstrom_response(hillstrom, tmp_path):
    """The response fitted on all of Hillstrom is the truth: the simulator draws the experiment
    again on the same customers and arms, and calibrate-response gives back every conversion
    parameter (baseline and effects, 22 of them) with z-scores that look standard normal
    (Σz² inside the χ² 99.9% interval, none beyond 4)."""
    truth = fit_response(hillstrom, form="additive").model
    arms = hillstrom.frame[hillstrom.arm_col].to_numpy()
    frame = hillstrom.frame[FEATURES]
    data = simulate_experiment(truth, frame, arms, seed=11)
    path = tmp_path / "drawn.csv"
    data.to_csv(path, index=False)
    refit = fit_response(
        path,
        arm_col="arm",
        control=hillstrom.control,
        window_days=14,
        conversion_col="conversion",
        feature_cols=FEATURES,
        effect_cols=EFFECTS,
        form="additive",
    ).model.conversion
    t = truth.conversion
    pairs = [(refit.baseline.intercept, t.baseline.intercept)]
    pairs += [(refit.baseline.coefficients[k], v) for k, v in t.baseline.coefficients.items()]
    for arm, e in t.effects.items():
        pairs.append((refit.effects[arm].intercept, e.intercept))
        pairs += [(refit.effects[arm].modifiers[k], v) for k, v in e.modifiers.items()]
    z = np.array([(a.estimate - b.estimate) / a.se for a, b in pairs])
    assert z.size == 1 + 9 + 2 * (1 + 5)  # intercept, 9 baseline columns, 2 arms × (1 + 5)
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], z.size)
    assert lo < np.sum(z**2) < hi, (np.sum(z**2), lo, hi)
    assert np.max(np.abs(z)) < 4, np.round(z, 2)
