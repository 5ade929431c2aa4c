"""Published retention tables reproduced: Fader & Hardie (2007) shifted-beta-geometric cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from retention_sim import load_scenario, simulate

from .conftest import ROOT, SCENARIOS

TABLE = ROOT.parent / "shared" / "reference" / "sbg_survival_tables.csv"
PUBLISHED_SAMPLE = 1000  # the published table is per 1000 customers of one cohort


def sbg_survival(alpha: float, beta: float, t: np.ndarray) -> np.ndarray:
    """S(t) = B(alpha, beta + t) / B(alpha, beta)."""
    return np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))


def _published() -> pd.DataFrame:
    if TABLE.exists():
        return pd.read_csv(TABLE)
    # the same figures, for a checkout without ../shared (Fader & Hardie 2007, Table 1)
    return pd.DataFrame(
        {
            "year": range(13),
            "regular_alive_per_1000": [
                1000,
                631,
                468,
                382,
                326,
                289,
                262,
                241,
                223,
                207,
                194,
                183,
                173,
            ],
            "high_end_alive_per_1000": [
                1000,
                869,
                743,
                653,
                593,
                551,
                517,
                491,
                468,
                445,
                427,
                409,
                394,
            ],
        }
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "group,alpha,beta", [("regular", 0.704, 1.182), ("high_end", 0.668, 3.806)]
)
def test_sbg_tables_reproduced(group, alpha, beta):
    sc = load_scenario(SCENARIOS / "validation" / f"sbg_{group}.yaml")
    n = sc.population.initial_customers
    assert n == 20_000
    alive = simulate(sc, seed=2007).daily["customers_initial_base"].to_numpy()
    years = np.arange(1, 13)
    sim = alive[365 * years - 1] / n
    # 1) against the model itself: only the simulation's own binomial error
    model = sbg_survival(alpha, beta, years)
    se_sim = np.sqrt(model * (1 - model) / n)
    assert np.all(np.abs(sim - model) < 4 * se_sim), np.round((sim - model) / se_sim, 2)
    # 2) against the published table: both samples' binomial error (1000 real, n simulated)
    pub = _published()[f"{group}_alive_per_1000"].to_numpy()[1:] / 1000
    se = np.sqrt(pub * (1 - pub) * (1 / PUBLISHED_SAMPLE + 1 / n))
    assert np.all(np.abs(sim - pub) < 3 * se), np.round((sim - pub) / se, 2)
