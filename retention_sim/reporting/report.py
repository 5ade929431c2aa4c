"""The policy-comparison report: the study behind it, its tables, and rendering to HTML.

The notebook template ``notebooks/policy_comparison.ipynb`` tells the story; this module does the
work. :func:`run_study` runs the comparison (replications with common random numbers) and one
representative replication per policy for the figures that look inside a run;
:func:`render_report` executes the template with papermill and renders HTML without code cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import pandas as pd

from ..config.presets import resolve_preset
from ..config.provenance import parameter_sources
from ..errors import InputError
from ..outputs import atomic_write_text
from ..study.guardrails import DEFAULT_GUARDRAILS, DEFAULT_MIN_EFFECT, parse_guardrails
from ..study.metrics import (
    LOWER_IS_BETTER,
    RATE_METRICS,
    metric,
)
from ..study.statistics import format_probability
from ..study.verdict import DECISIONS
from .notebook import ReportError, execute
from .tables import metrics_frame, styled_tradeoffs, tradeoff_frame

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config.policy import Policy
    from ..config.scenario import Scenario
    from ..study.execution import Backend

__all__ = [
    "Study",
    "run_study",
    "scenario_table",
    "provenance_summary",
    "render_report",
    "ReportError",
    "TEMPLATE",
    "DEFAULT_GUARDRAILS",
]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "notebooks" / "policy_comparison.ipynb"


def scenario_table(scenario: Scenario) -> pd.DataFrame:
    """Every scenario parameter as a row: ``section``, ``parameter``, ``value``, and where it
    comes from, ``kind`` (fitted, published, assumption) and ``source`` (see
    :func:`~retention_sim.config.provenance.parameter_sources`)."""
    return parameter_sources(scenario)


def provenance_summary(scenario: Scenario) -> str:
    """One sentence of Markdown: how many parameters are fitted, published, assumed."""
    kinds = parameter_sources(scenario)["kind"].value_counts()
    n = int(kinds.sum())
    parts = [
        f"**{int(kinds.get(k, 0))}** {label}"
        for k, label in (
            ("fitted", "fitted from data"),
            ("published", "taken from the literature"),
            ("assumption", "assumptions"),
        )
    ]
    return (
        f"Of the scenario's {n} parameters, {parts[0]}, {parts[1]} and {parts[2]}: what rests "
        "on an assumption is what a pilot must confirm."
    )


@dataclass
class Study:
    """A finished policy comparison with everything the report shows."""

    scenario: Scenario
    policies: dict[str, Policy]
    comparison: Any
    verdict: Any
    runs: dict[str, Any]
    objective: str
    colors: dict[str, str] = field(default_factory=dict)

    def headline(self) -> str:
        """The decision in one sentence of Markdown."""
        v = self.verdict
        word = DECISIONS[v.decision]
        who = f" **{v.candidate}**" if v.candidate else ""
        return f"**Verdict: {word}**{who} — against the baseline **{v.baseline}**."

    def summary_markdown(self) -> str:
        """The executive summary: the verdict (its first line in bold) and its reasons."""
        first, _, rest = self.verdict.text.partition("\n")
        return f"**{first}**\n\n" + rest.replace("\n", "  \n")

    def objective_table(self) -> pd.DataFrame:
        """Per candidate: the objective's paired change with its interval and P(better)."""
        d = self.comparison.differences(self.objective)
        cur = getattr(self.comparison, "currency", "")
        out = pd.DataFrame(
            {
                "candidate": d["candidate"],
                f"change in {self.objective}" + (f" ({cur})" if cur else ""): d["mean"],
                "95% low": d["low"],
                "95% high": d["high"],
                "Holm low": d["adj_low"],
                "Holm high": d["adj_high"],
                "P(better)": d["probability_better"],
                "pairing narrows the interval ×": d["pairing_efficiency"],
            }
        )
        return out.set_index("candidate")

    def guardrails_table(self) -> pd.DataFrame:
        """Each guardrail of each candidate: value, its 95% upper bound, the limit, the probability
        that the limit is exceeded, and held (upper bound inside), uncertain or broken."""
        verdicts = self.verdict.by_candidate or {self.verdict.candidate: self.verdict}
        rows = []
        for cand, v in verdicts.items():
            for g in v.guardrails:
                rows.append(
                    {
                        "candidate": cand,
                        "guardrail": g.metric,
                        "kind": g.kind,
                        "value": g.value,
                        "95% upper bound": g.upper,
                        "limit": g.limit,
                        "P(limit exceeded)": g.probability_broken,
                        "status": g.state.upper(),
                    }
                )
        return pd.DataFrame(rows)

    def styled_objective_table(self) -> Any:
        """:meth:`objective_table` formatted for reading (thousands separators, percentages)."""
        t = self.objective_table()
        money: dict[Any, str | Callable[[Any], str]] = {c: "{:+,.0f}" for c in t.columns[:5]}
        if self.objective in RATE_METRICS:
            money = {c: (lambda v: f"{100 * v:+.2f} pts") for c in t.columns[:5]}
        n = self.comparison.replications
        return t.style.format(
            {
                **money,
                "P(better)": lambda p: format_probability(float(cast(float, p)), n),
                "pairing narrows the interval ×": "{:.1f}×",
            }
        )

    def styled_guardrails_table(self) -> Any:
        """:meth:`guardrails_table` with values and limits in readable units, broken in red."""
        t = self.guardrails_table()
        if t.empty:
            return t.style

        def fmt(metric: str, v: float) -> str:
            if metric in RATE_METRICS:
                return f"{100 * v:.3f}%"
            return f"{v:,.0f}"

        n = self.comparison.replications
        shown = t.assign(
            **{
                c: [fmt(m, v) for m, v in zip(t["guardrail"], t[c], strict=True)]
                for c in ("value", "95% upper bound", "limit")
            },
            **{
                "P(limit exceeded)": [format_probability(p, n) for p in t["P(limit exceeded)"]],
            },
            guardrail=t["guardrail"].str.replace("_", " "),
        )
        return shown.style.hide(axis="index").map(
            lambda s: {
                "BROKEN": "color: #b30000; font-weight: bold",
                "UNCERTAIN": "color: #8a5a00",
            }.get(s, ""),
            subset=["status"],
        )

    def tradeoff_table(self) -> pd.DataFrame:
        """Every headline metric's change per candidate: absolute, % of the baseline and per
        customer, each with its 95% interval, and whether it is better or worse."""
        return tradeoff_frame(self.verdict)

    def styled_tradeoff_table(self) -> Any:
        """:meth:`tradeoff_table` in readable units: one row per candidate and metric."""
        return styled_tradeoffs(self.verdict, getattr(self.comparison, "currency", ""))

    def policies_table(self) -> Any:
        """What each policy does: its description and one line per campaign."""
        from .describe import policies_table

        t = policies_table(self.policies)
        return t.style.hide(axis="index").set_properties(subset=None, **{"text-align": "left"})

    def metrics_table(self) -> pd.DataFrame:
        """Every metric per policy, as text with units: ``mean [95% low, high]``."""
        return metrics_frame(self.comparison)

    def styled_metrics_table(self) -> Any:
        """:meth:`metrics_table` with every cell whole (pandas cuts long text)."""
        return self.metrics_table().style

    def chosen_candidate(self) -> str:
        """The adopted candidate, or the one that improves the objective most."""
        if self.verdict.candidate is not None:
            return str(self.verdict.candidate)
        diffs = self.comparison.differences(self.objective)
        sign = -1.0 if self.objective in LOWER_IS_BETTER else 1.0
        return str(diffs.loc[(sign * diffs["mean"]).idxmax(), "candidate"])

    def robustness(self, *, draws: int, workers: int | None = None) -> Any:
        """The chosen candidate against the baseline over ``draws`` plausible worlds, drawn from
        the scenario's stated uncertainty (:func:`retention_sim.study.uncertainty.
        default_uncertainty`), one replication each, at the study's size and horizon."""
        from ..study.robustness import robustness
        from ..study.uncertainty import default_uncertainty

        base = self.comparison.baseline
        cand = self.chosen_candidate()
        return robustness(
            self.scenario,
            self.policies.get(cand),
            self.policies.get(base),
            default_uncertainty(self.scenario),
            draws=draws,
            replications=1,
            seed=int(self.comparison.info.get("seed", 0)),
            customers=int(self.comparison.info["customers"]),
            days=int(self.comparison.info["days"]),
            objective=self.objective,
            workers=workers,
            progress=False,
        )

    def pilot_plan(self, *, pilots: int = 0, workers: int | None = None) -> Any:
        """The pilot that would confirm the verdict: the adopted (or best) candidate against the
        baseline, on profit or retention (:func:`retention_sim.study.pilot.plan_pilot`)."""
        from ..study.pilot import plan_pilot

        cand = self.chosen_candidate()
        metric: Literal["profit", "retention"] = (
            "retention" if self.objective in ("retention_rate", "churned") else "profit"
        )
        base = self.comparison.baseline
        return plan_pilot(
            self.scenario,
            [self.policies.get(base), self.policies.get(cand)],
            metric=metric,
            customers=int(self.comparison.info["customers"]),
            pilots=pilots,
            workers=workers,
            progress=False,
        )

    def assumptions(self) -> pd.DataFrame:
        """The scenario's parameters and where each comes from (see :func:`scenario_table`)."""
        return scenario_table(self.scenario)

    def provenance_markdown(self) -> str:
        """How many parameters are fitted, published or assumed (see
        :func:`provenance_summary`)."""
        return provenance_summary(self.scenario)


