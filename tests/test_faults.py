"""Fault tests for every writer: each command that writes files is killed with SIGKILL at fixed
moments, and runs out of disk space, and what it leaves must never look complete when it is not.

For every writing command (``run``, ``compare``, ``sweep``, ``select``, ``optimise``, ``report``,
``calibrate``, ``forecast``, ``replay``), at small sizes and in one output folder ``OUT``:

1. an uninterrupted *reference* run, whose ``OUT`` is then renamed (every run of a command uses
   the same ``OUT``, so absolute paths inside the outputs agree);
2. for each kill moment of :data:`MOMENTS` in turn: the command starts on ``OUT`` as the kill
   before left it (the first on an empty ``OUT``), so it resumes, and its process group is killed
   with SIGKILL at that moment. Every file left must parse completely and be the reference's file
   of that name (the hidden temporary files ``.NAME.*.tmp`` of atomic writes may be left after
   SIGKILL and are ignored). The one file a study rewrites as it goes, a result store's
   ``manifest.json``, must record a subset of the reference's runs. After the last kill the same
   command, run again to completion, must give exactly the reference's files;
3. full disk (``compare``, ``run``, ``calibrate``): ``OUT`` is a tmpfs too small for the outputs
   (as root it is mounted here and unmounted in a ``finally``; otherwise inside ``unshare -rm``).
   The command must fail with status 2 and one line on standard error naming the file, leave no
   temporary file, and leave only complete files (and a result store without damaged runs).

A moment is a fixed fraction of the reference's wall time T, ``("time", f)``, or the first
appearance of a file matching a pattern under ``OUT`` that was not there when the run started,
``("file", pattern)`` (polled every 3 ms), so that kills land in the writing phase too and not
only in the interpreter's start.

What differs between two uninterrupted runs of each command (found by running each twice) is
dropped before comparing, and nothing else:

* JSON keys ``created``, ``updated`` and ``written``: when a file, study or run was written;
* ``runs_computed`` and ``runs_loaded`` (``comparison.json``, ``selection.json``): how many runs a
  study computed and how many it read from its store. A rerun after a kill reads what the killed
  run finished, so only their sum is compared;
* in ``report.ipynb``, the timings papermill and the kernel record (:data:`NOTEBOOK_TIMES`);
* in ``report.ipynb`` and ``report.html``, what is random in every rendering
  (:data:`RANDOM_TEXT`): the ids pandas' Styler gives its tables, object addresses in reprs, and
  the id papermill gives the injected-parameters cell.

The subprocesses of independent commands run two at a time (module fixture :func:`outcomes`).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from retention_sim.study.store import verify_store

from .conftest import ROOT

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")

BIN = Path(sys.executable).parent / "retention-sim"
#: One thread per process: two commands run at a time on two cores.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
PAGE = 4096

STUDY = ["--customers", "300", "--days", "30", "--backend", "serial", "--no-progress"]
CDNOW = ["retention_sim/data/cdnow_sample.csv", "--until", "1997-09-30", "--split", "lifestyle"]
HILLSTROM = [
    "--arm-col", "treatment", "--control", "No E-Mail", "--conversion-col", "conversion",
    "--spend-col", "spend", "--visit-col", "visit",
]  # fmt: skip


def argv(command: str, out: Path, pre: Path) -> list[str]:
    """The README's line of ``command``, small, writing under ``out`` (``--split lifestyle``:
    calibrate without the simulations that share dropout among causes; forecast one quarter;
    a tenth of the Hillstrom campaign, :func:`outcomes` writes it)."""
    o, campaign = str(out), f"{pre}/hillstrom_tenth.csv"
    lines = {
        "run": ["default", "--policy", "bau_default", *STUDY[:4], "--out", o],
        "compare": ["default", "-p", "bau_default", "-p", "playbook_software", "-p",
                    "daily_blast", "-r", "2", *STUDY, "--out", o],
        "sweep": ["default", "-p", "bau_default", "--grid",
                  "policy:campaigns.0.cadence.every_n_days=1,7,30", "-r", "2", *STUDY, "--out", o],
        "select": ["default", "-p", "bau_default", "-p", "playbook_software", "-p",
                   "playbook_fashion", "--first-stage", "3", "--max-replications", "4", *STUDY,
                   "--out", o],
        "optimise": ["default", "-p", "bau_default", "--vary",
                     "policy:campaigns.0.cadence.every_n_days=1..60", "-r", "2", "--grid", "3",
                     *STUDY, "--out", o],
        "report": ["default", "-p", "bau_default", "-p", "playbook_software", "-r", "2",
                   "--customers", "100", "--days", "10", "--pilots", "0", "--robustness-draws",
                   "0", "--workers", "1", "--no-progress", "--out", o],
        "calibrate": [*CDNOW, "-o", f"{o}/cdnow.yaml", "--customers-out",
                      f"{o}/cdnow_customers.csv", "--report", f"{o}/fit.json"],
        "forecast": [f"{pre}/cdnow.yaml", "--customers-file", f"{pre}/cdnow_customers.csv",
                     "--from", "1997-10-01", "--to", "1997-12-31", "-r", "2", "-o",
                     f"{o}/forecast.csv"],
        "calibrate-response": [campaign, *HILLSTROM, "--window-days", "14", "-o",
                               f"{o}/response.yaml"],
        "replay": [campaign, *HILLSTROM, "--response", f"{pre}/response.yaml", "-r", "1",
                   "--out", o],
    }  # fmt: skip
    return [str(BIN), command, *lines[command]]


#: The first finished run reaches the result store (the study is simulating).
FIRST_RUN = ("file", "runs/*/*-r*.json")
#: The study's last file is being copied to the top of OUT (its folder under studies/ is done).
TOP_COPY = ("file", "*runs.csv*")
MOMENTS: dict[str, list[tuple[str, Any]]] = {
    "run": [("file", "*summary.json*"), ("file", "*transactions.csv*")],  # first, last file
    "compare": [FIRST_RUN, TOP_COPY],
    "sweep": [FIRST_RUN, TOP_COPY],
    "select": [FIRST_RUN, TOP_COPY],
    "optimise": [FIRST_RUN, TOP_COPY],
    "report": [("file", "store/runs/*/*-r*.json"), ("time", 0.5)],  # comparing; mid-notebook
    "calibrate": [("file", "*cdnow.yaml*"), ("file", "*fit.json*")],
    # simulating; the first file (per customer, the largest: the last, a small JSON, is written
    # too fast to be caught since the forecast sped up)
    "forecast": [("time", 0.7), ("file", "*forecast.csv*")],
    "replay": [("time", 0.7), ("file", "*customers.csv*")],  # simulating; the big last file
}
WRITERS = list(MOMENTS)
#: The prerequisite each command reads (made once, before it): calibrate's scenario and
#: customers file, calibrate-response's response model.
NEEDS = {"forecast": "calibrate", "replay": "calibrate-response"}
FULL_DISK = ("compare", "run", "calibrate")

TIME_KEYS = frozenset({"created", "updated", "written"})
RESUME_KEYS = ("runs_computed", "runs_loaded")
NOTEBOOK_TIMES = frozenset(
    {"start_time", "end_time", "duration", "iopub.execute_input", "iopub.status.busy",
     "iopub.status.idle", "shell.execute_reply"}
)  # fmt: skip
RANDOM_TEXT = [
    (re.compile(r"\bT_[0-9a-f]{5}(?![0-9a-z])"), "T_styler"),
    (re.compile(r" at 0x[0-9a-f]+>"), " at 0x?>"),
    (re.compile(r"(celltag_injected-parameters\" id=\"cell-id=)[0-9a-f-]+"), r"\1?"),
]
_HIDDEN_TMP = re.compile(r"^\..+\.tmp$")


# ---- what a folder holds ------------------------------------------------------------------
def output_files(folder: Path) -> dict[str, Path]:
    """Every file under ``folder`` by relative path, without the hidden temporary files of atomic
    writes (and whatever is inside a hidden temporary folder)."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(_HIDDEN_TMP.match(s) for s in p.relative_to(folder).parts)
    }


