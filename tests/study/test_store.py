"""The result store: one atomic file per run, a manifest, resume without recomputing, no mixing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from retention_sim import __version__, compare
from retention_sim.config.policy import load_policy
from retention_sim.study.execution import RunTask, replication_seed, run_replication
from retention_sim.study.store import ResultStore, engine_fingerprint

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"
KW = {"seed": 4, "customers": 300, "days": 60, "backend": "serial", "progress": False}


@pytest.fixture(scope="module")
def bau(default_scenario):
    return load_policy(POLICIES / "bau_default.yaml", scenario=default_scenario)


def run_files(out: Path) -> dict[Path, int]:
    """Every stored run file with its modification time (ns)."""
    return {p: p.stat().st_mtime_ns for p in sorted(out.glob("runs/*/*-r*.json"))}


def test_resume_reads_finished_runs_and_computes_only_the_rest(default_scenario, bau, tmp_path):
    part = compare(default_scenario, [bau, None], replications=2, out=tmp_path, **KW)
    assert (part.info["runs_computed"], part.info["runs_loaded"]) == (4, 0)
    before = run_files(tmp_path)
    assert len(before) == 4
    time.sleep(0.01)  # so that a rewrite would show in the modification times

    full = compare(default_scenario, [bau, None], replications=4, out=tmp_path, **KW)
    assert (full.info["runs_computed"], full.info["runs_loaded"]) == (4, 4)
    after = run_files(tmp_path)
    assert len(after) == 8
    assert {p: after[p] for p in before} == before  # finished runs were not rewritten
    pd.testing.assert_frame_equal(
        full.table()[full.table()["replication"] < 2].reset_index(drop=True),
        part.table(),
        check_exact=True,
    )

    again = compare(default_scenario, [bau, None], replications=4, out=tmp_path, **KW)
    assert (again.info["runs_computed"], again.info["runs_loaded"]) == (0, 8)
    pd.testing.assert_frame_equal(again.table(), full.table(), check_exact=True)
    assert run_files(tmp_path) == after

    # read results equal fresh results, bit for bit
    fresh = compare(default_scenario, [bau, None], replications=4, **KW)
    pd.testing.assert_frame_equal(fresh.table(), again.table(), check_exact=True)


def test_manifest_records_the_study(default_scenario, bau, tmp_path):
    c = compare(default_scenario, [bau, None], replications=2, out=tmp_path, **KW)
    (manifest_path,) = tmp_path.glob("runs/*/manifest.json")
    m = json.loads(manifest_path.read_text())
    assert manifest_path.parent.name == c.info["study_key"] == m["study_key"]
    assert m["scenario"] == {"name": default_scenario.name, "hash": default_scenario.content_hash()}
    assert m["policies"]["bau_default"]["hash"] == bau.content_hash()
    assert m["policies"]["no_contact"]["hash"] == "no-policy"
    assert m["policies"]["bau_default"]["replications"] == 2
    assert (m["seed"], m["customers"], m["days"]) == (4, 300, 60)
    assert m["package_version"] == __version__ and m["engine"] == engine_fingerprint()
    assert m["created"] and m["updated"]
    name = f"{bau.content_hash()}-r000001.json"
    run = json.loads((manifest_path.parent / name).read_text())
    assert run["seed"] == replication_seed(4, 1) and run["replication"] == 1


def test_changed_inputs_never_mix_with_old_results(default_scenario, bau, tmp_path):
    compare(default_scenario, [bau, None], replications=2, out=tmp_path, **KW)

    # the same name, different content: only the unchanged arm is read
    bau6 = bau.with_overrides({"campaigns.0.cadence.every_n_days": 6}, name=bau.name)
    assert bau6.name == bau.name
    c = compare(default_scenario, [bau6, None], replications=2, out=tmp_path, **KW)
    assert (c.info["runs_computed"], c.info["runs_loaded"]) == (2, 2)

    other = default_scenario.with_overrides({"economics.gross_margin": 0.4})
    for scenario, kw in [
        (other, KW),
        (default_scenario, {**KW, "seed": 5}),
        (default_scenario, {**KW, "customers": 301}),
        (default_scenario, {**KW, "days": 61}),
    ]:
        c = compare(scenario, [None], replications=2, out=tmp_path, **kw)
        assert c.info["runs_loaded"] == 0
    assert len(list(tmp_path.glob("runs/*/manifest.json"))) == 5


def test_unreadable_run_file_is_recomputed(default_scenario, tmp_path):
    compare(default_scenario, [None], replications=2, out=tmp_path, **KW)
    victim = sorted(tmp_path.glob("runs/*/*-r000000.json"))[0]
    victim.write_text("{not json")
    with pytest.warns(UserWarning, match="is not valid JSON"):
        c = compare(default_scenario, [None], replications=2, out=tmp_path, **KW)
    assert (c.info["runs_computed"], c.info["runs_loaded"]) == (1, 1)
    assert json.loads(victim.read_text())["replication"] == 0


@pytest.mark.parametrize("kill_after", [1, 4, 13, 29])
def test_a_killed_study_keeps_every_finished_run(default_scenario, bau, tmp_path, kill_after):
    out = tmp_path / "store"
    reps = 30
    kw = {"seed": 3, "customers": 200, "days": 40, "backend": "serial", "progress": False}
    script = (
        "from retention_sim import compare, load_scenario\n"
        "from retention_sim.config.policy import load_policy\n"
        f"sc = load_scenario({str(SCENARIOS / 'default.yaml')!r})\n"
        f"pol = load_policy({str(POLICIES / 'bau_default.yaml')!r}, scenario=sc)\n"
        f"compare(sc, [pol, None], replications={reps}, out={str(out)!r}, **{kw!r})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while (
            len(run_files(out)) < kill_after and time.monotonic() < deadline and proc.poll() is None
        ):
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode != 0, "the study finished before it could be killed"
    survived = run_files(out)
    assert kill_after <= len(survived) < 2 * reps
    for p in survived:  # no half-written run file is visible
        data = json.loads(p.read_text())
        assert {"metrics", "daily", "seed", "replication"} <= set(data)
    time.sleep(0.01)

    full = compare(default_scenario, [bau, None], replications=reps, out=out, **kw)
    assert full.info["runs_loaded"] == len(survived)
    assert full.info["runs_computed"] == 2 * reps - len(survived)
    now = run_files(out)
    assert {p: now[p] for p in survived} == survived

    # a run read back equals the same run computed afresh
    p = next(iter(survived))
    stored = json.loads(p.read_text())
    k = stored["replication"]
    policy = bau if stored["policy"] == "bau_default" else None
    task = RunTask(
        stored["policy"], k, replication_seed(3, k), default_scenario, policy, 200, 40, study_seed=3
    )
    assert run_replication(task)["metrics"] == stored["metrics"]
    store = ResultStore(out)
    assert store.load(task)["daily"] == stored["daily"]


def test_engine_fingerprint_covers_every_module_a_replication_runs():
    """Every package file with code executed during a replication is an engine file."""
    import subprocess
    import sys

    code = (
        "import sys, os\n"
        "from retention_sim.study.execution import RunTask, run_replication\n"
        "from retention_sim.config.scenario import load_scenario\n"
        "from retention_sim.config.policy import load_policy\n"
        "sc = load_scenario('params/scenarios/default.yaml')\n"
        "pol = load_policy('params/policies/playbook_loyalty_app.yaml', scenario=sc)\n"
        "seen = set()\n"
        "def prof(frame, event, arg):\n"
        "    f = frame.f_code.co_filename\n"
        "    if os.sep + 'retention_sim' + os.sep in f:\n"
        "        seen.add(f.split(os.sep + 'retention_sim' + os.sep, 1)[1].replace(os.sep, '/'))\n"
        "sys.setprofile(prof)\n"
        "run_replication(RunTask('p', 0, 1, sc, pol, customers=200, days=20))\n"
        "sys.setprofile(None)\n"
        "print(' '.join(sorted(seen)))\n"
    )
    from retention_sim.study.store import engine_files

    from ..conftest import ROOT

    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert {"model/simulation.py", "model/churn.py", "study/execution.py"} <= set(out)
    assert set(out) <= set(engine_files()), sorted(set(out) - set(engine_files()))


# ------------------------------------------------------------------ damage and tampering
def _edit(path: Path, change, *, resum: bool = False) -> None:
    from retention_sim.study.run_file import checksum

    data = json.loads(path.read_text())
    change(data)
    if resum:
        data["checksum"] = checksum(data)
    path.write_text(json.dumps(data))


def _double_profit(d):
    d["metrics"]["profit"] *= 2


TAMPERS = {
    "profit doubled": (_double_profit, False, "does not match its checksum"),
    "profit doubled, checksum redone": (_double_profit, True, "differs from the one the manifest"),
    "metrics emptied": (lambda d: d.update(metrics={}), True, "metric 'profit' is missing"),
    "profit a string": (
        lambda d: d["metrics"].update(profit="abc"),
        True,
        "metric 'profit' is not a number",
    ),
    "daily cut short": (
        lambda d: d["daily"].update(customers=d["daily"]["customers"][:5]),
        True,
        "different lengths",
    ),
    "checksum removed": (lambda d: d.pop("checksum"), False, "has no checksum"),
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_a_tampered_or_damaged_run_is_detected_announced_and_recomputed(
    default_scenario, tmp_path, tamper
):
    from retention_sim.study.store import DamagedRunWarning, verify_store

    change, resum, reason = TAMPERS[tamper]
    honest = compare(default_scenario, [None], replications=2, out=tmp_path, **KW)
    victim = sorted(tmp_path.glob("runs/*/*-r000001.json"))[0]
    _edit(victim, change, resum=resum)

    checked, damaged = verify_store(tmp_path)  # reports, recomputes nothing
    assert checked == 2 and [d.path for d in damaged] == [victim]
    assert reason in damaged[0].reason and damaged[0].replication == 1

    with pytest.warns(DamagedRunWarning, match=reason) as caught:
        again = compare(default_scenario, [None], replications=2, out=tmp_path, **KW)
    assert len(caught) == 1 and str(victim) in str(caught[0].message)
    assert (again.info["runs_computed"], again.info["runs_loaded"]) == (1, 1)
    pd.testing.assert_frame_equal(again.table(), honest.table(), check_exact=True)
    assert verify_store(tmp_path) == (2, [])


def test_a_run_signed_by_hand_without_a_manifest_entry_is_still_checked_by_its_own_sum(
    default_scenario, tmp_path
):
    from retention_sim.study.store import verify_store

    compare(default_scenario, [None], replications=2, out=tmp_path, **KW)
    manifest = next(tmp_path.glob("runs/*/manifest.json"))
    data = json.loads(manifest.read_text())
    assert len(data["runs"]) == 2  # the manifest records each run's checksum
    data["runs"] = {}
    manifest.write_text(json.dumps(data))
    assert verify_store(tmp_path) == (2, [])  # its own checksum still matches
    victim = next(tmp_path.glob("runs/*/*-r000000.json"))
    _edit(victim, _double_profit)
    assert len(verify_store(tmp_path)[1]) == 1


def test_a_run_path_that_is_a_folder_is_named_as_the_run(default_scenario, tmp_path):
    from retention_sim.study.store import DamagedRunWarning

    compare(default_scenario, [None], replications=2, out=tmp_path, **KW)
    victim = next(tmp_path.glob("runs/*/*-r000000.json"))
    victim.unlink()
    victim.mkdir()
    with pytest.warns(DamagedRunWarning, match="is a folder"):
        with pytest.raises(IsADirectoryError) as err:
            compare(default_scenario, [None], replications=2, out=tmp_path, **KW)
    assert err.value.filename == str(victim)


def test_concurrent_studies_on_one_store_keep_every_checksum(default_scenario, bau, tmp_path):
    """Two processes write runs of one study at once: the manifest keeps both sets of sums."""
    script = (
        "import sys\n"
        "from retention_sim import compare, load_scenario\n"
        "from retention_sim.config.policy import load_policy\n"
        f"sc = load_scenario({str(SCENARIOS / 'default.yaml')!r})\n"
        f"pol = load_policy({str(POLICIES / 'bau_default.yaml')!r}, scenario=sc)\n"
        "pols = [pol] if sys.argv[1] == 'a' else [None]\n"
        f"compare(sc, pols, replications=6, out={str(tmp_path)!r}, **{KW!r})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, w]) for w in "ab"]
    assert [p.wait() for p in procs] == [0, 0]
    manifest = json.loads(next(tmp_path.glob("runs/*/manifest.json")).read_text())
    assert len(manifest["runs"]) == 12 and set(manifest["policies"]) == {
        "bau_default",
        "no_contact",
    }
    from retention_sim.study.store import verify_store

    assert verify_store(tmp_path) == (12, [])
