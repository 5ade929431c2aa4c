"""The compiled stable order is NumPy's stable argsort, on every kind of column."""

from __future__ import annotations

import numpy as np
import pytest

from retention_sim.model import kernels
from retention_sim.model.ranking import stable_argsort

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")

N = 50_000
RNG = np.random.default_rng(7)
COLUMNS = {
    "spread": RNG.exponential(1.0, N),
    "many ties": np.round(RNG.exponential(3.0, N)),
    "negative": RNG.normal(0.0, 1.0, N),
    "signed zeros": np.where(RNG.random(N) < 0.3, -0.0, np.where(RNG.random(N) < 0.5, 0.0, 1.0)),
    "NaN and infinities": np.where(
        RNG.random(N) < 0.1, np.nan, np.where(RNG.random(N) < 0.1, -np.inf, RNG.normal(0, 1, N))
    ),
    "NaN of both signs": np.where(
        RNG.random(N) < 0.1, np.where(RNG.random(N) < 0.5, np.nan, -np.nan), RNG.normal(0, 1, N)
    ),
    "float32": RNG.normal(0.0, 1.0, N).astype(np.float32),
    "int64 both signs": RNG.integers(-(10**12), 10**12, N),
    "int32 days": RNG.integers(-400, 365, N).astype(np.int32),
    "one value": np.full(N, 3.5),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_the_radix_order_is_the_stable_sort_s(monkeypatch, name):
    monkeypatch.setenv(kernels.ENV, "numba")
    values = COLUMNS[name]
    np.testing.assert_array_equal(stable_argsort(values), np.argsort(values, kind="stable"))


def test_the_reference_is_numpy_s_sort(monkeypatch):
    monkeypatch.setenv(kernels.ENV, "numpy")
    values = COLUMNS["many ties"]
    np.testing.assert_array_equal(stable_argsort(values), np.argsort(values, kind="stable"))
