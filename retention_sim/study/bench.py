"""The engine benchmark: customer-days per second, events, memory and where the time goes.

Run ``retention-sim bench`` (or ``make bench``). Each size runs in a fresh
process (so peak memory is that size's own), after a small warm-up run, on the default scenario
under its business-as-usual policy with every mechanism on. A second measurement runs the same
work on a two-worker process pool to report parallel efficiency.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from typing import Any

__all__ = [
    "load_inputs",
    "kernel_start",
    "run_size",
    "parallel_efficiency",
    "run_benchmark",
    "study_policies",
    "study_benchmark",
    "format_report",
]

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = ROOT / "params" / "scenarios" / "default.yaml"
DEFAULT_POLICY = ROOT / "params" / "policies" / "bau_default.yaml"


def load_inputs(scenario: str, policy: str | None):
    from ..config.policy import load_policy
    from ..config.scenario import load_scenario

    sc = load_scenario(scenario)
    pol = load_policy(policy, scenario=sc) if policy else None
    return sc, pol


def _one_run(scenario: str, policy: str | None, customers: int, days: int, seed: int) -> dict:
    """Time one run, part by part (executed in a child process)."""
    from ..model.result import build_result
    from ..model.simulation import StepTimer, assemble, build_world, run_world

    sc, pol = load_inputs(scenario, policy)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    world = build_world(sc, seed=seed, customers=customers, days=days)
    timer = StepTimer()
    mechanisms = assemble(world, pol, timer=timer)
    t1 = time.perf_counter()
    run_world(world, mechanisms)
    t2 = time.perf_counter()
    result = build_result(world, desk=mechanisms.desk, contacts=mechanisms.contacts)
    t3 = time.perf_counter()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # the customers and transactions tables are built on first use (experiments never read
    # them); time them apart, for whoever reads them after a single run
    n_tx = len(result.transactions)
    n_rows = len(result.customers)
    t4 = time.perf_counter()
    rss2 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    customer_days = float(result.daily["customers"].sum())
    daily = sum(timer.seconds.values())
    parts = dict(timer.seconds)
    parts["simpy processes (service requests, journeys) and scheduling"] = (t2 - t1) - daily
    events = next(world.env._eid) if hasattr(world.env, "_eid") else None
    return {
        "customers": customers,
        "days": days,
        "capacity": world.pop.capacity,
        "build_seconds": t1 - t0,
        "run_seconds": t2 - t1,
        "result_seconds": t3 - t2,
        "wall_seconds": t3 - t0,
        "customer_days": customer_days,
        "customer_days_per_second": customer_days / (t3 - t0),
        "simpy_events": events,
        "peak_rss_bytes": rss1,
        "rss_growth_bytes": rss1 - rss0,
        "bytes_per_customer": (rss1 - rss0) / max(world.pop.capacity, 1),
        "time_share": {k: v / (t2 - t1) for k, v in sorted(parts.items(), key=lambda x: -x[1])},
        "tables": {
            "seconds": t4 - t3,
            "transactions": n_tx,
            "customers": n_rows,
            "peak_rss_bytes": rss2,
            "bytes_per_customer_with_tables": (rss2 - rss0) / max(world.pop.capacity, 1),
        },
    }


def _kernel_start(scenario: str, policy: str | None) -> dict:
    """In a fresh process: numba's import, then the first tiny run (which loads the kernels
    from the disk cache, or compiles them) against a second one."""
    from ..model import kernels
    from ..model.simulation import simulate

    sc, pol = load_inputs(scenario, policy)
    t0 = time.perf_counter()
    if kernels.compiled():
        import numba  # noqa: F401
    t1 = time.perf_counter()
    simulate(sc, pol, seed=0, customers=200, days=3)
    t2 = time.perf_counter()
    simulate(sc, pol, seed=0, customers=200, days=3)
    t3 = time.perf_counter()
    return {
        "numba_import_seconds": t1 - t0,
        "kernel_seconds": max(0.0, (t2 - t1) - (t3 - t2)),
        "kernels": kernels.cache_stats(),
        "compiled": kernels.compiled(),
    }


def kernel_start(*, scenario: str, policy: str | None) -> dict:
    """What a fresh process pays for the compiled kernels before its first run: importing
    numba, and loading the kernels from the disk cache (or compiling them, the first time).

    Returns
    -------
    dict
        ``numba_import_seconds``; ``kernel_seconds``, the first tiny run's time over the
        second's; ``kernels``, per kernel the signatures ``loaded`` from the cache and
        ``compiled``; ``compiled``, whether the kernels are on (see ``RETENTION_SIM_KERNELS``).
    """
    from loky import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as ex:
        return ex.submit(_kernel_start, scenario, policy).result()


def run_size(
    customers: int, days: int, *, scenario: str, policy: str | None, seed: int = 1
) -> dict:
    """Benchmark one size in a fresh process, after a warm-up run in that process (a loky
    worker: no main guard needed in the calling script)."""
    from loky import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as ex:
        ex.submit(_one_run, scenario, policy, min(customers, 2000), min(days, 30), seed).result()
        return ex.submit(_one_run, scenario, policy, customers, days, seed).result()


def _spin(n: int) -> float:
    """A pure-Python loop: the machine's own two-process efficiency, as a control."""
    t = time.perf_counter()
    s = 0
    for i in range(n):
        s += i
    return time.perf_counter() - t


