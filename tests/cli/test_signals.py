"""A study stopped by SIGKILL, SIGTERM or Ctrl-C leaves no worker behind and a consistent store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retention_sim.study.store import verify_store

from ..conftest import ROOT, SCENARIOS

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _as_from_a_terminal() -> None:
    """Give the child SIGINT as a terminal's Ctrl-C finds it: handled by default, not blocked.

    A test run in the background (CI, make in a script) may ignore SIGINT or block it in the
    signal mask, and a child inherits both across ``exec``; Python then never sees Ctrl-C.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _signal_masks(pid: int) -> str:
    """The child's blocked, ignored and caught signal masks, to explain a signal never seen."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "(process gone)"
    return " ".join(
        line for line in status.splitlines() if line[:6] in ("SigBlk", "SigIgn", "SigCgt")
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "sig"),
    [
        ("processes", signal.SIGKILL),
        ("processes", signal.SIGTERM),
        ("processes", signal.SIGINT),
        ("dask", signal.SIGKILL),  # a LocalCluster's nannies and workers watch their parent too
    ],
)
def test_no_worker_outlives_a_stopped_study(tmp_path, backend, sig):
    if backend == "dask":
        pytest.importorskip("distributed")
    out = tmp_path / "st"
    cmd = [
        sys.executable, "-m", "retention_sim", "compare", str(SCENARIOS / "default.yaml"),
        "-p", "none", "-p", "bau_default", "-r", "40", "--customers", "1500", "--days", "200",
        "--backend", backend, "--workers", "2", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_as_from_a_terminal,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("runs/*/*-r*.json"))) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        workers = _descendants(proc.pid)
        assert len(workers) >= 2, "the pool's workers should be running"
        masks = _signal_masks(proc.pid)
        proc.send_signal(sig)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{sig.name} did not stop the study in 60 s; child's masks: {masks}")
    finally:
        proc.kill()
    deadline = time.monotonic() + 5.0  # "a few seconds"
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], f"workers left after {sig.name}"

    assert code != 0, "the study finished before it could be stopped"
    checked, damaged = verify_store(out)
    assert checked >= 2 and damaged == []
    if sig != signal.SIGKILL:  # a clean stop: one line, the usual status, every sum recorded
        assert code == (143 if sig == signal.SIGTERM else 130)
        err = proc.stderr.read().decode()
        # (the pool's resource tracker, a process of its own, may add its warnings after it)
        assert "retention-sim: interrupted; files already written are kept\n" in err, err
        assert "Traceback" not in err, err
        manifest = json.loads(next(out.glob("runs/*/manifest.json")).read_text())
        assert len(manifest["runs"]) == checked
        assert not list(out.glob("runs/*/.*.tmp"))  # no temporary file left behind
    else:
        assert code == -signal.SIGKILL
