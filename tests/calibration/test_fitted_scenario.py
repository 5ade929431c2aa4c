"""From fits to a scenario: the 95% intervals the fits' covariances carry to the scenario."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from retention_sim.calibration.fitted_scenario import INTERVAL_DRAWS, fitted_intervals
from retention_sim.calibration.fitting import FitResult

SEG = "population.segments.calibrated"


def _fit(model: str, params: dict[str, float], cov_log: np.ndarray) -> FitResult:
    theta = np.array(list(params.values()))
    return FitResult(
        model=model,
        params=params,
        se=dict(zip(params, np.sqrt(np.diag(cov_log)) * theta, strict=True)),
        loglik=0.0,
        n=1000,
        cov=cov_log * np.outer(theta, theta),
    )


def _quantile_tolerance(sd_log: float) -> float:
    """Four standard errors of a sample 2.5% quantile of INTERVAL_DRAWS normal draws, in logs."""
    z = stats.norm.ppf(0.975)
    return 4.0 * math.sqrt(0.025 * 0.975 / INTERVAL_DRAWS) / stats.norm.pdf(z) * sd_log


def test_intervals_are_the_lognormal_quantiles_of_each_mapped_field():
    """Pareto/NBD in log-parameters: ``shape = r`` and the purchase rate ``r / alpha`` and the
    dropout hazard ``s / beta`` are lognormal, with the log-variance the covariance gives
    (including the correlation between r and alpha, which the two standard errors alone miss)."""
    params = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
    sd = np.array([0.09, 0.08, 0.3, 0.5])
    corr = np.eye(4)
    corr[0, 1] = corr[1, 0] = 0.9  # r and alpha move together, as they do in real fits
    corr[2, 3] = corr[3, 2] = 0.7
    cov_log = corr * np.outer(sd, sd)
    got = fitted_intervals(_fit("pareto_nbd", params, cov_log), None, unit_days=7.0)
    z = stats.norm.ppf(0.975)

    def lognormal(centre: float, sd_log: float) -> tuple[float, float]:
        return centre * math.exp(-z * sd_log), centre * math.exp(z * sd_log)

    sd_rate = math.sqrt(sd[0] ** 2 + sd[1] ** 2 - 2 * 0.9 * sd[0] * sd[1])
    sd_hazard = math.sqrt(sd[2] ** 2 + sd[3] ** 2 - 2 * 0.7 * sd[2] * sd[3])
    rate = params["r"] / params["alpha"] * 365 / 7
    expected = {
        f"{SEG}.purchase_rate_per_year.shape": (lognormal(params["r"], sd[0]), sd[0]),
        f"{SEG}.purchase_rate_per_year.mean": (lognormal(rate, sd_rate), sd_rate),
        f"{SEG}.frailty_shape": (lognormal(params["s"], sd[2]), sd[2]),
        "churn.hazard_scale": (lognormal(1.0, sd_hazard), sd_hazard),
    }
    assert set(got) == set(expected)
    for key, ((lo, hi), sd_log) in expected.items():
        tol = _quantile_tolerance(sd_log) + 1e-5  # and six significant digits
        assert math.log(got[key][0]) == pytest.approx(math.log(lo), abs=tol), key
        assert math.log(got[key][1]) == pytest.approx(math.log(hi), abs=tol), key
    # the rate's interval is much narrower than r's and alpha's would suggest on their own
    independent = math.sqrt(sd[0] ** 2 + sd[1] ** 2)
    assert math.log(got[f"{SEG}.purchase_rate_per_year.mean"][1] / rate) < 0.5 * z * independent


def test_spend_intervals_keep_q_above_its_floor_and_a_bad_covariance_gives_none():
    gg = _fit("gamma_gamma", {"p": 6.0, "q": 1.05, "gamma": 15.0}, np.diag([0.04, 0.01, 0.09]))
    pn = _fit("pareto_nbd", {"r": 0.5, "alpha": 10.0, "s": 0.6, "beta": 12.0}, np.eye(4) * 0.01)
    got = fitted_intervals(pn, gg, unit_days=7.0, q_floor=1.02)
    assert got[f"{SEG}.spend.q"][0] >= 1.02
    lo, hi = got[f"{SEG}.spend.mean_per_purchase"]
    assert 0 < lo < 6.0 * 15.0 / 0.05 < hi  # the estimate's mean spend lies inside
    bad = _fit("gamma_gamma", {"p": 6.0, "q": 4.0, "gamma": 15.0}, np.full((3, 3), np.nan))
    assert not any(k.startswith(f"{SEG}.spend") for k in fitted_intervals(pn, bad, 7.0))
    # the same fits give the same intervals (their own seed, no global random state)
    np.random.seed(123)  # noqa: NPY002 (global state must not matter)
    assert fitted_intervals(pn, gg, 7.0) == got