def parallel_efficiency(
    customers: int,
    days: int,
    *,
    scenario: str,
    policy: str | None,
    tasks: int = 4,
    repeats: int = 3,
) -> dict:
    """Serial time of ``tasks`` runs against their time on a two-worker pool.

    Each timing is the best of ``repeats`` (serial and pooled alternate), the usual guard
    against a shared machine's momentary load. The same pools also time a pure-Python loop
    (``machine_efficiency``): what two processes get from this machine at that moment, so that
    a low figure can be told apart from a property of the engine.
    """
    from loky import ProcessPoolExecutor

    work = [(scenario, policy, customers, days, k) for k in range(tasks)]
    serial_times, parallel_times, control = [], [], []
    spin = 5_000_000
    with (
        ProcessPoolExecutor(1) as one,
        ProcessPoolExecutor(2) as two,
    ):
        one.submit(_one_run, scenario, policy, 1000, 10, 0).result()  # warm-up
        list(two.map(_one_run, *zip(*[(scenario, policy, 1000, 10, 0)] * 2, strict=True)))
        for _ in range(max(1, repeats)):
            t = time.perf_counter()
            for args in work:
                one.submit(_one_run, *args).result()
            serial_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            list(two.map(_one_run, *zip(*work, strict=True)))
            parallel_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            for _k in range(2):
                one.submit(_spin, spin).result()
            c_serial = time.perf_counter() - t
            t = time.perf_counter()
            list(two.map(_spin, [spin, spin]))
            control.append(c_serial / (2 * (time.perf_counter() - t)))
    serial, parallel = min(serial_times), min(parallel_times)
    return {
        "tasks": tasks,
        "customers": customers,
        "days": days,
        "repeats": max(1, repeats),
        "serial_seconds": serial,
        "two_workers_seconds": parallel,
        "serial_seconds_all": serial_times,
        "two_workers_seconds_all": parallel_times,
        "speedup": serial / parallel,
        "efficiency": serial / (2 * parallel),
        "machine_efficiency": control,
    }


#: The whole-study benchmark's policies on the default scenario: the presets that fit it, then
#: the business-as-usual policy with its weekly email every 3, 5, 10 and 14 days.
STUDY_POLICIES = (
    "bau_default",
    "playbook_software",
    "playbook_fashion",
    "playbook_loyalty_app",
    "daily_blast",
    "no_contact",
)
STUDY_CADENCES = (3, 5, 10, 14)


def study_policies(scenario: Any, count: int = 10) -> list:
    """The first ``count`` policies of the whole-study benchmark (at most 10), validated."""
    from ..config.policy import load_policy

    folder = ROOT / "params" / "policies"
    pols = [load_policy(folder / f"{p}.yaml", scenario=scenario) for p in STUDY_POLICIES]
    bau = pols[0]
    pols += [bau.with_overrides({"campaigns.0.cadence.every_n_days": n}) for n in STUDY_CADENCES]
    if not 1 <= count <= len(pols):
        raise ValueError(f"the study benchmark has 1 to {len(pols)} policies, not {count}")
    return pols[:count]


