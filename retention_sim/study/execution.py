"""Running many replications: the unit of work and the serial, process-pool and Dask backends.

The unit of work is :func:`run_replication`: a top-level, picklable function of plain data (a
:class:`RunTask` holding the validated scenario and policy, which both pickle) that runs one
:func:`~retention_sim.simulate` and returns a *small* dict: scalar metrics (the flattened
summary, see :func:`flatten_summary`) plus a few daily series for curves with bands. Whole daily
frames never travel between processes.

Seeds
-----
Replication ``k`` of a study with seed ``s`` runs with the integer seed::

    int(numpy.random.SeedSequence([s, k]).generate_state(1)[0])

(see :func:`replication_seed`), the same for every policy. Inside :func:`simulate` every random
source has its own policy-independent stream, so two policies in replication ``k`` see the same
customers and the same luck (common random numbers, DESIGN.md §5).

Backends
--------
``"serial"`` runs in this process; ``"processes"`` uses loky's process pool
(:class:`loky.ProcessPoolExecutor`: fresh interpreters started by fork+exec, no state inherited
by ``fork``). Unlike :class:`concurrent.futures.ProcessPoolExecutor` with ``spawn``, loky's
workers do not re-run the caller's ``__main__`` module, so a plain script without an
``if __name__ == "__main__":`` guard works (the README example is such a script, and the test
suite runs it), as do notebooks; the unit of work lives in this package and is pickled by
reference. ``"dask"`` submits to a ``distributed`` cluster (the ``[dask]`` extra),
either a :class:`distributed.LocalCluster` started and closed here (``dask="local"``) or an
existing scheduler (``dask="tcp://host:8786"``). The simulation is deterministic given its seed,
so every backend returns bit-identical results; callers sort by (policy, replication) before
aggregating, so completion order never matters.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import InputError
from ..model.random_streams import replication_seed
from .metrics import daily_series, flatten_summary

if TYPE_CHECKING:
    from loky import ProcessPoolExecutor

    from ..config.policy import Policy
    from ..config.scenario import Scenario

__all__ = [
    "BACKENDS",
    "Runner",
    "RunTask",
    "replication_seed",
    "run_replication",
    "run_tasks",
]

BACKENDS = ("serial", "processes", "dask")
Backend = Literal["serial", "processes", "dask"]


@dataclass(frozen=True)
class RunTask:
    """One (policy, replication) run: everything :func:`run_replication` needs, picklable.

    Attributes
    ----------
    policy_name
        The label of the policy in the study (``"no_contact"`` for ``policy=None``).
    replication
        The replication index ``k``.
    seed
        The run's seed (see :func:`replication_seed`).
    scenario
        The validated :class:`~retention_sim.Scenario`.
    policy
        The validated :class:`~retention_sim.config.policy.Policy`, or ``None`` for no contact at all.
    customers, days
        Size of the starting base and horizon (``None``: the scenario's).
    study_seed
        The study's seed ``s`` from which ``seed`` was derived (part of the result store's key).
    point
        Free label used by sweeps and robustness studies (grid point or world index).
    """

    policy_name: str
    replication: int
    seed: int
    scenario: Scenario
    policy: Policy | None = None
    customers: int | None = None
    days: int | None = None
    study_seed: int = 0
    point: int = 0


def run_replication(task: RunTask) -> dict[str, Any]:
    """Run one replication and return its small result (the unit of work of every backend).

    Parameters
    ----------
    task
        What to run.

    Returns
    -------
    dict
        ``policy``, ``replication``, ``seed``, ``point``, ``metrics`` (see
        :func:`flatten_summary`) and ``daily`` (``{series: list of floats}`` for every name in
        :data:`~retention_sim.study.metrics.DAILY_SERIES`) and ``groups`` (per group of the
        starting base, ``[customers, contribution, retained, churned]``; see
        :func:`~retention_sim.model.result.group_outcomes`).
    """
    from ..model.simulation import simulate

    result = simulate(
        task.scenario,
        task.policy,
        seed=task.seed,
        customers=task.customers,
        days=task.days,
    )
    return {
        "policy": task.policy_name,
        "replication": task.replication,
        "seed": task.seed,
        "point": task.point,
        "metrics": flatten_summary(result.summary),
        "daily": daily_series(result.daily),
        "groups": result.extras.get("groups", {}),
    }


# ----------------------------------------------------------------------------- runner
#: How often a pool worker checks that the process that started it is still alive (seconds).
PARENT_CHECK_SECONDS = 0.25


def exit_with_parent(parent_pid: int) -> None:
    """Make this pool worker exit as soon as ``parent_pid`` is no longer its parent.

    The pool's initializer: a daemon thread polls :func:`os.getppid` every
    :data:`PARENT_CHECK_SECONDS`. A study killed by SIGKILL cannot shut its pool down, and its
    workers would be re-parented and live on; with this they exit within a fraction of a
    second, and the pool's resource trackers follow once the last worker has closed their pipe.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="retention-sim-parent-watch", daemon=True).start()


