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

from ._version import __version__
from .config.policy import Policy, load_policy, policy_from_dict
from .config.scenario import Scenario, load_scenario, scenario_from_dict
from .errors import InputError
from .model.result import SimulationResult
from .model.simulation import simulate
from .study.compare import compare
from .study.comparison import Comparison
from .study.robustness import Robustness, robustness
from .study.sweep import sweep

__all__ = [
    "__version__",
    "Comparison",
    "compare",
    "Robustness",
    "robustness",
    "sweep",
    "InputError",
    "Policy",
    "load_policy",
    "policy_from_dict",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
    "SimulationResult",
]
