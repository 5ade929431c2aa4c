"""Property tests: any mutation of a preset ends in a valid run or one clear line, never a crash.

Each example takes a preset (a scenario, or a policy with the default scenario), applies one to
three random mutations at random paths — a value of the wrong type, a missing or unknown field,
a negative, huge, NaN or infinite number, an empty list, a shuffled share — and then either the
file is refused with an :class:`InputError` whose single line names the file, or it loads and a
tiny simulation runs with only finite numbers in its results.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retention_sim import InputError, load_scenario, simulate
from retention_sim.cli.main import main
from retention_sim.config.policy import load_policy

from ..conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"
SCENARIO_PRESETS = ["default", "saas", "grocery"]
POLICY_PRESETS = ["bau_default", "playbook_loyalty_app", "playbook_fashion"]
TRIED = {"scenario": 0, "policy": 0, "bytes": 0}
OUTCOMES = {"refused": 0, "ran": 0}

WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-1, -0.5, 0, 1e300, -1e300, 10**9, "", "abc", "2026-13-45", "email", "fax"]),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(
        st.sampled_from(["x", "mean", "shape", "every"]), st.integers(-2, 2), max_size=2
    ),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _get(node, path):
    for p in path:
        node = node[p]
    return node


@st.composite
def mutated(draw, data: dict):
    data = json.loads(json.dumps(data, default=str))  # deep copy, dates as strings
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _get(data, path[:-1])
        key = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "unknown", "empty", "scale"]))
        if action == "replace":
            parent[key] = draw(WEIRD)
        elif action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif action == "delete" and isinstance(parent, list):
            parent.pop(key)
        elif action == "unknown" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["colour", "shares", "channel_x", "rate"]))] = 1
        elif action == "empty":
            parent[key] = draw(st.sampled_from([[], {}, ""]))
        elif (
            action == "scale"
            and isinstance(parent[key], int | float)
            and not isinstance(parent[key], bool)
        ):
            parent[key] = parent[key] * draw(st.sampled_from([-1, 0, 1e6, 1e-9, 3]))
    return data


def _all_finite(obj) -> bool:
    if isinstance(obj, dict):
        return all(_all_finite(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return all(_all_finite(v) for v in obj)
    if isinstance(obj, float):
        return math.isfinite(obj)
    return True


def _check_error(exc: InputError, path: Path) -> None:
    msg = str(exc)
    assert "\n" not in msg and str(path) in msg and len(msg) < 600, msg


def _tiny_run(scenario, policy=None):
    r = simulate(scenario, policy, seed=1, customers=40, days=12)
    assert _all_finite(r.summary), r.summary
    num = r.daily.select_dtypes("number").to_numpy()
    assert np.isfinite(num).all()
    OUTCOMES["ran"] += 1


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(name=st.sampled_from(SCENARIO_PRESETS), data=st.data())
def test_mutated_scenarios_run_or_are_refused_in_one_line(tmp_path, name, data):
    base = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())
    mutant = data.draw(mutated(base))
    path = tmp_path / "mutant.yaml"
    path.write_text(yaml.safe_dump(mutant, allow_unicode=True))
    TRIED["scenario"] += 1
    try:
        sc = load_scenario(path)
    except InputError as exc:
        _check_error(exc, path)
        OUTCOMES["refused"] += 1
        return
    _tiny_run(sc)


@SETTINGS
@given(name=st.sampled_from(POLICY_PRESETS), data=st.data())
def test_mutated_policies_run_or_are_refused_in_one_line(tmp_path, default_scenario, name, data):
    base = yaml.safe_load((POLICIES / f"{name}.yaml").read_text())
    mutant = data.draw(mutated(base))
    path = tmp_path / "mutant.yaml"
    path.write_text(yaml.safe_dump(mutant, allow_unicode=True))
    TRIED["policy"] += 1
    try:
        pol = load_policy(path, scenario=default_scenario)
    except InputError as exc:
        _check_error(exc, path)
        OUTCOMES["refused"] += 1
        return
    _tiny_run(default_scenario, pol)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(lambda s: s.encode("utf-8")),
        st.sampled_from(
            [
                b"- a\n- b\n",
                b"42\n",
                b"null\n",
                b"\xff\xfe\x00",
                b"a: [1, 2\n",
                b"a: &x [1]\nb: *x\n",
                b"!!python/object/apply:os.system ['true']\n",
            ]
        ),
    )
)
def test_arbitrary_bytes_never_crash_the_cli(tmp_path, capsys, raw):
    path = tmp_path / "junk.yaml"
    path.write_bytes(raw)
    TRIED["bytes"] += 1
    code = main(["check", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
