"""A result store on disk: one file per (policy, replication) run, a manifest per study, resume.

Layout under the store's folder ``DIR``::

    DIR/runs/<study-key>/manifest.json
    DIR/runs/<study-key>/<policy-hash>-r<replication>.json

The *study key* hashes everything that determines a run's outcome apart from the policy and the
replication: the scenario's content hash, the study seed, the effective number of starting
customers and of days, the package version, a fingerprint of the simulation engine's source code
and the format of the result files. A changed scenario, seed, size, horizon or engine therefore
lands in a new folder and is never mixed with old results; a changed policy has a new content
hash and therefore new file names. A policy added to an existing study reuses the runs of the
policies already there.

Every file is written atomically (:mod:`retention_sim.outputs`): a study stopped by Ctrl-C or a
killed process loses only the runs in flight. Running the same study again reads the finished
runs instead of recomputing them (:meth:`ResultStore.load`).

Nothing read is trusted blindly. Every run file carries a checksum of its content and the
manifest records it (:mod:`retention_sim.study.run_file`); on load a run file must fit the
schema, match its own checksum and the manifest's. A run that fails is *recomputed*, and the
recompute is announced with a :class:`DamagedRunWarning` naming the run and the reason (the
command line prints it as one line). :func:`verify_store` reports every damaged run of a store
without recomputing anything (``retention-sim store verify DIR``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import math
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..outputs import atomic_write_text
from .run_file import (
    RESULT_FORMAT,
    DamagedRun,
    DamagedRunWarning,
    check_run,
    checksum,
    dump,
    read_json,
)

if TYPE_CHECKING:
    from ..config.policy import Policy
    from ..config.scenario import Scenario

__all__ = [
    "DamagedRun",
    "DamagedRunWarning",
    "ResultStore",
    "verify_store",
    "ENGINE_SOURCES",
    "engine_files",
    "engine_fingerprint",
    "policy_hash",
    "study_key",
    "RESULT_FORMAT",
]

#: What produces a run's numbers, relative to the package: the inputs and the model whole, the
#: shared vocabulary, and the unit of work and metric catalogue of the study layer (they decide
#: which numbers a result file holds). tests/study/test_store.py checks that running a
#: replication executes nothing else from the package, so an engine module cannot be missed.
ENGINE_SOURCES: tuple[str, ...] = (
    "_version.py",
    "config",
    "errors.py",
    "model",
    "outputs.py",
    "study/execution.py",
    "study/metrics.py",
    "vocabulary.py",
)

_PACKAGE = Path(__file__).resolve().parents[1]


def engine_files() -> list[str]:
    """Every source file of the engine (see :data:`ENGINE_SOURCES`), package-relative, sorted."""
    out: list[str] = []
    for src in ENGINE_SOURCES:
        path = _PACKAGE / src
        if path.is_dir():
            out += [p.relative_to(_PACKAGE).as_posix() for p in path.rglob("*.py")]
        elif path.exists():
            out.append(src)
    return sorted(out)


@functools.lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """A hash of the source of every engine file (the code that produces a run's numbers)."""
    h = hashlib.sha256()
    for name in engine_files():
        h.update(name.encode())
        h.update(b"\0")
        h.update((_PACKAGE / name).read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def policy_hash(policy: Policy | None) -> str:
    """The content hash of a policy, or ``"no-policy"`` for ``None`` (no contact at all)."""
    return "no-policy" if policy is None else policy.content_hash()


def study_key(scenario_hash: str, *, seed: int, customers: int, days: int) -> str:
    """The folder name of a study: a hash of everything but the policy and the replication.

    Parameters
    ----------
    scenario_hash
        ``Scenario.content_hash()``.
    seed
        The study's seed.
    customers, days
        The *effective* starting base and horizon (the scenario's values when not overridden).
    """
    blob = json.dumps(
        {
            "format": RESULT_FORMAT,
            "version": __version__,
            "engine": engine_fingerprint(),
            "scenario": scenario_hash,
            "seed": int(seed),
            "customers": int(customers),
            "days": int(days),
        },
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class ResultStore:
    """Run results and manifests under one folder (see the module docstring for the layout).

    Parameters
    ----------
    root
        The store's folder (created on first write).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._scenario_hashes: dict[int, tuple[Scenario, str]] = {}
        self._policy_hashes: dict[int, tuple[Policy, str]] = {}
        self._checksums: dict[str, dict[str, str]] = {}
        self._pending: dict[str, dict[str, str]] = {}

    # keys ----------------------------------------------------------------------------
    def _scenario_hash(self, scenario: Scenario) -> str:
        hit = self._scenario_hashes.get(id(scenario))
        if hit is None or hit[0] is not scenario:
            hit = (scenario, scenario.content_hash())
            self._scenario_hashes[id(scenario)] = hit
        return hit[1]

    def _policy_hash(self, policy: Policy | None) -> str:
        if policy is None:
            return policy_hash(None)
        hit = self._policy_hashes.get(id(policy))
        if hit is None or hit[0] is not policy:
            hit = (policy, policy_hash(policy))
            self._policy_hashes[id(policy)] = hit
        return hit[1]

    def task_study_key(self, task: Any) -> str:
        """The study key of a :class:`~retention_sim.study.execution.RunTask`."""
        sc = task.scenario
        customers = sc.population.initial_customers if task.customers is None else task.customers
        days = sc.calendar.horizon_days if task.days is None else task.days
        return study_key(
            self._scenario_hash(sc), seed=task.study_seed, customers=customers, days=days
        )

    def study_dir(self, key: str) -> Path:
        """The folder of the study with key ``key``."""
        return self.root / "runs" / key

    def run_path(self, task: Any) -> Path:
        """Where the result of ``task`` is (or will be) stored."""
        name = f"{self._policy_hash(task.policy)}-r{task.replication:06d}.json"
        return self.study_dir(self.task_study_key(task)) / name

    # runs ----------------------------------------------------------------------------
    def load(self, task: Any) -> dict[str, Any] | None:
        """The stored result of ``task``, or ``None`` if it must be computed.

        ``None`` when the run has not finished yet, and when its file fails a check: not valid
        JSON, not the run-file schema, a checksum that does not match the content or the one
        the manifest recorded, or another run's identity. A failed check is announced with a
        :class:`DamagedRunWarning` (the run is then recomputed and its file replaced). A run
        that passes but that its manifest does not record yet (its study was killed before it
        could :meth:`flush`) is recorded at the next flush.
        """
        path = self.run_path(task)
        data, reason = read_json(path)
        if data == "":
            return None
        key = self.task_study_key(task)
        recorded = self._recorded(key).get(path.name)
        if reason is None:
            days = task.scenario.calendar.horizon_days if task.days is None else task.days
            reason = check_run(
                data,
                days=int(days),
                recorded=recorded,
                expect={
                    "policy_hash": self._policy_hash(task.policy),
                    "replication": task.replication,
                    "seed": task.seed,
                },
            )
        if reason is not None:
            bad = DamagedRun(path, task.policy_name, task.replication, reason)
            warnings.warn(bad.line() + "; recomputing it", DamagedRunWarning, stacklevel=2)
            return None
        if recorded is None:  # saved by a study killed before it could flush: record it now
            self._pending.setdefault(key, {})[path.name] = data["checksum"]
            self._recorded(key)[path.name] = data["checksum"]
        return {
            "policy": task.policy_name,
            "replication": task.replication,
            "seed": task.seed,
            "point": task.point,
            "metrics": data["metrics"],
            "daily": data["daily"],
            "groups": data.get("groups", {}),
        }

    def _recorded(self, key: str) -> dict[str, str]:
        """The run checksums the manifest of study ``key`` records (read once per store)."""
        hit = self._checksums.get(key)
        if hit is None:
            hit = dict(self.read_manifest(key).get("runs", {}))
            self._checksums[key] = hit
        return hit

    def save(self, task: Any, result: Mapping[str, Any]) -> Path:
        """Write the result of ``task`` atomically, with its checksum, and return its path.

        The checksum is recorded in the manifest by :meth:`flush` (called at the end of every
        batch of runs, also when it is interrupted).
        """
        record = {
            "format": RESULT_FORMAT,
            "policy": task.policy_name,
            "policy_hash": self._policy_hash(task.policy),
            "replication": task.replication,
            "seed": task.seed,
            "metrics": result["metrics"],
            "daily": result["daily"],
            "groups": result.get("groups", {}),
            "written": _now(),
        }
        record["checksum"] = checksum(record)
        path = atomic_write_text(self.run_path(task), dump(record))
        key = self.task_study_key(task)
        self._pending.setdefault(key, {})[path.name] = record["checksum"]
        self._recorded(key)[path.name] = record["checksum"]
        return path

    def flush(self) -> None:
        """Record the checksums of the runs saved since the last flush in their manifests."""
        pending, self._pending = self._pending, {}
        for key, sums in pending.items():
            path = self.study_dir(key) / "manifest.json"
            with _locked(path):
                manifest, _ = read_json(path)
                manifest = manifest if isinstance(manifest, dict) else {"study_key": key}
                manifest["runs"] = {**manifest.get("runs", {}), **sums}
                atomic_write_text(path, dump(manifest))

    # manifests -----------------------------------------------------------------------
    def write_manifest(
        self,
        scenario: Scenario,
        policies: Mapping[str, Policy | None],
        *,
        seed: int,
        customers: int | None,
        days: int | None,
        replications: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """Create or update the manifest of a study, merging in the policies named here.

        Parameters
        ----------
        scenario
            The study's scenario.
        policies
            ``{name: policy or None}``.
        seed, customers, days
            As passed to the study (``None``: the scenario's values).
        replications
            Replications finished for every policy named here, if known.
        extra
            More JSON-ready fields to record (for example the sweep grid).

        Returns
        -------
        pathlib.Path
            The manifest's path.
        """
        n0 = scenario.population.initial_customers if customers is None else int(customers)
        horizon = scenario.calendar.horizon_days if days is None else int(days)
        key = study_key(self._scenario_hash(scenario), seed=seed, customers=n0, days=horizon)
        path = self.study_dir(key) / "manifest.json"
        with _locked(path):
            return self._merge_manifest(
                path, key, scenario, policies, n0, horizon, seed, replications, extra
            )

    def _merge_manifest(
        self,
        path: Path,
        key: str,
        scenario: Scenario,
        policies: Mapping[str, Policy | None],
        n0: int,
        horizon: int,
        seed: int,
        replications: int | None,
        extra: Mapping[str, Any] | None,
    ) -> Path:
        old, _ = read_json(path)
        old = old if isinstance(old, dict) else {}
        now = _now()
        merged = dict(old.get("policies", {}))
        for name, pol in policies.items():
            merged[name] = {
                "hash": self._policy_hash(pol),
                **({"replications": int(replications)} if replications is not None else {}),
            }
        manifest = {
            "study_key": key,
            "format": RESULT_FORMAT,
            "scenario": {"name": scenario.name, "hash": self._scenario_hash(scenario)},
            "policies": merged,
            "seed": int(seed),
            "customers": n0,
            "days": horizon,
            "seeds": "replication k runs with int(SeedSequence([seed, k]).generate_state(1)[0])",
            "package_version": __version__,
            "engine": engine_fingerprint(),
            "created": old.get("created", now),
            "updated": now,
            **({k: _jsonable(v) for k, v in extra.items()} if extra else {}),
            "runs": old.get("runs", {}),
        }
        return atomic_write_text(path, dump(manifest))

    def read_manifest(self, key: str) -> dict[str, Any]:
        """The manifest of the study with key ``key`` (empty if there is none)."""
        try:
            return json.loads((self.study_dir(key) / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return {}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``path`` (``.manifest.lock``) while it is read and
    rewritten, so concurrent studies on one store never lose each other's entries. Where
    ``fcntl`` is missing (Windows) the update is atomic but unlocked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def verify_store(root: str | Path) -> tuple[int, list[DamagedRun]]:
    """Check every run file of a store without recomputing anything.

    Parameters
    ----------
    root
        The store's folder (the ``--out`` of a study: it holds ``runs/``).

    Returns
    -------
    tuple
        ``(number of run files checked, the damaged ones)``. A run is damaged when its file is
        not valid JSON, does not fit the schema, does not match its checksum or the manifest's,
        or sits in a study folder without a readable manifest.
    """
    runs = Path(root) / "runs"
    checked, damaged = 0, []
    for study in sorted(p for p in runs.iterdir() if p.is_dir()):
        manifest, problem = read_json(study / "manifest.json")
        recorded = manifest.get("runs", {}) if isinstance(manifest, dict) else {}
        days = manifest.get("days") if isinstance(manifest, dict) else None
        for path in sorted(study.glob("*-r*.json")):
            checked += 1
            data, reason = read_json(path)
            if reason is None:
                if not isinstance(manifest, dict) or not manifest:
                    reason = f"its manifest is {'damaged' if problem else 'missing'}"
                else:
                    reason = check_run(data, days=days, recorded=recorded.get(path.name))
            if reason is not None:
                policy = data.get("policy", "?") if isinstance(data, dict) else "?"
                rep = data.get("replication") if isinstance(data, dict) else None
                rep = rep if isinstance(rep, int) else _replication_of(path.name)
                damaged.append(DamagedRun(path, str(policy), rep, reason))
    return checked, damaged


def _replication_of(name: str) -> int | None:
    tail = name.rsplit("-r", 1)[-1].removesuffix(".json")
    return int(tail) if tail.isdigit() else None