def study_benchmark(
    *,
    policies: int = 10,
    replications: int = 20,
    customers: int = 100_000,
    days: int = 365,
    workers: int = 2,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Time a whole policy comparison: ``policies`` × ``replications`` runs of ``customers`` ×
    ``days`` on the default scenario, on a process pool of ``workers`` (each worker pays its
    own numba import and kernel cache load, which the time includes).

    Returns
    -------
    dict
        The study's size, ``wall_seconds``, ``seconds_per_run_per_worker`` and
        ``nominal_customer_days_per_second`` (runs × customers × days over the wall time: the
        starting base's size, not the customers present each day).
    """
    from ..config.scenario import load_scenario
    from .compare import compare

    sc = load_scenario(DEFAULT_SCENARIO)
    pols = study_policies(sc, policies)
    t0 = time.perf_counter()
    compare(
        sc, pols, replications=replications, seed=seed, customers=customers, days=days,
        backend="processes", workers=workers, progress=progress,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    runs = len(pols) * replications
    return {
        "policies": [p.name for p in pols],
        "replications": replications,
        "customers": customers,
        "days": days,
        "workers": workers,
        "runs": runs,
        "wall_seconds": wall,
        "seconds_per_run_per_worker": wall * workers / runs,
        "nominal_customer_days_per_second": runs * customers * days / wall,
    }


def run_benchmark(
    sizes: list[int],
    days: int,
    *,
    scenario: str = str(DEFAULT_SCENARIO),
    policy: str | None = str(DEFAULT_POLICY),
    parallel_customers: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run every size and the parallel-efficiency check; return the figures."""
    out: dict[str, Any] = {"scenario": scenario, "policy": policy, "days": days, "sizes": []}
    out["start"] = kernel_start(scenario=scenario, policy=policy)
    for n in sizes:
        if progress:
            print(f"benchmark: {n:,} customers × {days} days ...", file=sys.stderr, flush=True)
        out["sizes"].append(run_size(n, days, scenario=scenario, policy=policy))
    if len(out["sizes"]) >= 2:
        a, b = out["sizes"][-2], out["sizes"][-1]
        out["scaling"] = {
            "from": a["customers"],
            "to": b["customers"],
            "time_ratio": b["wall_seconds"] / a["wall_seconds"],
            "size_ratio": b["customers"] / a["customers"],
        }
    if parallel_customers:
        if progress:
            print("benchmark: parallel efficiency ...", file=sys.stderr, flush=True)
        out["parallel"] = parallel_efficiency(
            parallel_customers, days, scenario=scenario, policy=policy
        )
    return out


def format_report(fig: dict[str, Any]) -> str:
    """A readable table of the benchmark figures."""
    lines = [f"scenario {fig['scenario']}  policy {fig['policy']}  {fig['days']} days"]
    if "start" in fig:
        st = fig["start"]
        how = ", ".join(
            f"{k.rsplit('.', 2)[-2]}.{k.rsplit('.', 1)[-1]}: "
            + ("compiled" if v["compiled"] else "loaded from cache")
            for k, v in st["kernels"].items()
        )
        lines.append(
            f"a fresh process: numba import {st['numba_import_seconds']:.2f} s, kernels "
            f"{st['kernel_seconds']:.2f} s ({how or 'none: the NumPy references run'})"
        )
    lines.append(
        f"{'customers':>10} {'wall s':>8} {'cust-days/s':>12} {'events':>10} "
        f"{'peak MB':>8} {'B/customer':>10}"
    )
    for s in fig["sizes"]:
        lines.append(
            f"{s['customers']:>10,} {s['wall_seconds']:>8.2f} "
            f"{s['customer_days_per_second']:>12.3g} {s['simpy_events'] or 0:>10,} "
            f"{s['peak_rss_bytes'] / 2**20:>8.0f} {s['bytes_per_customer']:>10.0f}"
        )
    lines.append(
        "reading result.customers and result.transactions after the run (built on first use):"
    )
    for s in fig["sizes"]:
        t = s["tables"]
        lines.append(
            f"{s['customers']:>10,} +{t['seconds']:.2f} s for {t['transactions']:,} "
            f"transactions and {t['customers']:,} customers; peak "
            f"{t['peak_rss_bytes'] / 2**20:.0f} MB, {t['bytes_per_customer_with_tables']:.0f} "
            "B/customer with the tables"
        )
    if fig["sizes"]:
        big = fig["sizes"][-1]
        lines.append(f"time share at {big['customers']:,} customers:")
        for k, v in big["time_share"].items():
            lines.append(f"  {k:<60} {v:6.1%}")
    if "scaling" in fig:
        sc = fig["scaling"]
        lines.append(
            f"scaling {sc['from']:,} → {sc['to']:,}: {sc['time_ratio']:.1f}× the time for "
            f"{sc['size_ratio']:.0f}× the customers"
        )
    if "parallel" in fig:
        p = fig["parallel"]
        lines.append(
            f"process pool, 2 workers, {p['tasks']} runs of {p['customers']:,} customers: "
            f"speed-up {p['speedup']:.2f}, efficiency {p['efficiency']:.0%} "
            f"(best of {p.get('repeats', 1)})"
        )
        if p.get("machine_efficiency"):
            lines.append(
                "  control: a pure-Python loop on the same pools got "
                + ", ".join(f"{e:.0%}" for e in p["machine_efficiency"])
                + " (what this machine gives two processes at those moments)"
            )
    return "\n".join(lines)