def temporaries(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if _HIDDEN_TMP.match(p.name)
    )


def parse_problem(path: Path) -> str | None:
    """Why ``path`` does not parse as a complete file of its kind, or ``None``."""
    try:
        kind = path.suffix
        if kind in (".json", ".ipynb"):
            json.loads(path.read_text("utf-8"))
        elif kind == ".csv":
            pd.read_csv(path)
        elif kind == ".yaml":
            if not isinstance(yaml.safe_load(path.read_text("utf-8")), dict):
                return "not a YAML mapping"
        elif kind == ".html":
            if not path.read_text("utf-8").rstrip().endswith("</html>"):
                return "does not end with </html>"
        elif kind == ".lock":
            return None if path.stat().st_size == 0 else "a lock file with content"
        else:
            return f"an output of unknown kind {kind!r}"
    except Exception as exc:  # any failure to parse is the finding
        return f"does not parse: {type(exc).__name__}: {str(exc)[:200]}"
    return None


def _drop(obj: Any, notebook: bool) -> Any:
    if isinstance(obj, dict):
        gone = TIME_KEYS | (NOTEBOOK_TIMES if notebook else frozenset()) | set(RESUME_KEYS)
        out = {k: _drop(v, notebook) for k, v in obj.items() if k not in gone}
        if all(k in obj for k in RESUME_KEYS):
            out["runs_computed+runs_loaded"] = sum(obj[k] for k in RESUME_KEYS)
        return out
    if isinstance(obj, list):
        return [_drop(v, notebook) for v in obj]
    return obj


