"""Every plot returns a figure with the expected axes, titles and series."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from retention_sim import compare, simulate
from retention_sim.config.policy import load_policy
from retention_sim.reporting import plots

from ..conftest import ROOT

NAMES = ["bau_default", "playbook_software", "no_contact"]


@pytest.fixture(scope="module")
def policies(default_scenario):
    return {
        n: load_policy(ROOT / "params" / "policies" / f"{n}.yaml", scenario=default_scenario)
        for n in NAMES
    }


@pytest.fixture(scope="module")
def comparison(default_scenario, policies):
    return compare(
        default_scenario,
        list(policies.values()),
        replications=3,
        customers=400,
        days=60,
        backend="serial",
        progress=False,
    )


@pytest.fixture(scope="module")
def results(default_scenario, policies):
    return {
        n: simulate(default_scenario, p, seed=0, customers=600, days=90)
        for n, p in policies.items()
    }


def _lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_label() and not ln.get_label().startswith("_")]


def test_no_policy_is_drawn_in_the_colour_of_a_warning():
    import colorsys

    from matplotlib.colors import to_rgb

    for c in plots.policy_colors([str(i) for i in range(10)]).values():
        h, light, sat = colorsys.rgb_to_hls(*to_rgb(c))
        red = (h < 20 / 360 or h > 340 / 360) and sat > 0.4
        assert not red, c


def test_policy_colours_are_stable():
    # colours go by position in the list, not by name (so no per-process hashing of names),
    # and adding a policy at the end keeps the colours of those before it
    colors = plots.policy_colors(NAMES)
    assert list(colors) == NAMES
    assert list(plots.policy_colors(["x", "y", "z"]).values()) == list(colors.values())
    assert plots.policy_colors(NAMES[:2]) == {n: colors[n] for n in NAMES[:2]}
    assert len(set(plots.policy_colors(NAMES).values())) == 3


def test_retention_curves(comparison):
    fig = plots.retention_curves(comparison)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert "Retention" in ax.get_title() and "%" in ax.get_ylabel()
    colors = plots.policy_colors(comparison.policies)
    assert [(ln.get_label(), ln.get_color()) for ln in _lines(ax)] == list(colors.items())
    y0 = _lines(ax)[0].get_ydata()[0]
    assert 95 < y0 <= 100  # starts near 100% of the starting base


def test_churn_by_cause(comparison):
    ax = plots.churn_by_cause(comparison).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "Death"
    assert len(ax.patches) == 8 * len(comparison.policies)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(comparison.policies)


def test_forest(comparison):
    fig = plots.forest(comparison, metrics=("profit", "retention_rate"))
    assert [a.get_title() for a in fig.axes] == ["Profit", "Retention rate"]
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(comparison.candidates)
    d = comparison.differences("profit").set_index("candidate")
    means = sorted(ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_marker() == "o")
    assert means == pytest.approx(sorted(d["mean"]))


def test_sweep_curves():
    frame = pd.DataFrame(
        {
            "point": range(4),
            "every_n_days": [1, 3, 7, 30],
            "replications": 3,
            "profit_mean": [1.0, 3.0, 2.0, 1.5],
            "profit_low": [0.5, 2.5, 1.5, 1.0],
            "profit_high": [1.5, 3.5, 2.5, 2.0],
            "unsubscribe_rate_mean": [0.01, 0.005, 0.003, 0.002],
            "unsubscribe_rate_low": [0.009, 0.004, 0.002, 0.001],
            "unsubscribe_rate_high": [0.011, 0.006, 0.004, 0.003],
            "best": [False, True, False, False],
        }
    )
    fig = plots.sweep_curves(frame, xlabel="days between emails")
    a, b = fig.axes
    assert a.get_xlabel() == "days between emails" and "%" in b.get_ylabel()
    star = [ln for ln in a.get_lines() if ln.get_marker() == "*"][0]
    assert star.get_xdata()[0] == 3 and star.get_label() == "best: 3"


def test_single_run_figures(results):
    fig = plots.stages_over_time(results)
    assert [a.get_title() for a in fig.axes] == NAMES
    assert len(fig.axes[0].collections) == 6  # the six live stages, stacked
    fig = plots.messages_and_refusals(results)
    assert [a.get_title() for a in fig.axes] == [
        "Messages delivered per customer",
        "Messages refused, by reason",
    ]
    assert len(fig.axes[0].patches) == 5 * len(NAMES)
    fig = plots.fatigue_distribution(results)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert all(lbl.startswith(n) for lbl, n in zip(labels, NAMES, strict=True))
    fig = plots.cohort_heatmap(results["bau_default"])
    assert "Cohort retention" in fig.axes[0].get_title() and fig.axes[0].images
    fig = plots.transition_matrix(results["bau_default"])
    assert fig.axes[0].get_xlabel() == "To stage" and len(fig.axes[0].get_yticklabels()) == 7


def test_group_forest_draws_every_group_of_every_candidate(comparison):
    fig = plots.group_forest(comparison, "start_stage")
    t = comparison.by_group("start_stage", ["contribution", "retention_rate"])
    ax = fig.axes[0]
    # one interval line and one point per candidate and group
    n = len(t[t["metric"] == "contribution"])
    assert len(ax.get_lines()) == 2 * n + 1  # plus the zero line
    assert [lab.get_text() for lab in ax.get_yticklabels()] == sorted(t["group"].unique())
