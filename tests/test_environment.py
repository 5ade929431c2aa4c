"""The conda environment and the pip install list name the same dependencies."""

from __future__ import annotations

import re

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_dependencies_as_pyproject(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pip_deps = {_name(d) for d in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        pip_deps |= {_name(d) for d in extra}
    env = yaml.safe_load((root / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    conda -= {"python", "pip"}
    assert pip_deps == conda, (
        f"only in pyproject: {sorted(pip_deps - conda)}; only in environment.yml: "
        f"{sorted(conda - pip_deps)}"
    )


def test_versions_agree(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    every = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        every += extra
    pins = {_name(d): d.replace(" ", "")[len(_name(d)) :] for d in every}
    env = yaml.safe_load((root / "environment.yml").read_text())
    for d in env["dependencies"]:
        if isinstance(d, str) and _name(d) in pins:
            assert d.replace(" ", "")[len(_name(d)) :] == pins[_name(d)], d
