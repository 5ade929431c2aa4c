"""The notebooks run under papermill from the repository root as well as from notebooks/
(nbval runs them from notebooks/ with their own defaults)."""

from __future__ import annotations

import pytest

from .conftest import ROOT

SMALL = {
    "what_if.ipynb": {"customers": 300, "days": 30},
    "policy_comparison.ipynb": {"replications": 2, "customers": 300, "days": 30},
    "cadence_sweep.ipynb": {
        "replications": 2,
        "customers": 200,
        "days": 30,
        "days_between": [7, 30],
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_notebook_runs_from_the_repository_root(name, tmp_path):
    pm = pytest.importorskip("papermill")
    pm.execute_notebook(
        str(ROOT / "notebooks" / name),
        str(tmp_path / name),
        parameters=SMALL[name],
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
