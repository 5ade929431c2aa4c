"""retention_sim: test customer-contact strategies on a simulated customer base before rollout.

The main entry points::

    from retention_sim import load_scenario, simulate
    result = simulate(load_scenario("params/scenarios/default.yaml"), seed=1)
    result.summary["retention_rate"], result.daily["customers"]

Policy experiments (policies × replications with common random numbers)::

    from retention_sim import compare
    comparison = compare(scenario, ["params/policies/bau_default.yaml",
                                    "params/policies/playbook_software.yaml"], replications=20)
    comparison.verdict("profit", guardrails={"unsubscribe_rate": 0.003}).text
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import InputError  # noqa: E402
from .experiment import Comparison, compare  # noqa: E402
from .result import SimulationResult  # noqa: E402
from .robustness import Robustness, robustness  # noqa: E402
from .scenario import Scenario, load_scenario, scenario_from_dict  # noqa: E402
from .simulation import simulate  # noqa: E402
from .sweep import sweep  # noqa: E402

__all__ = [
    "__version__",
    "Comparison",
    "compare",
    "Robustness",
    "robustness",
    "sweep",
    "InputError",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
    "SimulationResult",
]
