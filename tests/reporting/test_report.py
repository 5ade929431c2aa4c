"""`retention-sim report`: papermill → HTML, the verdict and figures, failures kept and named."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest

from retention_sim.reporting.report import ReportError, render_report, scenario_table

from ..conftest import ROOT

SC = ROOT / "params" / "scenarios" / "default.yaml"
POL = ROOT / "params" / "policies"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "small"
    title = 'Cadence check "A"; __import__("os").system("touch PWNED") #'
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "retention_sim",
            "report",
            str(SC),
            "-p",
            str(POL / "bau_default.yaml"),
            "-p",
            str(POL / "playbook_software.yaml"),
            "-p",
            str(POL / "playbook_fashion.yaml"),
            "-r",
            "3",
            "--customers",
            "600",
            "--days",
            "90",
            "--title",
            title,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=out.parent,
    )
    assert proc.returncode == 0, proc.stderr
    return out, title


@pytest.mark.slow
def test_report_html_holds_the_verdict_figures_and_no_code(rendered):
    out, title = rendered
    html = (out / "report.html").read_text()
    words = "ADOPT|TRADE-OFF|EQUIVALENT|REJECT|INCONCLUSIVE"
    assert re.search(rf"Verdict: ({words})", html)
    assert html.count("<img") >= 6 and "data:image/png;base64" in html
    assert "run_study(" not in html and "plots.forest(" not in html  # no code cells
    assert "Traceback" not in html
    nb = nbformat.read(out / "report.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert "Guardrails" in html and "Assumptions" in html
    # where the numbers come from, beside the results
    assert "taken from the literature" in html and "Mailchimp email benchmarks 2019" in html


@pytest.mark.slow
def test_report_reads_as_a_decision(rendered):
    out, title = rendered
    html = (out / "report.html").read_text()
    # the page's title is the report's title (HTML-escaped)
    assert "<title>" + title + "</title>" in html
    for section in ("The policies", "Trade-offs", "Change against the baseline",
                    "The pilot that would confirm it", "customers per arm",
                    "Robustness", "sampled worlds"):  # fmt: skip
        assert section in html, section
    # what each policy does, from its campaigns
    assert "weekly_promo: notification by email every 7 days" in html
    # tables never use e-notation (figures are base64 images: drop them first)
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    assert not re.search(r"\b\d\.\d+e[+-]\d{2}\b", text)
    # no probability printed as certain from 3 replications
    assert "100.0%" not in text


@pytest.mark.slow
def test_parameters_are_passed_as_data(rendered):
    out, title = rendered
    html = (out / "report.html").read_text()
    assert "Cadence check" in html
    assert not (out / "PWNED").exists() and not (out.parent / "PWNED").exists()


def test_failing_cell_keeps_the_partial_notebook_and_names_the_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    }
    params = nbformat.v4.new_code_cell("scenario = None\npolicies = []")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('broken on purpose')"),
        nbformat.v4.new_code_cell("y = 2"),
    ]
    template = tmp_path / "t.ipynb"
    nbformat.write(nb, template)
    out = tmp_path / "out"
    with pytest.raises(ReportError) as exc:
        render_report(
            SC,
            [POL / "bau_default.yaml"],
            out=out,
            template=template,
            replications=2,
            customers=100,
            days=10,
        )
    msg = str(exc.value)
    assert "ValueError: broken on purpose" in msg and "cell" in msg and "\n" not in msg
    kept = nbformat.read(out / "report.ipynb", as_version=4)
    assert any(o.get("output_type") == "error" for c in kept.cells for o in c.get("outputs", []))
    assert not (out / "report.html").exists()


def test_bad_input_exits_2_before_starting_a_kernel(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "retention_sim",
            "report",
            str(SC),
            "-p",
            str(tmp_path / "missing.yaml"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "missing.yaml" in proc.stderr and "not found" in proc.stderr


def test_scenario_table_lists_every_parameter(default_scenario):
    t = scenario_table(default_scenario)
    assert {"section", "parameter", "value", "kind", "source"} == set(t.columns)
    row = t[(t["section"] == "service") & (t["parameter"] == "agents")]
    assert row["value"].iloc[0] == default_scenario.service.agents
    assert len(t) > 100
    json.dumps(t["value"].astype(str).tolist())
