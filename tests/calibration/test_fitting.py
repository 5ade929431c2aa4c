"""Maximum-likelihood fits: published estimates reproduced, known parameters recovered."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from retention_sim import load_scenario, simulate
from retention_sim.calibration import purchase_models as PM
from retention_sim.calibration import retention_model as RM
from retention_sim.calibration import spend_model as SM
from retention_sim.calibration.fitting import FitResult
from retention_sim.calibration.transactions import customer_histories, read_transactions

from ..conftest import SCENARIOS
from .test_transactions import CDNOW

# Fader & Hardie (2007), Table 1: customers still subscribed per 1000, years 0-7
PUBLISHED_SBG = {
    "regular": ([1000, 631, 468, 382, 326, 289, 262, 241], 0.704, 1.182, -1680.27),
    "high_end": ([1000, 869, 743, 653, 593, 551, 517, 491], 0.668, 3.806, -1611.16),
}


@pytest.fixture(scope="module")
def cdnow_weeks():
    log = read_transactions(CDNOW, until="1997-09-30")
    h = customer_histories(log, time_unit="week")
    return h["frequency"].to_numpy(float), h["recency"].to_numpy(), h["T"].to_numpy(), h


# ----------------------------------------------------------------------------- published
@pytest.mark.parametrize("group", ["regular", "high_end"])
def test_sbg_reproduces_the_published_fit(group):
    survivors, alpha, beta, loglik = PUBLISHED_SBG[group]
    fit = RM.fit_sbg(survivors)
    assert fit.params["alpha"] == pytest.approx(alpha, abs=0.001)
    assert fit.params["beta"] == pytest.approx(beta, abs=0.001)
    assert fit.loglik == pytest.approx(loglik, abs=0.01)
    assert fit.converged and all(np.isfinite(list(fit.se.values())))


def test_bgnbd_and_pareto_nbd_reproduce_the_published_cdnow_fits(cdnow_weeks):
    """Fader, Hardie & Lee (2005): BG/NBD r .243 alpha 4.414 a .793 b 2.426 (LL -9582.4);
    Pareto/NBD r .553 alpha 10.578 s .606 beta 11.669 (LL -9595.0)."""
    x, t_x, T, _ = cdnow_weeks
    bg = PM.fit_bgnbd(x, t_x, T)
    np.testing.assert_allclose(
        list(bg.params.values()), [0.243, 4.414, 0.793, 2.426], rtol=2e-3, atol=5e-4
    )
    assert bg.loglik == pytest.approx(-9582.4, abs=0.05)
    pn = PM.fit_pareto_nbd(x, t_x, T)
    np.testing.assert_allclose(
        list(pn.params.values()), [0.553, 10.578, 0.606, 11.669], rtol=2e-3, atol=5e-4
    )
    assert pn.loglik == pytest.approx(-9595.0, abs=0.05)
    assert bg.converged and pn.converged


def test_gamma_gamma_reproduces_the_published_cdnow_fit(cdnow_weeks):
    """Fader, Hardie & Lee (2005, RFM and CLV): p 6.25, q 3.74, gamma 15.44."""
    x, _, _, h = cdnow_weeks
    m = x > 0
    gg = SM.fit_gamma_gamma(x[m], h["monetary_value"].to_numpy()[m])
    np.testing.assert_allclose(list(gg.params.values()), [6.25, 3.74, 15.44], atol=0.01)


# ----------------------------------------------------------------------------- recovery
def _within(fit: FitResult, truth: dict[str, float], k: float = 4.0) -> None:
    z = fit.z_scores(truth)
    assert all(abs(v) < k for v in z.values()), (fit.params, fit.se, z)


def test_bgnbd_recovers_known_parameters():
    rng = np.random.default_rng(20240611)
    truth = {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 3.0}
    T = rng.uniform(20, 104, size=6000)
    x, t_x = PM.simulate_bgnbd(tuple(truth.values()), T, rng)
    _within(PM.fit_bgnbd(x, t_x, T), truth)


def test_pareto_nbd_recovers_known_parameters():
    rng = np.random.default_rng(20240612)
    truth = {"r": 0.7, "alpha": 10.0, "s": 0.8, "beta": 30.0}
    T = rng.uniform(20, 104, size=6000)
    x, t_x = PM.simulate_pareto_nbd(tuple(truth.values()), T, rng)
    _within(PM.fit_pareto_nbd(x, t_x, T), truth)


def test_standard_errors_are_honest_across_seeds():
    """Over 30 small BG/NBD samples, |z| < 2 for roughly 95% of the estimates of r."""
    truth = (0.5, 8.0, 0.8, 3.0)
    zs = []
    for seed in range(30):
        rng = np.random.default_rng(1000 + seed)
        T = rng.uniform(20, 104, size=800)
        x, t_x = PM.simulate_bgnbd(truth, T, rng)
        fit = PM.fit_bgnbd(x, t_x, T)
        zs.append(fit.z_scores({"r": truth[0]})["r"])
    inside = np.mean(np.abs(zs) < 2.0)
    assert inside >= 0.8, np.round(zs, 2)


@pytest.mark.slow
@pytest.mark.parametrize("group", ["regular", "high_end"])
def test_sbg_refit_on_simulated_cohorts_recovers_the_published_parameters(group):
    """Simulate the validation cohort with the engine, count survivors each year, refit."""
    _, alpha, beta, _ = PUBLISHED_SBG[group]
    sc = load_scenario(SCENARIOS / "validation" / f"sbg_{group}.yaml")
    n = 5000
    alive = simulate(sc, seed=11, customers=n, days=7 * 365).daily["customers_initial_base"]
    survivors = np.concatenate([[n], alive.to_numpy()[365 * np.arange(1, 8) - 1]])
    _within(RM.fit_sbg(survivors), {"alpha": alpha, "beta": beta}, k=3.5)


# ----------------------------------------------------------------------------- numerics
def test_pareto_nbd_likelihood_matches_direct_integration():
    rng = np.random.default_rng(3)
    for _ in range(40):
        r, s = np.exp(rng.uniform(-2, 1.5, size=2))
        alpha, beta = np.exp(rng.uniform(-1, 5, size=2))
        T = rng.uniform(1, 200)
        x = int(rng.integers(0, 60))
        t_x = 0.0 if x == 0 else rng.uniform(0, T)

        # A0 = (r+s+x) ∫ (α+y)^-(r+x) (β+y)^-(s+1) dy over [t_x, T], scaled to 1 at y = t_x
        top = -(r + x) * np.log(alpha + t_x) - (s + 1) * np.log(beta + t_x)

        def lik(y, r=r, s=s, alpha=alpha, beta=beta, x=x, top=top):
            return np.exp(-(r + x) * np.log(alpha + y) - (s + 1) * np.log(beta + y) - top)

        direct, _ = integrate.quad(lik, t_x, T, epsabs=0.0, epsrel=1e-12, limit=200)
        log_a0 = PM._pnbd_log_a0(r, alpha, s, beta, np.array([x]), np.array([t_x]), np.array([T]))
        assert log_a0[0] == pytest.approx(np.log(direct) + top + np.log(r + s + x), abs=1e-8)


def test_pareto_nbd_falls_back_to_quadrature_where_hyp2f1_overflows():
    # alpha << beta and many purchases: the hypergeometric function overflows
    r, alpha, s, beta = 0.49, 0.0566, 0.0755, 10.4
    x, t_x, T = np.array([184.0]), np.array([0.107]), np.array([4.26])
    ll = PM.pareto_nbd_loglik((r, alpha, s, beta), x, t_x, T)
    assert np.isfinite(ll).all()


def test_conditional_expectations_agree_with_quadrature_and_simulation():
    params = (0.243, 4.414, 0.793, 2.426)
    R, A, a, b, t = params[0] + 2, params[1] + 38.86, params[2], params[3] + 2, 39.0
    closed = PM.bgnbd_expected_alive(R, A, a, b, t)
    assert float(closed) == pytest.approx(PM._bg_expected_alive_quadrature(R, A, a, b, t), 1e-9)
    # Pareto/NBD: E[X(t) | alive] against Monte Carlo over the posterior
    rng = np.random.default_rng(9)
    lam = rng.gamma(3.0, 1 / 20.0, size=400_000)
    mu = rng.gamma(0.8, 1 / 40.0, size=400_000)
    life = np.minimum(rng.exponential(size=lam.size) / mu, 30.0)
    mc = (lam * life).mean()
    closed = PM.pareto_nbd_expected_alive(3.0, 20.0, 0.8, 40.0, 30.0)
    assert float(closed) == pytest.approx(mc, rel=0.01)


def test_p_alive_is_a_probability_and_one_without_repeats(cdnow_weeks):
    x, t_x, T, _ = cdnow_weeks
    for fn, p in (
        (PM.bgnbd_p_alive, (0.243, 4.414, 0.793, 2.426)),
        (PM.pareto_nbd_p_alive, (0.553, 10.578, 0.606, 11.669)),
    ):
        pa = fn(p, x, t_x, T)
        assert np.all((pa >= 0) & (pa <= 1))
    assert np.all(PM.bgnbd_p_alive((0.243, 4.414, 0.793, 2.426), x, t_x, T)[x == 0] == 1)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        PM.fit_bgnbd([1, 2], [3.0, 1.0], [2.0, 2.0])  # recency beyond T
    with pytest.raises(ValueError):
        RM.fit_sbg([1000, 1100, 900])
    with pytest.raises(ValueError):
        SM.fit_gamma_gamma([0, 1], [10.0, 5.0])