def normal(path: Path) -> Any:
    """The content of an output file without what differs between two uninterrupted runs."""
    if path.suffix == ".lock":
        return path.read_bytes()
    text = path.read_text("utf-8")
    if path.suffix in (".html", ".ipynb"):
        for pattern, replacement in RANDOM_TEXT:
            text = pattern.sub(replacement, text)
    if path.suffix not in (".json", ".ipynb"):
        return text
    data = json.loads(text, parse_constant=str)  # NaN as text: NaN != NaN
    if path.suffix == ".ipynb":
        for cell in data.get("cells", []):
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                cell.pop("id", None)
    return _drop(data, path.suffix == ".ipynb")


def manifest_problem(got: dict[str, Any], ref: dict[str, Any]) -> str | None:
    """A manifest left by a killed study: the reference's, with a subset of its runs."""
    for key in ("study_key", "format", "scenario", "seed", "customers", "days", "engine"):
        if got.get(key) != ref.get(key):
            return f"its {key} is {got.get(key)!r}, the uninterrupted run's {ref.get(key)!r}"
    runs, ref_runs = got.get("runs", {}), ref.get("runs", {})
    wrong = sorted(k for k, v in runs.items() if ref_runs.get(k) != v)
    if wrong:
        return f"it records runs the uninterrupted run does not: {wrong[:3]}"
    hashes = {k: v.get("hash") for k, v in got.get("policies", {}).items()}
    if any(ref.get("policies", {}).get(k, {}).get("hash") != h for k, h in hashes.items()):
        return "it names policies the uninterrupted run does not"
    return None


def left_problems(out: Path, reference: dict[str, Any]) -> list[str]:
    """What is wrong with the files a killed (or failed) command left under ``out``."""
    problems = []
    for rel, path in output_files(out).items():
        problem = parse_problem(path)
        if problem is None and rel not in reference:
            problem = "the uninterrupted run has no such file"
        if problem is None:
            got = normal(path)
            if rel.endswith("/manifest.json"):
                problem = manifest_problem(got, reference[rel])
            elif got != reference[rel]:
                problem = "parses, but is not the uninterrupted run's file"
        if problem:
            problems.append(f"{rel}: {problem}")
    return problems


def same_problems(out: Path, reference: dict[str, Any]) -> list[str]:
    """How the files under ``out`` differ from the reference's (hidden temporaries ignored)."""
    files = output_files(out)
    problems = [f"{r}: missing" for r in sorted(set(reference) - set(files))]
    problems += [f"{r}: not in the uninterrupted run" for r in sorted(set(files) - set(reference))]
    problems += [
        f"{r}: differs from the uninterrupted run's"
        for r, p in files.items()
        if r in reference and normal(p) != reference[r]
    ]
    return problems


# ---- running and killing ------------------------------------------------------------------
def start(args: list[str], err: Path) -> subprocess.Popen[bytes]:
    with open(err, "wb") as fh:  # the child keeps its own descriptor
        return subprocess.Popen(
            args, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=fh, start_new_session=True
        )


