"""The Bain check on every preset: +5 points of one-year retention through lower churn hazards,
and what profit does over one year and three (docs/model.md, §10; the validation notebook).

Run: ``.venv/bin/python benchmarks/bench_retention_economics.py`` (about 15 minutes on two
cores). Prints one Markdown table row per preset.
"""

from __future__ import annotations

import time

from retention_sim import load_scenario
from retention_sim.config.policy import load_policy
from retention_sim.study.retention_economics import retention_profit_effect

PRESETS = [
    ("default", "bau_default"),
    ("fashion_retail", "bau_fashion_retail"),
    ("grocery", "bau_grocery"),
    ("premium_durables", "bau_premium_durables"),
    ("saas", "bau_saas"),
]


def main() -> None:
    print(
        "| scenario | policy | 1-year retention | hazard scale | profit, 1 year | profit, 3 years |"
    )
    print("|---|---|---|---|---|---|")
    for scenario_name, policy_name in PRESETS:
        t0 = time.perf_counter()
        sc = load_scenario(scenario_name)
        e = retention_profit_effect(
            sc, load_policy(policy_name, scenario=sc), customers=4000, replications=4
        )
        print(
            f"| {scenario_name} | {policy_name} | {e.retention:.1%} → {e.retention_lifted:.1%} "
            f"| {e.hazard_scale:.3f} | {e.profit_change[365]:+.1%} ± "
            f"{e.profit_change_se[365]:.1%} | {e.profit_change[1095]:+.1%} ± "
            f"{e.profit_change_se[1095]:.1%} |  ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
