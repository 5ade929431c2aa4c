"""The README's examples run as written: its Python block as a plain script (no main guard),
and every line of its command-line block, at small sizes."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent

#: Options that set a study's size, and the small value each takes here (per command where the
#: size is special). Every other word of every README line is kept as written.
SMALL = {"--customers": "300", "-r": "2", "--draws": "3", "--replications": "2"}
ADD = {
    "run": ["--days", "30"],
    "compare": ["--days", "30"],
    "sweep": ["--days", "30", "-r", "2"],
    "report": ["--days", "30", "--pilots", "20", "--robustness-draws", "3"],
    "select": ["--days", "30", "--first-stage", "3", "--max-replications", "4"],
    "optimise": ["--days", "30"],
    "robustness": ["--days", "30", "-r", "1"],
    "pilot": ["--customers", "2000", "--pilots", "20"],
    "bench": ["--days", "5", "--parallel-customers", "0"],
}
BENCH_CUSTOMERS = ["2000"]


def _block(heading: str, language: str) -> str:
    after = README.split(heading, 1)[1]
    return re.search(rf"```{language}\n(.*?)```", after, re.S).group(1)


def _cli_lines() -> list[str]:
    return [ln for ln in _block("## The command line", "bash").splitlines() if ln.strip()]


def _small(line: str, tmp: Path) -> list[str]:
    words = shlex.split(line.split("  #")[0])
    assert words[0] == "retention-sim", line
    command = words[1]
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if command == "bench" and w == "--customers":
            out += [w, *BENCH_CUSTOMERS]
            i += 1
            while i < len(words) and not words[i].startswith("-"):
                i += 1
            continue
        if w in SMALL and i + 1 < len(words) and words[i + 1].isdigit():
            out += [w, SMALL[w]]
            i += 2
            continue
        out.append(w.replace("runs/", f"{tmp}/runs/").replace("reports/mine", f"{tmp}/mine"))
        i += 1
    extra = ADD.get(command, [])
    present = set(out)
    for j in range(0, len(extra), 2):
        if extra[j] not in present:
            out += extra[j : j + 2]
    return [str(BIN / "retention-sim"), *out[1:]]


def test_every_readme_command_is_covered_by_a_size_rule():
    commands = [shlex.split(ln)[1] for ln in _cli_lines()]
    assert len(commands) >= 12 and "report" in commands and "calibrate" in commands
    simulating = {"run", "compare", "sweep", "report", "select", "optimise", "robustness"}
    assert simulating <= set(ADD), "a command that simulates must get a small --days"


@pytest.mark.slow
def test_every_readme_command_line_runs(tmp_path, monkeypatch, capfd):
    """In README order (forecast reads calibrate's output, replay calibrate-response's), from
    the repository root, with small sizes, serially, and outputs under a temporary folder.

    The first line runs through the installed ``retention-sim`` console script; the others
    through the same entry point in this process (saving an interpreter start per line)."""
    from retention_sim.cli.main import main

    monkeypatch.chdir(ROOT)
    lines = _cli_lines()
    first = _small(lines[0], tmp_path)
    done = subprocess.run(
        first, cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert done.returncode == 0, (lines[0], done.stderr[-2000:])
    for line in lines[1:]:
        argv = _small(line, tmp_path)[1:]
        if argv[0] in SERIAL:
            argv += ["--backend", "serial", "--no-progress"]
        assert main(argv) == 0, (line, argv, capfd.readouterr().err[-2000:])
        err = capfd.readouterr().err
        assert "Traceback" not in err, (line, err[-2000:])
        assert "without encryption" not in err, line  # the report kernel's warning is silenced
    assert (tmp_path / "mine" / "report.html").is_file()
    assert (tmp_path / "runs" / "forecast.csv").is_file()


#: Commands that take ``--backend``: at these sizes a process pool costs more than it saves.
SERIAL = {"compare", "sweep", "select", "optimise", "robustness", "pilot"}


@pytest.mark.slow
def test_the_readme_python_block_runs_as_a_plain_script(tmp_path):
    """Exactly as written, saved to a file and run with ``python example.py`` from the
    repository root: no ``if __name__ == "__main__":`` guard, the default process pool."""
    code = _block("## Ten lines of Python", "python")
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "bau_default (campaigns.0.cadence.every_n_days=3)" in done.stdout
    assert "Profit changes by" in done.stdout
