"""Golden outputs: fixed runs give bit-identical results after any refactor.

The outputs were recorded with ``python -m tests.golden_runs`` (see there for the cases: no
policy, business as usual, a journey-heavy playbook, a policy using every campaign type and
programme, a calibration with a run and a forecast on the observed customers, a comparison and a
sweep). Floating-point results depend on the numerical libraries, so the comparison is made only
with the versions the outputs were recorded with; with others the test is skipped and says so.
"""

from __future__ import annotations

import json

import pytest

from . import golden_runs


@pytest.fixture(scope="module")
def golden():
    data = json.loads(golden_runs.GOLDEN.read_text())
    if data["versions"] != golden_runs.versions():
        pytest.skip(
            f"golden outputs were recorded with {data['versions']}, this is "
            f"{golden_runs.versions()}: re-record them with `python -m tests.golden_runs` on the "
            "last commit that had them right, then compare"
        )
    return data["outputs"]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    return golden_runs.compute(tmp_path_factory.mktemp("golden"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        "no_policy",
        "bau_default",
        "playbook_software",
        "kitchen_sink",
        "calibration",
        "calibrated_run",
        "forecast",
        "comparison",
        "sweep",
    ],
)
def test_golden_output_is_bit_identical(golden, fresh, case):
    want, got = golden[case], fresh[case]
    assert set(got) == set(want)
    for key in want:
        assert got[key] == want[key], f"{case}: {key} differs"


def test_every_golden_case_is_tested(golden):
    params = test_golden_output_is_bit_identical.pytestmark
    cases = next(m.args[1] for m in params if m.name == "parametrize")
    assert set(cases) == set(golden)
