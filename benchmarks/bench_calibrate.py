"""Benchmark: ``calibrate`` on awkward transaction logs, each within a minute.

Logs generated here (Pareto/NBD purchases and dropout, gamma-gamma spend, first purchases
spread over the period), each written to a temporary CSV and run through the real
:func:`~retention_sim.calibration.calibrate.calibrate` (weekly time unit, ``model="auto"``,
which fits both purchase models), twice: with the default ``split="seed"``, which simulates
the observed customers to share the fitted dropout among churn causes, and with
``split="lifestyle"``, which keeps it in one cause (reading, fitting and the customers file):

- ``same_dropout``: 3,000 customers, gamma-heterogeneous purchase rates, one dropout rate for
  everyone (the gamma heterogeneity of dropout goes to a boundary), also with ``model="bgnbd"``;
- ``no_heterogeneity``: one purchase rate and one dropout rate for everyone (every shape to a
  boundary); ``nobody_drops_out``: no dropout at all;
- ``tiny_20`` and ``tiny_5``: 20 and 5 customers (5 is refused: too little data);
- ``daily_buyers``: 300 customers buying most days for four years (about a thousand purchase
  days each) among 2,000 ordinary ones;
- ``engine_first_3000``: the first 3,000 rows of an engine run whose log is exactly a
  Pareto/NBD (few purchases per customer yet: the dropout heterogeneity goes to a boundary);
- ``two_million``: an engine-like log of about 2,000,000 rows (150,000 customers).

Prints one line per log (rows, customers, seconds under each split, the model selected, the
parameters at the bound of the search) and the verdict against the target (every log within
60 s); writes ``benchmarks/results/bench_calibrate.json`` (ignored by git).

Run::

    .venv/bin/python benchmarks/bench_calibrate.py                  # all logs (minutes)
    .venv/bin/python benchmarks/bench_calibrate.py --only same_dropout tiny_20   # some
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retention_sim import __version__, scenario_from_dict, simulate
from retention_sim.calibration.calibrate import calibrate
from retention_sim.errors import InputError
from retention_sim.vocabulary import CAUSES

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0
CHURN_CAUSES = tuple(c for c in CAUSES if c != "annoyance")  # the causes with a base rate
START = pd.Timestamp("2022-01-01")


def simulate_log(
    rng: np.random.Generator,
    customers: int,
    days: int,
    *,
    purchases_per_year: float,
    rate_shape: float | None,
    dropout_annual: float,
    dropout_shape: float | None,
) -> pd.DataFrame:
    """A Pareto/NBD log: first purchases uniform over ``days``, then purchases at a
    gamma-distributed rate (one rate for all when ``rate_shape`` is None) until an exponential
    dropout (gamma-distributed hazard, one for all when ``dropout_shape`` is None; none when
    ``dropout_annual`` is 0) or the end; gamma-gamma amounts (p 6, q 4, mean 100)."""
    rate = purchases_per_year / 365.0
    lam = (
        np.full(customers, rate)
        if rate_shape is None
        else rng.gamma(rate_shape, rate / rate_shape, customers)
    )
    hazard = -math.log1p(-dropout_annual) / 365.0
    if dropout_shape is None:
        mu = np.full(customers, hazard)
    else:
        mu = rng.gamma(dropout_shape, hazard / dropout_shape, customers)
    first = rng.integers(0, days, customers).astype(float)
    with np.errstate(divide="ignore"):
        life = rng.exponential(1.0, customers) / mu
    span = np.minimum(first + life, days) - first
    repeat = rng.poisson(lam * span)
    who = np.concatenate([np.arange(customers), np.repeat(np.arange(customers), repeat)])
    when = np.concatenate(
        [first, first[who[customers:]] + rng.random(repeat.sum()) * span[who[customers:]]]
    )
    nu = rng.gamma(4.0, 1.0 / 50.0, customers)  # gamma-gamma: q 4, gamma 50
    amount = rng.gamma(6.0, 1.0, who.size) / nu[who]
    dates = START + pd.to_timedelta(np.floor(when), unit="D")
    return pd.DataFrame(
        {"customer_id": who, "date": dates.strftime("%Y-%m-%d"), "amount": np.round(amount, 2)}
    )


def engine_log(seed: int) -> pd.DataFrame:
    """Two years of an engine run where the log is exactly a Pareto/NBD with gamma-gamma spend:
    ten new customers a day, purchases 6 a year (shape 0.8), one acausal dropout cause (30% a
    year, gamma frailty shape 1), every other mechanism off (as in
    ``tests/calibration/test_calibrate.py``)."""
    causes: dict[str, Any] = {c: {"annual_probability": 0} for c in CHURN_CAUSES}
    causes["competitor"]["events_per_year"] = 0
    causes["annoyance"] = {"annual_probability_per_excess": 0}
    causes["lifestyle"] = {"annual_probability": 0.3, "frailty": True}
    segment = {
        "share": 1.0,
        "purchase_rate_per_year": {"mean": 6.0, "shape": 0.8},
        "spend": {"mean_per_purchase": 100.0, "p": 6.0, "q": 4.0},
        "frailty_shape": 1.0,
    }
    scenario = scenario_from_dict(
        {
            "name": "engine_log",
            "calendar": {"start": "2024-01-01", "horizon_days": 730},
            "population": {
                "initial_customers": 0,
                "arrivals_per_day": 10.0,
                "tenure": {"mean_years": 0},
                "segments": {"all": segment},
            },
            "churn": {"causes": causes},
            "social": {"mean_ties": 0},
            "loyalty": {"enabled": False},
            "satisfaction": {"purchase_sensitivity": 0, "spread": 0},
            "service": {"agents": 1, "product_issue_rate_per_year": 0, "inquiry_rate_per_year": 0},
        },
        source="(benchmark)",
    )
    return simulate(scenario, seed=seed + 5).transactions


def _logs(seed: int) -> dict[str, Callable[[], pd.DataFrame]]:
    """The awkward logs, by name (each built only when run)."""

    def rng(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, k])

    def daily_buyers() -> pd.DataFrame:
        ordinary = simulate_log(
            rng(6),
            2_000,
            1460,
            purchases_per_year=6.0,
            rate_shape=0.8,
            dropout_annual=0.3,
            dropout_shape=1.0,
        )
        daily = simulate_log(
            rng(7),
            300,
            1460,
            purchases_per_year=500.0,
            rate_shape=20.0,
            dropout_annual=0.05,
            dropout_shape=1.0,
        )
        daily["customer_id"] += 10_000_000
        return pd.concat([ordinary, daily], ignore_index=True)

    common = {"purchases_per_year": 6.0, "rate_shape": 0.8, "dropout_annual": 0.3}
    return {
        "same_dropout": lambda: simulate_log(rng(1), 3_000, 730, **common, dropout_shape=None),
        "no_heterogeneity": lambda: simulate_log(
            rng(2),
            3_000,
            730,
            purchases_per_year=6.0,
            rate_shape=None,
            dropout_annual=0.3,
            dropout_shape=None,
        ),
        "nobody_drops_out": lambda: simulate_log(
            rng(3),
            3_000,
            730,
            purchases_per_year=6.0,
            rate_shape=0.8,
            dropout_annual=0.0,
            dropout_shape=None,
        ),
        "tiny_20": lambda: simulate_log(rng(4), 20, 730, **common, dropout_shape=1.0),
        "tiny_5": lambda: simulate_log(rng(5), 5, 730, **common, dropout_shape=1.0),
        "daily_buyers": daily_buyers,
        "engine_first_3000": lambda: engine_log(seed).head(3_000),
        "two_million": lambda: simulate_log(
            rng(8),
            150_000,
            1095,
            purchases_per_year=11.0,
            rate_shape=0.8,
            dropout_annual=0.3,
            dropout_shape=1.0,
        ),
    }


def run_one(name: str, frame: pd.DataFrame, model: str, folder: Path) -> dict[str, Any]:
    """Write the log, time ``calibrate`` on it (the default ``split="seed"``, which simulates the
    observed customers to share the dropout among causes, and ``split="lifestyle"``, which does
    not) and summarise what it found."""
    path = folder / f"{name}.csv"
    if not path.exists():
        frame.to_csv(path, index=False)
    record: dict[str, Any] = {
        "log": name,
        "model": model,
        "rows": int(len(frame)),
        "customers": int(frame["customer_id"].nunique()),
    }
    cal = None
    for split in ("seed", "lifestyle"):
        t0 = time.perf_counter()
        try:
            cal = calibrate(path, model=model, split=split)  # type: ignore[arg-type]
        except InputError as exc:
            record[f"seconds_{split}"] = round(time.perf_counter() - t0, 2)
            record["outcome"] = f"refused: {exc}"
            return record
        record[f"seconds_{split}"] = round(time.perf_counter() - t0, 2)
    assert cal is not None
    record["selected"] = cal.selected
    record["fits"] = {
        k: {
            "loglik": round(f.loglik, 3),
            "params": {p: float(f"{v:.4g}") for p, v in f.params.items()},
            "converged": f.converged,
            "at_bound": list(f.at_bound),
        }
        for k, f in cal.fits.items()
    }
    bound = [f"{k}: {', '.join(f.at_bound)}" for k, f in cal.fits.items() if f.at_bound]
    record["outcome"] = "at the bound: " + "; ".join(bound) if bound else "interior"
    record["notes"] = list(cal.notes)
    return record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", help="run only these logs")
    args = ap.parse_args()

    logs = _logs(args.seed)
    names = args.only or list(logs)
    records = []
    print(
        f"{'log':<18}{'model':<7}{'rows':>11}{'customers':>10}{'seed s':>9}{'lifestyle s':>13}"
        f"  {'selected':<11}fit"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            frame = logs[name]()
            models = ("auto", "bgnbd") if name == "same_dropout" else ("auto",)
            for model in models:
                rec = run_one(name, frame, model, Path(tmp))
                records.append(rec)
                lifestyle = rec.get("seconds_lifestyle")
                print(
                    f"{rec['log']:<18}{rec['model']:<7}{rec['rows']:>11,}{rec['customers']:>10,}"
                    f"{rec['seconds_seed']:>9.1f}"
                    f"{'-' if lifestyle is None else f'{lifestyle:.1f}':>13}"
                    f"  {rec.get('selected', '-'):<11}{rec['outcome']}",
                    flush=True,
                )
    worst = {
        split: max(r.get(f"seconds_{split}", 0.0) for r in records)
        for split in ("seed", "lifestyle")
    }
    verdict = "PASS" if max(worst.values()) <= TARGET_SECONDS else "FAIL"
    print(
        f"\nslowest: {worst['seed']:.1f} s with split=seed, {worst['lifestyle']:.1f} s with "
        f"split=lifestyle; target {TARGET_SECONDS:g} s per log: {verdict}"
    )
    out = ROOT / "benchmarks" / "results" / "bench_calibrate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "benchmark": "calibrate",
                "target_seconds": TARGET_SECONDS,
                "verdict": verdict,
                "slowest_seconds": worst,
                "logs": records,
                "cpu_count": os.cpu_count(),
                "package_version": __version__,
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
