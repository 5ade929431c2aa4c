"""The shipped presets, found by name from anywhere: ``default``, ``bau_default``, ...

Scenario and policy presets live in the project's ``params/scenarios/`` and
``params/policies/``. A name such as ``"default"`` or ``"playbook_software"`` (or
``"validation/sbg_regular"``) is looked up there, so notebooks, scripts and the command line
work whatever the current directory is. The ``params`` folder is found, first that exists:

1. ``$RETENTION_SIM_PARAMS`` (a folder holding ``scenarios/`` and ``policies/``);
2. ``params/`` in the current directory or the nearest parent that has one (a checkout, or a
   project laid out like it);
3. ``params/`` beside the installed package's source (an editable install, as ``make venv``
   makes).

A path that exists is always used as given; a path or name that neither exists nor names a
preset is an :class:`~retention_sim.errors.InputError` that lists the closest preset names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from ..errors import InputError, did_you_mean

__all__ = ["params_dir", "preset_names", "resolve_preset"]

Kind = Literal["scenario", "policy"]
_FOLDER = {"scenario": "scenarios", "policy": "policies"}
_SUFFIXES = (".yaml", ".yml")


def _has_presets(d: Path) -> bool:
    return (d / "scenarios").is_dir() and (d / "policies").is_dir()


def params_dir() -> Path | None:
    """The folder holding ``scenarios/`` and ``policies/`` (see the module docstring), or
    ``None`` if there is none."""
    env = os.environ.get("RETENTION_SIM_PARAMS")
    if env and _has_presets(Path(env)):
        return Path(env)
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if _has_presets(d / "params"):
            return d / "params"
    beside = Path(__file__).resolve().parents[2] / "params"
    return beside if _has_presets(beside) else None


def preset_names(kind: Kind) -> list[str]:
    """Every preset name of ``kind`` (``"scenario"`` or ``"policy"``), sorted; names in
    subfolders carry the folder (``validation/sbg_regular``)."""
    root = params_dir()
    if root is None:
        return []
    folder = root / _FOLDER[kind]
    return sorted(
        str(p.relative_to(folder).with_suffix("")).replace(os.sep, "/")
        for p in folder.rglob("*")
        if p.suffix in _SUFFIXES and p.is_file()
    )


def resolve_preset(path_or_name: str | Path, kind: Kind) -> Path:
    """The file ``path_or_name`` names: itself if it exists, else the preset of that name.

    Parameters
    ----------
    path_or_name
        A path to a YAML file, or a preset name (``"default"``, ``"bau_default"``); a name may
        also carry the ``.yaml`` suffix or the ``params/...`` prefix of a checkout.
    kind
        ``"scenario"`` or ``"policy"``.

    Returns
    -------
    pathlib.Path
        The file to read.

    Raises
    ------
    InputError
        Neither a file nor a preset; the message lists the closest preset names.
    """
    p = Path(path_or_name)
    if p.exists():
        return p
    root = params_dir()
    names = preset_names(kind)
    if root is not None:
        stem = str(path_or_name).replace(os.sep, "/")
        for prefix in (f"params/{_FOLDER[kind]}/", f"{_FOLDER[kind]}/"):
            if prefix in stem:
                stem = stem.split(prefix, 1)[1]
        for suffix in _SUFFIXES:
            stem = stem.removesuffix(suffix)
        if stem in names:
            folder = root / _FOLDER[kind]
            for suffix in _SUFFIXES:
                if (folder / f"{stem}{suffix}").is_file():
                    return folder / f"{stem}{suffix}"
    hint = did_you_mean(p.stem if p.suffix in _SUFFIXES else str(path_or_name), names)
    if not hint and names:
        shown = ", ".join(n for n in names if "/" not in n)
        hint = f"; {kind} presets: {shown}"
    raise InputError(f"file not found, and no {kind} preset of that name{hint}", source=p)
