"""Purchases follow the configured gamma heterogeneity (NBD); spend follows gamma-gamma."""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from retention_sim import simulate

from ..conftest import plain_scenario


def _nbd_negloglik(params, x, t):
    r, a = np.exp(params)
    return -np.sum(
        special.gammaln(r + x)
        - special.gammaln(r)
        - special.gammaln(x + 1)
        + r * np.log(a / (a + t))
        + x * np.log(t / (a + t))
    )


def test_purchase_counts_recover_the_gamma_rate_heterogeneity():
    shape, mean = 1.5, 4.0  # per year, as in plain_scenario
    n = 20_000
    r = simulate(plain_scenario(), seed=21, customers=n)
    counts = r.transactions.groupby("customer_id").size().reindex(range(n), fill_value=0)
    x = counts.to_numpy().astype(float)
    t = 1.0  # one year
    fit = optimize.minimize(_nbd_negloglik, x0=np.log([1.0, 1.0]), args=(x, t), method="BFGS")
    r_hat, a_hat = np.exp(fit.x)
    # standard errors from the inverse Hessian (BFGS approximation refined numerically)
    hess = optimize.approx_fprime(
        fit.x, lambda p: optimize.approx_fprime(p, _nbd_negloglik, 1e-5, x, t), 1e-5
    )
    cov_log = np.linalg.inv(hess)
    se_log = np.sqrt(np.diag(cov_log))
    true = np.log([shape, shape / mean])
    z = (fit.x - true) / se_log
    assert np.all(np.abs(z) < 4), (r_hat, a_hat, z)
    # and the moments, as a plain-language check
    assert abs(x.mean() - mean) < 4 * x.std() / np.sqrt(n)


def test_mean_spend_matches_the_gamma_gamma_mean():
    n = 20_000
    r = simulate(plain_scenario(), seed=22, customers=n)
    per_customer = r.transactions.groupby("customer_id")["amount"].mean()
    se = per_customer.std() / np.sqrt(per_customer.size)
    assert abs(per_customer.mean() - 100.0) < 4 * se


def test_calendar_events_raise_purchases_on_their_days():
    sc = plain_scenario(
        calendar={
            "start": "2026-01-01",
            "horizon_days": 60,
            "events": [
                {"name": "sale", "start": "2026-01-20", "days": 5, "purchase_multiplier": 3}
            ],
        }
    )
    d = simulate(sc, seed=1, customers=20_000).daily["purchases"]
    sale = d["2026-01-20":"2026-01-24"].mean()
    other = d.drop(d["2026-01-20":"2026-01-24"].index).mean()
    assert 2.5 < sale / other < 3.5
