"""compare(): common random numbers, paired statistics, Holm, verdicts, tidy tables, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from retention_sim import InputError, compare, simulate
from retention_sim.cli.main import main
from retention_sim.config.policy import load_policy
from retention_sim.study import statistics as st
from retention_sim.study.comparison import Comparison
from retention_sim.study.execution import replication_seed
from retention_sim.study.guardrails import DEFAULT_GUARDRAILS
from retention_sim.study.metrics import DAILY_SERIES, METRICS, flatten_summary
from retention_sim.study.verdict import DECISIONS

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"
SMALL = {"customers": 300, "days": 60, "backend": "serial", "progress": False}


@pytest.fixture(scope="module")
def bau(default_scenario):
    return load_policy(POLICIES / "bau_default.yaml", scenario=default_scenario)


@pytest.fixture(scope="module")
def small_study(default_scenario, bau):
    return compare(default_scenario, [bau, None], replications=3, seed=5, **SMALL)


# ----------------------------------------------------------------------------- synthetic
def synthetic(
    arms: dict[str, np.ndarray],
    *,
    metric: str = "profit",
    others: dict[str, dict[str, np.ndarray]] | None = None,
    days: int = 3,
) -> Comparison:
    """A Comparison built from known values (the first arm is the baseline)."""
    n = len(next(iter(arms.values())))
    values, daily = {}, {}
    for name, v in arms.items():
        a = np.zeros((n, len(METRICS)))
        a[:, METRICS.index(metric)] = v
        for m, vals in (others or {}).get(name, {}).items():
            a[:, METRICS.index(m)] = vals
        values[name] = a
        daily[name] = {s: np.zeros((n, days)) for s in DAILY_SERIES}
    info = {
        "scenario": "synthetic",
        "scenario_hash": "0" * 16,
        "seed": 0,
        "customers": 1000,
        "days": days,
        "start_date": "2026-01-01",
        "currency": "VND",
    }
    return Comparison(
        policies=list(arms),
        baseline=next(iter(arms)),
        values=values,
        daily=daily,
        seeds=[replication_seed(0, k) for k in range(n)],
        info=info,
    )


# ----------------------------------------------------------------------------- the runs
def test_replication_k_of_every_policy_is_simulate_with_the_derived_seed(
    default_scenario, bau, small_study
):
    seeds = [replication_seed(5, k) for k in range(3)]
    assert small_study.seeds == seeds
    direct = simulate(default_scenario, bau, seed=seeds[1], customers=300, days=60)
    expected = flatten_summary(direct.summary)
    got = {m: small_study.values("bau_default", m)[1] for m in METRICS}
    assert got == expected
    none = flatten_summary(
        simulate(default_scenario, None, seed=seeds[2], customers=300, days=60).summary
    )
    assert none["unsubscribe_rate"] == 0 and none["messages_delivered"] == 0
    assert small_study.values("no_contact", "profit")[2] == none["profit"]


def test_table_summary_and_daily_are_tidy(small_study):
    t = small_study.table()
    assert list(t.columns) == ["policy", "replication", "metric", "value"]
    assert len(t) == 2 * 3 * len(METRICS)
    assert set(t["policy"]) == {"bau_default", "no_contact"}

    s = small_study.summary()
    pol = s[s["kind"] == "policy"]
    assert len(pol) == 2 * len(METRICS)
    assert (pol["low"] <= pol["mean"]).all() and (pol["mean"] <= pol["high"]).all()
    diff = s[(s["kind"] == "difference") & (s["metric"] == "profit")].iloc[0]
    paired = st.paired_difference(
        small_study.values("no_contact", "profit"), small_study.values("bau_default", "profit")
    )
    assert diff["policy"] == "no_contact" and diff["baseline"] == "bau_default"
    assert (diff["mean"], diff["low"], diff["high"]) == pytest.approx(
        (paired.mean, paired.low, paired.high)
    )

    d = small_study.daily()
    assert list(d.columns) == ["policy", "date", "series", "mean", "low", "high"]
    assert len(d) == 2 * len(DAILY_SERIES) * 60
    assert d["date"].min() == pd.Timestamp("2026-01-01")
    ok = d["low"].le(d["mean"] + 1e-9) & d["mean"].le(d["high"] + 1e-9)
    assert ok.all()
    # the last cumulated profit is the run's profit
    last = d[(d["series"] == "profit_cumulative") & (d["policy"] == "bau_default")].iloc[-1]
    assert last["mean"] == pytest.approx(small_study.values("bau_default", "profit").mean())
    dd = small_study.daily(["customers"], difference=True)
    assert set(dd["policy"]) == {"no_contact"}


def test_pairing_narrows_the_profit_interval_at_least_threefold(default_scenario, bau):
    """Two nearby policies: promo every 7 days (bau) vs every 8 days."""
    bau8 = bau.with_overrides({"campaigns.0.cadence.every_n_days": 8}).model_copy(
        update={"name": "bau_every_8"}
    )
    kw = {"customers": 600, "days": 90, "backend": "serial", "progress": False}
    paired = compare(default_scenario, [bau, bau8], replications=6, seed=0, **kw)
    # the same candidate on other seeds: what a study without common random numbers would see
    other = compare(default_scenario, [bau8], replications=6, seed=1, **kw)
    base = paired.values("bau_default", "profit")
    hw_paired = st.paired_difference(paired.values("bau_every_8", "profit"), base).halfwidth
    hw_unpaired = st.unpaired_difference(other.values("bau_every_8", "profit"), base).halfwidth
    assert hw_unpaired / hw_paired >= 3
    assert paired.pairing_efficiency("profit")["bau_every_8"] >= 3


def test_target_halfwidth_adds_batches_until_narrow_enough(default_scenario, bau):
    first = compare(default_scenario, [bau, None], replications=3, seed=2, **SMALL)
    hw3 = first.paired("no_contact", "profit").halfwidth
    target = hw3 / 2
    grown = compare(
        default_scenario,
        [bau, None],
        replications=3,
        seed=2,
        target_halfwidth=target,
        max_replications=14,
        **SMALL,
    )
    n = grown.replications
    assert n > 3
    assert grown.paired("no_contact", "profit").halfwidth <= target or n == 14
    # batches keep the seeds: the first three replications are the first study
    assert np.array_equal(
        grown.values("no_contact", "profit")[:3], first.values("no_contact", "profit")
    )


def test_bad_arguments_are_input_errors(default_scenario, bau):
    with pytest.raises(InputError, match="baseline"):
        compare(default_scenario, [bau, None], baseline="nope", replications=2, **SMALL)
    with pytest.raises(InputError, match="at least 2"):
        compare(default_scenario, [bau], replications=1, **SMALL)
    with pytest.raises(InputError, match="twice"):
        compare(default_scenario, [bau, bau], replications=2, **SMALL)
    with pytest.raises(InputError, match="unknown metric"):
        compare(default_scenario, [bau], replications=2, objective="happiness", **SMALL)


# ----------------------------------------------------------------------------- Holm and verdicts
def test_holm_adjustment_over_candidates():
    rng = np.random.default_rng(11)
    base = rng.normal(1000, 100, size=8)
    arms = {
        "base": base,
        "strong": base + rng.normal(50, 10, size=8),
        "weak": base + rng.normal(8, 10, size=8),
        "null": base + rng.normal(0, 10, size=8),
    }
    c = synthetic(arms)
    d = c.differences("profit").set_index("candidate")
    p = [st.paired_p_value(arms[k] - base) for k in ("strong", "weak", "null")]
    assert d.loc[["strong", "weak", "null"], "p_value"].tolist() == pytest.approx(p)
    assert d.loc[["strong", "weak", "null"], "p_holm"].tolist() == pytest.approx(st.holm(p))
    for k in ("strong", "weak", "null"):
        excludes = d.loc[k, "adj_low"] > 0 or d.loc[k, "adj_high"] < 0
        assert excludes == (d.loc[k, "p_holm"] < 0.05)
        assert d.loc[k, "adj_high"] - d.loc[k, "adj_low"] >= d.loc[k, "high"] - d.loc[k, "low"]


def test_verdict_adopt_names_the_change_its_interval_and_each_guardrail():
    rng = np.random.default_rng(12)
    base = rng.normal(5e8, 1e7, size=10)
    cand = base + rng.normal(2e6, 2e5, size=10)
    c = synthetic(
        {"bau": base, "new": cand},
        others={
            "new": {"unsubscribe_rate": np.full(10, 0.002), "complaint_rate": np.full(10, 1e-4)}
        },
    )
    v = c.verdict("profit", {"unsubscribe_rate": 0.003, "complaint_rate": 0.0005}, min_effect=0)
    assert v.decision == "adopt"
    assert v.text.startswith("Verdict: ADOPT new instead of bau.")
    iv = st.t_interval(cand - base)
    assert v.difference == pytest.approx(iv.mean)
    assert (v.low, v.high) == pytest.approx((iv.low, iv.high))
    assert f"{iv.mean:+,.0f} VND" in v.text and f"{iv.low:+,.0f} VND" in v.text
    assert "Profit changes by" in v.text and "10 paired replications" in v.text
    # constant values: the upper bound is the value itself
    assert (
        "unsubscribe rate 0.200% (95% upper bound 0.200%; limit 0.300%; "
        "P(limit exceeded) < 5.0%): HELD" in v.text
    )
    assert "complaint rate 0.010% (95% upper bound 0.010%; limit 0.050%;" in v.text
    assert [g.held for g in v.guardrails] == [True, True]


def test_verdict_rejects_on_a_broken_guardrail_even_when_the_objective_improves():
    rng = np.random.default_rng(13)
    base = rng.normal(5e8, 1e7, size=6)
    c = synthetic(
        {"bau": base, "loud": base + 3e6},
        others={"loud": {"unsubscribe_rate": np.full(6, 0.004)}, "bau": {}},
    )
    v = c.verdict(guardrails={"unsubscribe_rate": 0.003})
    assert v.decision == "reject"
    assert "REJECT loud" in v.text and "guardrail broken: unsubscribe rate" in v.text
    assert "unsubscribe rate 0.400% (95% upper bound 0.400%; limit 0.300%;" in v.text
    assert v.text.endswith("): BROKEN")
    # the relative form: an increase over the baseline
    v2 = c.verdict(guardrails={"unsubscribe_rate": {"max_increase": 0.001}})
    assert v2.decision == "reject"
    assert "unsubscribe rate change over the baseline +0.400 pp (95% upper bound" in v2.text


def test_verdict_rejects_a_worse_candidate_and_flips_lower_is_better_metrics():
    rng = np.random.default_rng(14)
    base = rng.normal(0.01, 0.002, size=8)
    worse = base + rng.normal(0.002, 0.0002, size=8)  # more unsubscribes: worse
    c = synthetic({"bau": base, "cand": worse}, metric="unsubscribe_rate")
    v = c.verdict("unsubscribe_rate", {})
    assert v.decision == "reject" and "getting worse" in v.text
    assert v.probability_better < 0.01
    better = synthetic({"bau": base, "cand": base - 0.002}, metric="unsubscribe_rate")
    assert better.verdict("unsubscribe_rate", {}).decision == "adopt"


def test_inconclusive_verdict_estimates_the_replications_that_would_settle_it():
    rng = np.random.default_rng(15)
    base = rng.normal(1e6, 1e5, size=5)
    diff = rng.normal(1e3, 3e3, size=5)
    c = synthetic({"bau": base, "cand": base + diff})
    iv = st.t_interval(diff)
    assert iv.low < 0 < iv.high  # the premise: the interval straddles zero
    v = c.verdict(guardrails={}, min_effect=0)
    assert v.decision == "inconclusive"
    expected = st.replications_for_halfwidth(iv.sd, abs(iv.mean))
    assert v.replications_needed == max(6, expected)
    assert f"Roughly {v.replications_needed:,} replications in all" in v.text
    assert f"({v.replications_needed - 5:,} more)" in v.text
    assert "Guardrails: none set." in v.text


def test_identical_policies_are_inconclusive_without_a_replication_estimate():
    base = np.arange(4.0)
    same = synthetic({"bau": base, "same": base.copy()})
    v = same.verdict(min_effect=0)
    assert v.decision == "inconclusive" and v.replications_needed is None
    assert "perform the same" in v.text
    # with a practical threshold, no difference at all is "equivalent"
    assert same.verdict().decision == "equivalent"


def test_several_candidates_give_one_verdict_with_holm_wording():
    rng = np.random.default_rng(16)
    base = rng.normal(1e7, 1e6, size=10)
    c = synthetic(
        {
            "bau": base,
            "good": base + rng.normal(2e5, 1e4, size=10),
            "better": base + rng.normal(4e5, 1e4, size=10),
            "bad": base - rng.normal(2e5, 1e4, size=10),
        }
    )
    v = c.verdict("profit")
    assert v.decision == "adopt" and v.candidate == "better"
    assert set(v.by_candidate) == {"good", "better", "bad"}
    assert v.by_candidate["bad"].decision == "reject"
    assert "Holm-adjusted for 3 candidates" in v.text
    assert v.text.startswith("Verdict: ADOPT better instead of bau (2 of 3 candidates pass")
    assert c.verdict(candidate="bad").decision == "reject"
    with pytest.raises(InputError):
        c.verdict(guardrails={"happiness": 1})
    with pytest.raises(InputError):
        c.verdict(candidate="bau")


# ----------------------------------------------------------------------------- output and CLI
def test_write_comparison_json_and_csv(small_study, tmp_path):
    v = small_study.verdict(guardrails={"unsubscribe_rate": 0.01})
    paths = small_study.write(tmp_path, verdict=v)
    assert [p.name for p in paths] == ["comparison.json", "comparison.csv", "runs.csv"]
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs.columns) == ["policy", "replication", "metric", "value"]
    profit = runs[(runs.policy == "bau_default") & (runs.metric == "profit")]["value"]
    assert np.allclose(profit, small_study.values("bau_default", "profit"), rtol=1e-9)
    # no float in an output CSV carries more than ten significant digits
    raw = pd.read_csv(tmp_path / "runs.csv", dtype=str)["value"]
    for text in raw:
        digits = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0").rstrip("0")
        assert len(digits) <= 10, text
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert data["verdict"]["decision"] == v.decision
    assert (
        data["runs"]["bau_default"]["profit"]
        == small_study.values("bau_default", "profit").tolist()
    )
    assert data["study"]["scenario_hash"] == small_study.info["scenario_hash"]
    csv = pd.read_csv(tmp_path / "comparison.csv")
    assert {"kind", "policy", "metric", "mean", "low", "high"} <= set(csv.columns)


def test_cli_compare_prints_the_table_and_verdict_and_writes_files(tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = [
        "compare",
        str(SCENARIOS / "default.yaml"),
        "-p",
        str(POLICIES / "bau_default.yaml"),
        "-p",
        str(POLICIES / "no_contact.yaml"),
        "-r",
        "2",
        "--customers",
        "300",
        "--days",
        "40",
        "--backend",
        "serial",
        "--no-progress",
        "--guardrail",
        "unsubscribe_rate=0.003",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "paired difference candidate - bau_default" in printed
    assert "Verdict:" in printed and "unsubscribe rate" in printed
    data = json.loads((out / "comparison.json").read_text())
    assert data["policies"] == ["bau_default", "no_contact"]
    assert data["verdict"]["decision"] in DECISIONS
    # the default guardrails apply on the command line
    assert [g["metric"] for g in data["verdict"]["guardrails"]] == list(DEFAULT_GUARDRAILS)
    assert (out / "comparison.csv").exists() and (out / "runs").is_dir()


@pytest.mark.parametrize(
    "tail",
    [
        ["-p", "missing.yaml"],
        ["-p", str(POLICIES / "bau_default.yaml"), "--guardrail", "happiness=1"],
        ["-p", str(POLICIES / "bau_default.yaml"), "--guardrail", "unsubscribe_rate"],
        ["-p", str(POLICIES / "bau_default.yaml"), "-r", "1"],
        ["-p", str(POLICIES / "bau_default.yaml"), "--baseline", "nope"],
        ["-p", str(POLICIES / "bau_default.yaml"), "--target-halfwidth", "-3"],
        ["-p", str(POLICIES / "bau_default.yaml"), "--min-effect", "abc"],
        ["-p", str(POLICIES / "bau_default.yaml"), "--min-effect", "-1%"],
        ["-p", str(POLICIES / "bau_default.yaml"), "--guardrail", "happiness=off"],
    ],
)
def test_cli_compare_bad_input_is_one_line_and_exit_2(tail, capsys):
    argv = ["compare", str(SCENARIOS / "default.yaml"), "--backend", "serial", "--no-progress"]
    try:
        code = main(argv + ["--customers", "100", "--days", "5", *tail])
    except SystemExit as exc:  # argparse errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_format_metric_units():
    from retention_sim.study.metrics import format_metric

    assert format_metric("profit", 1234567.4, "VND") == "1,234,567 VND"
    assert format_metric("profit", -5.0, "VND", difference=True) == "-5.00 VND"
    assert format_metric("unsubscribe_rate", 0.0025) == "0.250%"
    assert format_metric("retention_rate", 0.012, difference=True) == "+1.20 pp"
    assert format_metric("churned", math.nan) == "n/a"


# ----------------------------------------------------------------------------- coverage (slow)
@pytest.mark.slow
def test_paired_interval_covers_the_true_difference_about_95_percent(default_scenario, bau):
    """The "true" paired difference bau − no contact is estimated from 500 replications with
    their own seeds; then 150 small studies of 5 replications each (other seeds) should cover it
    about 95% of the time. Tolerance: three binomial standard errors, plus 0.01 for the
    reference's own error and the t-interval's reliance on normality at n = 5."""
    kw = {"customers": 200, "days": 20, "backend": "processes", "workers": 2, "progress": False}
    ref = compare(default_scenario, [bau, None], replications=500, seed=1000, **kw)
    truth = ref.paired("no_contact", "profit").mean

    studies, n = 150, 5
    pool = compare(default_scenario, [bau, None], replications=studies * n, seed=2000, **kw)
    cand, base = pool.values("no_contact", "profit"), pool.values("bau_default", "profit")
    hits = 0
    for j in range(studies):
        block = slice(j * n, (j + 1) * n)
        iv = st.paired_difference(cand[block], base[block])
        hits += iv.low <= truth <= iv.high
    coverage = hits / studies
    tol = 3 * math.sqrt(0.95 * 0.05 / studies) + 0.01
    assert abs(coverage - 0.95) <= tol, f"coverage {coverage:.3f}"
