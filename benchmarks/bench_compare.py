"""Benchmark: a full policy comparison on the local process pool.

Five policies (bau_default, playbook_software, playbook_fashion, playbook_loyalty_app, no_contact)
× 20 replications × 20,000 starting customers × 365 days on the default scenario, with
``backend="processes"`` (one worker per core). Prints the wall time, the throughput and the
verdict; writes ``benchmarks/results/bench_compare.json`` (ignored by git).

Run::

    .venv/bin/python benchmarks/bench_compare.py            # the full benchmark (minutes)
    .venv/bin/python benchmarks/bench_compare.py --customers 2000 --replications 4  # quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from retention_sim import __version__, compare, load_scenario
from retention_sim.config.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]
POLICIES = (
    "bau_default",
    "playbook_software",
    "playbook_fashion",
    "playbook_loyalty_app",
    "no_contact",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--progress", action="store_true", help="show a progress bar")
    args = ap.parse_args()

    scenario = load_scenario(ROOT / "params" / "scenarios" / "default.yaml")
    policies = [
        load_policy(ROOT / "params" / "policies" / f"{p}.yaml", scenario=scenario) for p in POLICIES
    ]
    workers = args.workers or os.cpu_count() or 1
    runs = len(policies) * args.replications
    t0 = time.perf_counter()
    comparison = compare(
        scenario,
        policies,
        replications=args.replications,
        seed=args.seed,
        customers=args.customers,
        days=args.days,
        backend="processes",
        workers=workers,
        progress=args.progress,
    )
    wall = time.perf_counter() - t0
    verdict = comparison.verdict(
        "profit",
        guardrails={"unsubscribe_rate": 0.003, "complaint_rate": 0.0005},
    )
    record = {
        "benchmark": "compare",
        "policies": list(POLICIES),
        "replications": args.replications,
        "customers": args.customers,
        "days": args.days,
        "runs": runs,
        "workers": workers,
        "cpu_count": os.cpu_count(),
        "wall_seconds": round(wall, 2),
        "seconds_per_run_per_worker": round(wall * workers / runs, 3),
        "runs_per_minute": round(60.0 * runs / wall, 2),
        "pairing_efficiency_profit": {
            k: round(v, 2) for k, v in comparison.pairing_efficiency("profit").items()
        },
        "decision": verdict.decision,
        "package_version": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(comparison.to_text())
    print()
    print(verdict.text)
    print()
    print(
        f"{runs} runs ({len(POLICIES)} policies x {args.replications} replications, "
        f"{args.customers:,} customers x {args.days} days) on {workers} worker processes: "
        f"{wall:.1f} s wall, {record['runs_per_minute']} runs/min, "
        f"{record['seconds_per_run_per_worker']} s per run per worker"
    )
    out = ROOT / "benchmarks" / "results" / "bench_compare.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
