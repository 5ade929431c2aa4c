"""Backends: serial, process pool and Dask give bit-identical results; seeds; the unit of work."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from retention_sim import compare
from retention_sim.config.policy import load_policy
from retention_sim.study.execution import Runner, RunTask, replication_seed, run_replication
from retention_sim.study.metrics import DAILY_SERIES, METRICS, flatten_summary

from ..conftest import ROOT

POLICIES = ROOT / "params" / "policies"
KW = {"replications": 3, "seed": 9, "customers": 300, "days": 60, "progress": False}


@pytest.fixture(scope="module")
def arms(default_scenario):
    return [load_policy(POLICIES / "bau_default.yaml", scenario=default_scenario), None]


@pytest.fixture(scope="module")
def serial(default_scenario, arms):
    return compare(default_scenario, arms, backend="serial", **KW)


def assert_identical(a, b):
    pd.testing.assert_frame_equal(a.table(), b.table(), check_exact=True)
    for p in a.policies:
        for s in DAILY_SERIES:
            assert np.array_equal(a._daily[p][s], b._daily[p][s])


def test_replication_seed_is_the_documented_seed_sequence_draw():
    assert replication_seed(0, 3) == int(np.random.SeedSequence([0, 3]).generate_state(1)[0])
    seeds = {replication_seed(7, k) for k in range(100)}
    assert len(seeds) == 100
    assert replication_seed(7, 0) != replication_seed(8, 0)


def test_flatten_summary_without_messages_gives_zeros(default_scenario):
    task = RunTask("no_contact", 0, 1, default_scenario, None, customers=100, days=10)
    r = run_replication(task)
    assert list(r["metrics"]) == list(METRICS)
    for m in ("unsubscribe_rate", "complaint_rate", "messages_delivered", "over_fatigue_share"):
        assert r["metrics"][m] == 0.0
    assert set(r["daily"]) == set(DAILY_SERIES) and len(r["daily"]["customers"]) == 10
    # the unit of work and its result travel between processes
    assert pickle.loads(pickle.dumps(task)) == task
    assert pickle.loads(pickle.dumps(r)) == r
    with pytest.raises(KeyError):
        flatten_summary({})


def test_processes_backend_is_bit_identical_to_serial(default_scenario, arms, serial):
    pooled = compare(default_scenario, arms, backend="processes", workers=2, **KW)
    assert_identical(serial, pooled)


def test_dask_local_cluster_is_bit_identical_to_serial(default_scenario, arms, serial):
    pytest.importorskip("distributed")
    viadask = compare(default_scenario, arms, dask="local", workers=2, **KW)
    assert_identical(serial, viadask)


def test_dask_existing_scheduler_address(default_scenario, arms, serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        viadask = compare(default_scenario, arms, dask=cluster.scheduler_address, **KW)
    assert_identical(serial, viadask)


def test_runner_keeps_task_order_and_reports_each_result(default_scenario):
    tasks = [
        RunTask("no_contact", k, replication_seed(0, k), default_scenario, None, 50, 5)
        for k in range(4)
    ]
    seen = []
    with Runner("serial", progress=False) as runner:
        out = runner.run(tasks, on_result=lambda t, r: seen.append(t.replication))
    assert [r["replication"] for r in out] == [0, 1, 2, 3]
    assert sorted(seen) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        Runner("threads")


def test_progress_bar_is_shown_when_asked(default_scenario, capsys):
    tasks = [RunTask("no_contact", 0, 1, default_scenario, None, 50, 5)]
    with Runner("serial", progress=True) as runner:
        runner.run(tasks, desc="simulating")
    assert "simulating" in capsys.readouterr().err


def test_the_core_install_needs_neither_dask_nor_the_test_tools(tmp_path):
    """dask and distributed are the [dask] extra, nbval and pytest the [test] extra: with them
    unimportable, the package imports, the process pool runs (no main guard in this script),
    and asking for Dask says which extra to install, in one line."""
    script = tmp_path / "core_only.py"
    script.write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'dask', 'distributed', 'nbval', 'pytest', 'hypothesis'}:\n"
        "            raise ImportError(f'blocked {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from retention_sim import InputError, compare, load_scenario\n"
        "sc = load_scenario('default')\n"
        "kw = dict(replications=2, customers=100, days=10, progress=False)\n"
        "c = compare(sc, ['bau_default', None], backend='processes', workers=2, **kw)\n"
        "print('pool ok', c.replications)\n"
        "try:\n"
        "    compare(sc, ['bau_default', None], dask='local', **kw)\n"
        "except InputError as e:\n"
        "    print('dask:', e)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pool ok 2" in done.stdout
    assert "dask: the dask backend needs dask and distributed: pip install" in done.stdout