def _resolve(path: str | Path, base: Path | None) -> Path:
    p = Path(path)
    if p.is_absolute() or p.exists() or base is None:
        return p
    return base / p


def run_study(
    scenario: Scenario | str | Path,
    policies: list[Policy | str | Path],
    *,
    baseline: str | None = None,
    replications: int = 10,
    customers: int | None = None,
    days: int | None = None,
    seed: int = 0,
    objective: str = "profit",
    guardrails: dict[str, Any] | None = None,
    min_effect: float | None = None,
    backend: Backend = "processes",
    workers: int | None = None,
    progress: bool = False,
    base_dir: str | Path | None = None,
    out: str | Path | None = None,
) -> Study:
    """Run the comparison behind a report.

    Parameters
    ----------
    scenario, policies
        Files (relative paths are tried as given, then under ``base_dir``) or loaded objects.
    baseline
        Name of the baseline policy (default: the first).
    replications, customers, days, seed, backend, workers, progress
        As in :func:`retention_sim.study.comparison.compare`.
    out
        The result store to read finished runs from and write new ones to (``None``: none).
    objective, guardrails, min_effect
        As in :meth:`retention_sim.study.comparison.Comparison.verdict` (``None``: the defaults
        of :mod:`retention_sim.study.guardrails`).

    Returns
    -------
    Study
        The comparison, the verdict, and replication 0 of every policy as a full result.
    """
    from ..config.policy import Policy, load_policy
    from ..config.scenario import Scenario, load_scenario
    from ..model.simulation import simulate
    from ..study.compare import compare
    from ..study.execution import replication_seed
    from .plots import policy_colors

    base = Path(base_dir) if base_dir is not None else None
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(_resolve(scenario, base))
    pols = [
        p if isinstance(p, Policy) else load_policy(_resolve(p, base), scenario=sc)
        for p in policies
    ]
    comp = compare(
        sc,
        pols,
        baseline=baseline,
        replications=replications,
        seed=seed,
        customers=customers,
        days=days,
        backend=backend,
        workers=workers,
        progress=progress,
        out=out,
    )
    verdict = comp.verdict(
        objective=objective,
        guardrails=guardrails,
        min_effect=DEFAULT_MIN_EFFECT if min_effect is None else min_effect,
    )
    s0 = replication_seed(seed, 0)
    runs = {p.name: simulate(sc, p, seed=s0, customers=customers, days=days) for p in pols}
    return Study(
        scenario=sc,
        policies={p.name: p for p in pols},
        comparison=comp,
        verdict=verdict,
        runs=runs,
        objective=objective,
        colors=policy_colors([p.name for p in pols]),
    )