def _require_dask() -> None:
    """Refuse the Dask backend in one line, before any work, when the ``[dask]`` extra is not
    installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise InputError(
            "the dask backend needs dask and distributed: pip install 'retention_sim[dask]'"
        ) from None


def _progress_bar(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled or total == 0, desc=desc, unit="run")


class Runner:
    """A backend that runs :class:`RunTask` s, kept open across batches.

    Use it as a context manager::

        with Runner("processes", workers=4) as runner:
            results = runner.run(tasks)

    Parameters
    ----------
    backend
        ``"serial"``, ``"processes"`` (default) or ``"dask"``.
    workers
        Worker processes for ``"processes"`` (default ``os.cpu_count()``) and for
        ``dask="local"`` (default 2).
    dask
        ``"local"`` to start a :class:`distributed.LocalCluster` on the loopback interface (closed
        on exit), or a scheduler address such as ``"tcp://host:8786"``. Giving ``dask`` implies
        ``backend="dask"``.
    progress
        Show a tqdm progress bar (``tqdm.auto``: a widget in notebooks, text elsewhere).
    function
        The unit of work (default :func:`run_replication`); must be a picklable top-level
        function for the process and Dask backends.
    """

    def __init__(
        self,
        backend: Backend = "processes",
        *,
        workers: int | None = None,
        dask: str | None = None,
        progress: bool = True,
        function: Callable[[Any], dict[str, Any]] = run_replication,
    ):
        if dask is not None:
            backend = "dask"
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if workers is not None and workers < 1:
            raise ValueError("workers must be at least 1")
        if backend == "dask":
            _require_dask()
        self.backend = backend
        self.workers = workers
        self.dask = dask if dask is not None else ("local" if backend == "dask" else None)
        self.progress = progress
        self.function = function
        self._pool: ProcessPoolExecutor | None = None
        self._pool_size = 0
        self._client: Any = None
        self._cluster: Any = None

    # context management --------------------------------------------------------------
    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Shut down the process pool or the Dask client (and a cluster started here)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def _ensure_pool(self, n_tasks: int) -> ProcessPoolExecutor:
        size = max(1, min(self.workers or os.cpu_count() or 1, n_tasks))
        if self._pool is not None and size > self._pool_size:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._pool is None:
            from loky import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                max_workers=size, initializer=exit_with_parent, initargs=(os.getpid(),)
            )
            self._pool_size = size
        return self._pool

    def _ensure_client(self) -> Any:
        if self._client is None:
            from distributed import Client, LocalCluster

            if self.dask == "local":
                with warnings.catch_warnings():
                    # without a dashboard the scheduler still serves /health on loopback, at
                    # 8787 if free, else on a random port: that fallback is not worth a warning
                    warnings.filterwarnings("ignore", message="Port .* is already in use")
                    self._cluster = LocalCluster(
                        n_workers=self.workers or 2,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                    )
                self._client = Client(self._cluster)
            else:
                self._client = Client(self.dask)
        return self._client

    # running -------------------------------------------------------------------------
    def run(
        self,
        tasks: Sequence[Any],
        *,
        on_result: Callable[[Any, dict[str, Any]], object] | None = None,
        desc: str = "simulating",
    ) -> list[dict[str, Any]]:
        """Run every task and return the results in the order of ``tasks``.

        Parameters
        ----------
        tasks
            The tasks (arguments of the unit of work).
        on_result
            Called in this process as ``on_result(task, result)`` as soon as each run finishes
            (the result store writes it there), in completion order.
        desc
            Label of the progress bar.

        Returns
        -------
        list of dict
            One result per task, in the order of ``tasks``.

        Notes
        -----
        On ``KeyboardInterrupt`` (or any error) the runs not yet started are cancelled; results
        already handed to ``on_result`` are kept by the caller.
        """
        tasks = list(tasks)
        if not tasks:
            return []
        with _progress_bar(len(tasks), self.progress, desc) as bar:
            if self.backend == "serial":
                return self._run_serial(tasks, on_result, bar)
            if self.backend == "processes":
                return self._run_pool(tasks, on_result, bar)
            return self._run_dask(tasks, on_result, bar)

    def _run_serial(self, tasks, on_result, bar) -> list[dict[str, Any]]:
        out = []
        for t in tasks:
            r = self.function(t)
            if on_result is not None:
                on_result(t, r)
            out.append(r)
            bar.update(1)
        return out

    def _run_pool(self, tasks, on_result, bar) -> list[dict[str, Any]]:
        pool = self._ensure_pool(len(tasks))
        results: list[Any] = [None] * len(tasks)
        futures: dict[Future, int] = {}
        try:
            for i, t in enumerate(tasks):
                futures[pool.submit(self.function, t)] = i
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    i = futures[f]
                    results[i] = f.result()
                    if on_result is not None:
                        on_result(tasks[i], results[i])
                    bar.update(1)
        except BaseException:
            # the pool's workers may be busy with runs in flight: stop them, do not wait. The
            # pool fails the futures still pending itself (cancelling them here first makes its
            # manager thread trip over an already cancelled future and print a traceback)
            pool.shutdown(wait=False, kill_workers=True)
            self._pool = None
            raise
        return results

    def _run_dask(self, tasks, on_result, bar) -> list[dict[str, Any]]:
        from distributed import as_completed

        client = self._ensure_client()
        futures = client.map(self.function, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(tasks)
        try:
            for f in as_completed(futures):
                i = index[f.key]
                results[i] = f.result()
                if on_result is not None:
                    on_result(tasks[i], results[i])
                bar.update(1)
        except BaseException:
            client.cancel(futures)
            raise
        finally:
            del futures
        return results


def run_tasks(
    tasks: Iterable[Any],
    *,
    backend: Backend = "processes",
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
    on_result: Callable[[Any, dict[str, Any]], object] | None = None,
) -> list[dict[str, Any]]:
    """Run tasks once with a fresh :class:`Runner` (see there) and close it.

    Returns
    -------
    list of dict
        Results in the order of ``tasks``.
    """
    with Runner(backend, workers=workers, dask=dask, progress=progress) as runner:
        return runner.run(list(tasks), on_result=on_result)
