"""The response model fitted from randomised campaigns: known truths recovered, the true form
picked, and the real Hillstrom experiment predicted out of sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from retention_sim.calibration.experiment import read_experiment
from retention_sim.calibration.response_fit import fit_response, predict
from retention_sim.config.response import load_response

from ..conftest import ROOT

HILLSTROM = ROOT / "retention_sim" / "data" / "hillstrom.csv.gz"
ARMS = ("control", "t1", "t2")
TRUTH = {
    # conversion: baseline on the standardised features, then each arm's effect
    "baseline": {"intercept": -2.0, "x1": 1.0, "x2": 0.5},
    "multiplicative": {"t1": (0.8, 0.4), "t2": (0.4, -0.2)},  # (constant, × standardised x2)
    "additive": {"t1": (0.08, 0.02), "t2": (0.04, -0.01)},
    # spend of a converter: gamma, log mean
    "spend": {"intercept": 4.0, "x1": 0.3, "x2": 0.0, "t1": 0.2, "t2": 0.0, "shape": 2.0},
}


def _synthetic(form: str, seed: int, n: int = 8000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, size=n).astype(float)
    arm = rng.choice(ARMS, size=n)
    s1, s2 = (x1 - x1.mean()) / x1.std(), (x2 - x2.mean()) / x2.std()
    b = TRUTH["baseline"]
    lin = b["intercept"] + b["x1"] * s1 + b["x2"] * s2
    eff = np.zeros(n)
    for t, (c, m) in TRUTH[form].items():
        eff += (arm == t) * (c + m * s2)
    p = special.expit(lin + eff) if form == "multiplicative" else special.expit(lin) + eff
    conv = rng.random(n) < p
    sp = TRUTH["spend"]
    mu = np.exp(sp["intercept"] + sp["x1"] * s1 + sp["t1"] * (arm == "t1"))
    spend = np.where(conv, rng.gamma(sp["shape"], mu / sp["shape"]), 0.0)
    return pd.DataFrame({"arm": arm, "x1": x1, "x2": x2, "conv": conv.astype(int), "spend": spend})


def _z_scores(model, form: str, cov) -> list[float]:
    r = model.conversion
    est = [r.baseline.intercept, r.baseline.coefficients["x1"], r.baseline.coefficients["x2"]]
    truth = [TRUTH["baseline"][k] for k in ("intercept", "x1", "x2")]
    for t in ("t1", "t2"):
        est += [r.effects[t].intercept, r.effects[t].modifiers["x2"]]
        truth += list(TRUTH[form][t])
    s = model.spend
    est += [s.baseline.intercept, s.baseline.coefficients["x1"], s.baseline.coefficients["x2"]]
    est += [s.effects["t1"], s.effects["t2"]]
    truth += [TRUTH["spend"][k] for k in ("intercept", "x1", "x2", "t1", "t2")]
    return [(e.estimate - v) / e.se for e, v in zip(est, truth, strict=True)]


@pytest.mark.slow
def test_known_effects_are_recovered_and_the_true_form_is_picked(tmp_path):
    """Ten experiments per form, drawn from the model with known parameters.

    The true form must win the likelihood comparison in at least 9 of 10. Fitted in the true
    form, every parameter's z-score (estimate − truth) / SE must be standard normal: the sum
    of the 240 squared z-scores lies inside its χ² 99.9% interval (which also checks that the
    standard errors are right), and none is beyond 4 (a family-wise 1.5% chance).
    """
    zs: list[float] = []
    picks = {"multiplicative": 0, "additive": 0}
    for form in picks:
        for seed in range(10):
            path = tmp_path / f"{form}{seed}.csv"
            _synthetic(form, 100 * seed + len(form)).to_csv(path, index=False)
            fit = fit_response(
                path,
                arm_col="arm",
                control="control",
                window_days=14,
                conversion_col="conv",
                spend_col="spend",
                feature_cols=["x1", "x2"],
                effect_cols=["x2"],
                form=form,
            )
            ll = fit.model.conversion.log_likelihood
            picks[form] += max(ll, key=ll.get) == form
            zs += _z_scores(fit.model, form, fit.covariances)
    z = np.array(zs)
    assert picks["multiplicative"] >= 9 and picks["additive"] >= 9, picks
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], z.size)
    assert lo < np.sum(z**2) < hi, (np.sum(z**2), lo, hi)
    assert np.max(np.abs(z)) < 4, np.round(z, 2)
    assert np.mean(np.abs(z) < 3) >= 0.99


# ----------------------------------------------------------------------------- Hillstrom
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


def _mean_se(frame, col):
    v = frame[col].to_numpy(float)
    return v.mean(), v.std(ddof=1) / np.sqrt(v.size)


@pytest.mark.slow
@pytest.mark.parametrize("fit_half", ["A", "B"])
def test_a_fit_on_one_half_predicts_the_other_half(hillstrom, fit_half):
    """Split the 64,000 customers at random (seed 0) into halves A and B; fit on one, predict
    the other. A right model misses the other half by the sampling error of both, so each miss
    is measured in combined SE, √(SE_A² + SE_B²) of the same statistic: every arm's conversion,
    spend per customer and visit rate, and every treatment's uplift over the control, within 2.

    The misses follow the halves' own differences: over split seeds 0–9, the largest miss was
    within 2 combined SE for 8 seeds and so was the largest difference between the halves'
    observed means (seeds 1 and 8 exceed 2 in both). Seed 0 was the first one tried."""
    ex = hillstrom
    perm = np.random.default_rng(0).permutation(len(ex.frame))
    halves = {"A": np.sort(perm[: len(perm) // 2]), "B": np.sort(perm[len(perm) // 2 :])}
    other = "B" if fit_half == "A" else "A"
    fit = fit_response(ex, rows=halves[fit_half], fitted_on=f"half {fit_half} of seed 0")
    fa, fb = ex.frame.iloc[halves[fit_half]], ex.frame.iloc[halves[other]]
    arm = ex.arm_col
    for col in ("conversion", "spend", "visit"):
        pred = {a: getattr(predict(fit.model, fb[fb[arm] == a], a), col).mean() for a in ex.arms}
        obs_a = {a: _mean_se(fa[fa[arm] == a], col) for a in ex.arms}
        obs_b = {a: _mean_se(fb[fb[arm] == a], col) for a in ex.arms}
        for a in ex.arms:
            z = (pred[a] - obs_b[a][0]) / np.hypot(obs_a[a][1], obs_b[a][1])
            assert abs(z) < 2, (col, a, pred[a], obs_b[a][0], z)
        c = ex.control
        for t in ex.treatments:
            se = np.sqrt(obs_a[t][1] ** 2 + obs_a[c][1] ** 2 + obs_b[t][1] ** 2 + obs_b[c][1] ** 2)
            z = ((pred[t] - pred[c]) - (obs_b[t][0] - obs_b[c][0])) / se
            assert abs(z) < 2, (col, t, z)


def test_the_fitted_file_validates_and_names_its_source(hillstrom, tmp_path):
    fit = fit_response(hillstrom, rows=np.arange(0, 64000, 4), fitted_on="every 4th row")
    path = fit.write(tmp_path / "response.yaml")
    model = load_response(path)
    assert model == fit.model
    src = model.source
    assert src.control == "No E-Mail" and src.treatments == ["Mens E-Mail", "Womens E-Mail"]
    assert sum(src.rows.values()) == 16000 and src.fitted_on == "every 4th row"
    assert len(src.sha256) == 64 and src.file.endswith("hillstrom.csv.gz")
    # in sample, the multiplicative form reproduces each arm's conversion rate (canonical link)
    mult = fit_response(hillstrom, rows=np.arange(0, 64000, 4), form="multiplicative")
    arms = mult.report()["arms"]
    for a in hillstrom.arms:
        assert arms[a]["conversion_fitted"] == pytest.approx(arms[a]["conversion_observed"])
    # on all 64,000, both e-mails raise conversion (Hillstrom: 1.25% and 0.88% against 0.57%;
    # a quarter of the rows would leave the women's e-mail at about 1.9 SE)
    eff = fit_response(hillstrom).model.conversion.effects
    for t in ("Mens E-Mail", "Womens E-Mail"):
        assert eff[t].intercept.estimate > 3 * eff[t].intercept.se
