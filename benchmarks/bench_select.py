"""Benchmark: ``select`` (the KN procedure) over ten cadences of the promotional campaign.

Ten policies: ``bau_default`` with its promotion every 1, 2, 3, 5, 7, 10, 14, 21, 30 or 45 days,
on the default scenario. Prints what was selected, the replications the procedure spent
against what equal allocation needs for the same guarantee, and the wall time; writes
``benchmarks/results/bench_select.json`` (ignored by git).

Run::

    .venv/bin/python benchmarks/bench_select.py                      # 5,000 customers, a year
    .venv/bin/python benchmarks/bench_select.py --customers 1000 --days 180   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from retention_sim import __version__, load_scenario
from retention_sim.config.policy import load_policy
from retention_sim.study.select import select

ROOT = Path(__file__).resolve().parents[1]
CADENCES = (1, 2, 3, 5, 7, 10, 14, 21, 30, 45)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=5_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--first-stage", type=int, default=10)
    ap.add_argument("--pcs", type=float, default=0.95)
    ap.add_argument("--indifference", default="1%")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()

    scenario = load_scenario(ROOT / "params" / "scenarios" / "default.yaml")
    bau = load_policy(ROOT / "params" / "policies" / "bau_default.yaml", scenario=scenario)
    policies = {
        f"every_{n}_days": bau.with_overrides(
            {"name": f"every_{n}_days", "campaigns.0.cadence.every_n_days": n}
        )
        for n in CADENCES
    }
    t0 = time.perf_counter()
    result = select(
        scenario,
        policies,
        pcs=args.pcs,
        indifference=args.indifference,
        first_stage=args.first_stage,
        seed=args.seed,
        customers=args.customers,
        days=args.days,
        workers=args.workers,
        out=ROOT / "benchmarks" / "results" / "select_store",  # resumable
    )
    wall = time.perf_counter() - t0
    rec = result.record
    print(result.text)
    runs = rec["study"]["runs_computed"] + rec["study"]["runs_loaded"]
    print(
        f"\n{rec['total_replications']} replications used, {rec['equal_allocation']} for equal "
        f"allocation ({rec['total_replications'] / rec['equal_allocation']:.1%}); "
        f"{runs} runs in {wall:.1f} s on {os.cpu_count()} cores"
    )
    out = ROOT / "benchmarks" / "results" / "bench_select.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "package_version": __version__,
                "machine": platform.platform(),
                "cores": os.cpu_count(),
                "customers": args.customers,
                "days": args.days,
                "wall_seconds": wall,
                "selection": rec,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