def render_report(
    scenario: str | Path,
    policies: list[str | Path],
    *,
    out: str | Path,
    baseline: str | None = None,
    replications: int = 10,
    customers: int | None = None,
    days: int | None = None,
    seed: int = 0,
    objective: str = "profit",
    guardrails: dict[str, Any] | None = None,
    min_effect: float | None = None,
    title: str = "Policy comparison",
    workers: int | None = None,
    pilots: int = 100,
    robustness_draws: int = 10,
    template: str | Path = TEMPLATE,
    kernel: str = "python3",
    progress: bool = True,
    store: str | Path | None = None,
) -> Path:
    """Execute the report template with papermill and render it to HTML without code cells.

    Writes ``OUT/report.ipynb`` (the executed notebook) and ``OUT/report.html``; the runs go
    to the result store ``store`` (default ``OUT/store``), where a rerun finds them.

    Returns
    -------
    pathlib.Path
        The HTML file.

    Raises
    ------
    InputError
        Bad scenario or policy files (checked before anything runs).
    ReportError
        A cell failed: the message names the cell and the error; the partly executed notebook is
        kept.
    """
    from nbconvert import HTMLExporter

    from ..config.policy import load_policy
    from ..config.scenario import load_scenario
    from ..study.compare import compare

    # fail fast, in one line, before starting a kernel: files (or preset names), objective,
    # guardrails, baseline
    sc_path = resolve_preset(scenario, "scenario").resolve()
    pol_paths = [resolve_preset(p, "policy").resolve() for p in policies]
    if not pol_paths:
        raise InputError("give at least one policy (-p FILE)")
    metric(objective)
    parse_guardrails(guardrails)
    if 0 < robustness_draws < 3:
        raise InputError(f"robustness draws must be 0 (none) or at least 3, got {robustness_draws}")
    sc = load_scenario(sc_path)
    pols = [load_policy(p, scenario=sc) for p in pol_paths]
    names = [p.name for p in pols]
    if baseline is not None and baseline not in names:
        raise InputError(f"baseline {baseline!r} is not one of the policies: {', '.join(names)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    notebook = out / "report.ipynb"
    # the comparison runs here, with a progress bar, into the result store the notebook reads
    store = out / "store" if store is None else Path(store)
    compare(
        sc,
        pols,
        baseline=baseline,
        replications=replications,
        seed=seed,
        out=store,
        customers=customers,
        days=days,
        workers=workers,
        progress=progress,
    )
    params = {
        "store": str(store.resolve()),  # the kernel runs in OUT: a relative path would miss
        "scenario": str(sc_path),
        "policies": [str(p) for p in pol_paths],
        "baseline": baseline,
        "replications": int(replications),
        "customers": customers,
        "days": days,
        "seed": int(seed),
        "objective": objective,
        "guardrails": guardrails,
        "min_effect": min_effect,
        "title": title,
        "workers": workers,
        "pilots": int(pilots),
        "robustness_draws": int(robustness_draws),
    }
    executed = execute(template, notebook, params, kernel=kernel, progress=progress)
    executed.metadata["title"] = title  # the HTML page's <title>
    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    html, _ = exporter.from_notebook_node(executed)
    return atomic_write_text(out / "report.html", html)