def run_to_end(args: list[str], err: Path) -> tuple[int, float, str]:
    """``(exit status, wall seconds, standard error)`` of a run to completion."""
    t0 = time.monotonic()
    proc = start(args, err)
    try:
        code = proc.wait(timeout=600)
    finally:
        stop(proc)
    return code, time.monotonic() - t0, err.read_text(errors="replace")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group of ``proc`` (its kernel or workers too) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def kill_at(args: list[str], out: Path, moment: tuple[str, Any], t_ref: float, err: Path) -> str:
    """Start ``args`` and SIGKILL it at ``moment``: ``f`` times ``t_ref`` after its start, or when
    a file matching the pattern appears that was not there at the start. Say when (or that it
    finished first)."""
    kind, what = moment
    before = set(out.glob(what)) if kind == "file" else set()
    t0 = time.monotonic()
    proc = start(args, err)
    try:
        while proc.poll() is None and time.monotonic() - t0 < 10 * t_ref + 60:
            if kind == "time" and time.monotonic() - t0 >= what * t_ref:
                break
            if kind == "file" and set(out.glob(what)) - before:
                break
            time.sleep(0.003)
        alive = proc.poll() is None
        at = time.monotonic() - t0
    finally:
        stop(proc)
    if not alive:
        return f"finished (status {proc.returncode}) before {kind} {what} came"
    return f"killed at {at:.2f} s of {t_ref:.2f} s ({kind} {what})"


@dataclass
class Outcome:
    """What happened to one command: its reference time, the kills, and every problem found."""

    seconds: float = 0.0
    kills: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    rerun: list[str] = field(default_factory=list)
    disk: dict[str, Any] = field(default_factory=dict)


def exercise(command: str, base: Path, pre: Path, needs: Future[Any] | None) -> Outcome:
    """The reference run, each kill and its rerun, and (for some commands) the full disk."""
    if needs is not None:
        needs.result()
    work = base / command
    work.mkdir()
    out, ref, err = work / "out", work / "reference", work / "stderr.txt"
    args = argv(command, out, pre)
    code, seconds, stderr = run_to_end(args, err)
    assert code == 0, f"{command}: the reference run failed: {stderr[-2000:]}"
    out.rename(ref)
    reference = {rel: normal(p) for rel, p in output_files(ref).items()}
    result = Outcome(seconds=seconds)
    for moment in MOMENTS[command]:  # each run resumes from what the killed one before left
        when = kill_at(args, out, moment, seconds, err)
        result.kills.append(f"{when}: {len(output_files(out))} files, {temporaries(out)} left")
        result.left += [f"{when}: {p}" for p in left_problems(out, reference)]
    code, _, stderr = run_to_end(args, err)
    if code != 0:
        result.rerun.append(f"the rerun failed: {stderr[-1000:]}")
    result.rerun += same_problems(out, reference)
    shutil.rmtree(out)
    if command in FULL_DISK:
        result.disk = full_disk(args, out, ref, reference, work)
    return result


