"""retention_sim: test customer-contact strategies on a simulated customer base before rollout.

The main entry points::

    from retention_sim import load_scenario, simulate
    result = simulate(load_scenario("params/scenarios/default.yaml"), seed=1)
    result.summary["retention_rate"], result.daily["customers"]
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import InputError  # noqa: E402
from .result import SimulationResult  # noqa: E402
from .scenario import Scenario, load_scenario, scenario_from_dict  # noqa: E402
from .simulation import simulate  # noqa: E402

__all__ = [
    "__version__",
    "InputError",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
    "SimulationResult",
]
