"""Benchmark: each compiled kernel against its NumPy reference, on one state, and the memory floor.

A run of the default scenario under ``bau_default`` is stopped after 30 days; then each step's
kernel and reference are timed on that state (best of ``--repeats``, the state restored before
each call, numba's compile and cache load excluded by a first call). The memory floor is one
pass of ``clock -= hazard`` over the churn clocks' shape (float64 minus float32, 20 bytes an
element): what the clocks cost at the least. Prints a table; writes
``benchmarks/results/bench_kernels.json`` (ignored by git).

Run::

    .venv/bin/python benchmarks/bench_kernels.py                    # 100,000 customers
    .venv/bin/python benchmarks/bench_kernels.py --customers 1000000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from retention_sim.model.ranking import stable_argsort
from retention_sim.model.simulation import assemble, build_world, run_world
from retention_sim.study.bench import DEFAULT_POLICY, DEFAULT_SCENARIO, load_inputs

ROOT = Path(__file__).resolve().parents[1]


def _best(call, restore, repeats: int) -> float:
    """Best wall time of ``call()`` in milliseconds, ``restore()`` before each."""
    restore()
    call()  # numba's compile or cache load, and warm caches
    best = float("inf")
    for _ in range(repeats):
        restore()
        t = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()

    sc, pol = load_inputs(str(DEFAULT_SCENARIO), str(DEFAULT_POLICY))
    day = 30
    world = build_world(sc, seed=1, customers=args.customers, days=day + 1)
    mech = assemble(world, pol)
    run_world(world, mech)  # the state after day 30, stepped again on day 30
    pop, today = world.pop, world.today
    today.competitor_pressure = 1.0
    today.woken = np.zeros(pop.capacity, dtype=bool)
    today.wakeup_multiplier = 1.0
    today.fatigue_total = pop.fatigue.sum(axis=1)
    today.purchase_boost = np.ones(pop.capacity)
    today.purchase_hazard = today.basket_multiplier = None
    clocks, stage = pop.churn_clock.copy(), pop.stage.copy()
    u = np.random.default_rng(0).random(pop.capacity)

    def restore() -> None:
        pop.churn_clock[:] = clocks
        pop.stage[:] = stage

    def stages(step):
        return lambda: step(day)

    rows = {}
    ch, pu, st = mech.churn, mech.purchases, mech.stages
    pairs = {
        "churn clocks": (lambda: ch.clocks_compiled(day), lambda: ch.clocks_reference(day)),
        "purchase draw": (lambda: pu.buyers_compiled(day, u), lambda: pu.buyers_reference(day, u)),
        "stages": (stages(st.step_compiled), stages(st.step_reference)),
        "stable order of spend": (
            lambda: stable_argsort(pop.spend_total),
            lambda: np.argsort(pop.spend_total, kind="stable"),
        ),
    }
    for name, (kernel, reference) in pairs.items():
        rows[name] = {
            "kernel_ms": _best(kernel, restore, args.repeats),
            "reference_ms": _best(reference, restore, args.repeats),
        }
    a = np.random.default_rng(1).random(pop.churn_clock.size)
    b = np.random.default_rng(2).random(a.size).astype(np.float32)
    floor = _best(lambda: np.subtract(a, b, out=a), lambda: None, args.repeats)
    record = {
        "customers": args.customers,
        "rows": int(pop.capacity),
        "steps": rows,
        "clock_floor_ms": floor,
        "clock_floor_gb_per_s": a.size * 20 / (floor / 1e3) / 1e9,
    }
    print(
        f"{args.customers:,} customers ({pop.capacity:,} rows), day {day}, best of {args.repeats}"
    )
    print(f"{'step':<24} {'kernel ms':>10} {'NumPy ms':>10} {'ratio':>7}")
    for name, r in rows.items():
        ratio = r["reference_ms"] / r["kernel_ms"]
        print(f"{name:<24} {r['kernel_ms']:>10.3f} {r['reference_ms']:>10.3f} {ratio:>6.1f}×")
    print(
        f"memory floor of the clocks (clock -= hazard over {a.size:,} elements): {floor:.2f} ms, "
        f"{record['clock_floor_gb_per_s']:.1f} GB/s"
    )
    out = ROOT / "benchmarks" / "results" / "bench_kernels.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