# ---- full disk ----------------------------------------------------------------------------
def disk_size(ref: Path) -> int:
    """A tmpfs size (bytes) that fills up midway through the command's outputs."""
    pages = lambda p: max(1, math.ceil(p.stat().st_size / PAGE))  # noqa: E731
    runs = sorted(ref.glob("runs/*/*-r*.json"))
    if runs:  # the manifest and half the runs
        return PAGE * (1 + len(runs) // 2)
    if (ref / "summary.json").is_file():  # run: the summary, then daily.csv fails halfway
        return PAGE * (pages(ref / "summary.json") + 1)
    # calibrate: the scenario, then the customers file fails halfway
    return PAGE * (pages(ref / "cdnow.yaml") + pages(ref / "cdnow_customers.csv") // 2)


_DISK_SCRIPT = """
out=$2 snap=$3/snapshot err=$3/stderr.txt
mount -t tmpfs -o size="$1" tmpfs "$out" || exit 0
trap 'umount "$out"' EXIT
: > "$3/mounted"
shift 3
"$@" > /dev/null 2> "$err"
echo $? > "$snap.status"
cp -a "$out/." "$snap/"
"""


def _mounted(path: Path) -> bool:
    mounts = Path("/proc/self/mountinfo")
    return mounts.is_file() and any(
        line.split()[4] == str(path) for line in mounts.read_text().splitlines()
    )


def full_disk(
    args: list[str], out: Path, ref: Path, reference: dict[str, Any], work: Path
) -> dict[str, Any]:
    """Run ``args`` with ``out`` on a small tmpfs; what it printed and left (``skip``: why not).

    As root the tmpfs is mounted in this mount namespace (and unmounted in a ``finally``);
    otherwise in a new user and mount namespace (``unshare -rm``). The folder is copied out
    before the tmpfs goes, and checked here."""
    disk = work / "disk"
    (disk / "snapshot").mkdir(parents=True)
    out.mkdir()
    prefix = [] if os.geteuid() == 0 else ["unshare", "-rm"]
    size = disk_size(ref)
    try:
        done = subprocess.run(
            [*prefix, "sh", "-c", _DISK_SCRIPT, "sh", str(size), str(out), str(disk), *args],
            cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    except FileNotFoundError as exc:
        return {"skip": f"cannot make a small disk: {exc}"}
    finally:
        if os.geteuid() == 0 and _mounted(out):
            subprocess.run(["umount", str(out)], check=False)
    if not (disk / "mounted").exists():
        return {"skip": f"cannot mount a tmpfs ({' '.join(prefix) or 'root'}): {done.stderr}"}
    snap = disk / "snapshot"
    checked, damaged = verify_store(snap) if (snap / "runs").is_dir() else (0, [])
    return {
        "size": size,
        "status": int((disk / "snapshot.status").read_text()),
        "stderr": (disk / "stderr.txt").read_text(errors="replace"),
        "left": left_problems(snap, reference),
        "temporaries": temporaries(snap),
        "files": sorted(output_files(snap)),
        "store": (checked, [d.line() for d in damaged]),
        "out": str(out),
    }


# ---- the module's runs, two at a time -----------------------------------------------------
@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    base = tmp_path_factory.mktemp("faults")
    pre = base / "prerequisites"
    pre.mkdir()
    campaign = pd.read_csv(ROOT / "retention_sim" / "data" / "hillstrom.csv.gz")
    campaign.iloc[::10].to_csv(pre / "hillstrom_tenth.csv", index=False)
    order = ["report", "replay", "forecast", "optimise", "compare", "select", "sweep",
             "calibrate", "run"]  # fmt: skip
    with ThreadPoolExecutor(max_workers=2) as pool:
        made: dict[str, Future[Any]] = {}
        futures = {"report": pool.submit(exercise, "report", base, pre, None)}  # the longest
        for c in NEEDS.values():
            made[c] = pool.submit(run_to_end, argv(c, pre, pre), base / f"{c}.stderr")
        for c in order[1:]:
            futures[c] = pool.submit(exercise, c, base, pre, made.get(NEEDS.get(c, "")))
        for c, f in made.items():
            assert f.result()[0] == 0, f"prerequisite {c} failed: {f.result()[2][-2000:]}"
        results = {c: f.result() for c, f in futures.items()}
    for c, r in results.items():  # shown with -s or -rP: when each kill landed, the full disk
        print(f"{c}: {r.seconds:.2f} s; " + "; ".join(r.kills))
        if r.disk:
            print(f"  full disk ({r.disk.get('size', 0) // 1024} KiB): {r.disk}")
    return results


@pytest.mark.slow
@pytest.mark.parametrize("command", WRITERS)
def test_a_killed_command_leaves_only_complete_files(outcomes, command):
    o = outcomes[command]
    assert o.left == [], "\n".join(o.left)
    files = [k for k, m in zip(o.kills, MOMENTS[command], strict=True) if m[0] == "file"]
    assert all(k.startswith("killed") for k in files), o.kills  # the writing phase was hit


@pytest.mark.slow
@pytest.mark.parametrize("command", WRITERS)
def test_a_rerun_after_a_kill_gives_the_uninterrupted_result(outcomes, command):
    o = outcomes[command]
    assert o.rerun == [], "\n".join(o.rerun)


@pytest.mark.slow
@pytest.mark.parametrize("command", FULL_DISK)
def test_a_full_disk_fails_in_one_line_and_leaves_complete_files(outcomes, command):
    d = outcomes[command].disk
    if "skip" in d:
        pytest.skip(d["skip"])
    assert d["status"] == 2, d
    lines = d["stderr"].splitlines()
    assert len(lines) == 1 and "Traceback" not in d["stderr"], d["stderr"]
    named = re.fullmatch(r"retention-sim: error: (.+): No space left on device", lines[0])
    assert named and named.group(1).startswith(d["out"] + "/"), lines[0]
    assert not _HIDDEN_TMP.match(Path(named.group(1)).name), "names the target, not a temporary"
    assert d["left"] == [] and d["temporaries"] == [], d
    checked, damaged = d["store"]
    assert damaged == []
    if command == "compare":  # it filled up inside the result store, after some runs
        assert checked >= 1 and not any(f.endswith("comparison.json") for f in d["files"]), d
    else:
        assert d["files"], "the disk filled up before the first file"
