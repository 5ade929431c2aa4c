"""Reading parameter files safely and turning validation failures into one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import InputError

__all__ = ["read_yaml_mapping", "validate_model", "load_model"]

M = TypeVar("M", bound=BaseModel)

_MAX_BYTES = 2_000_000  # parameter files are small; refuse anything absurd before parsing
_MAX_ALIASES = 50


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses alias bombs (many aliases expanding exponentially)."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._alias_count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D401 - yaml API
        if self.check_event(yaml.AliasEvent):
            self._alias_count += 1
            if self._alias_count > _MAX_ALIASES:
                raise yaml.YAMLError(f"more than {_MAX_ALIASES} YAML aliases")
        return super().compose_node(parent, index)


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping, with safe loading only.

    Parameters
    ----------
    path
        The file to read.

    Returns
    -------
    dict
        The parsed mapping.

    Raises
    ------
    InputError
        If the file is missing, unreadable, not UTF-8, not YAML, or not a mapping.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", source=p)
    raw = p.read_bytes()
    if len(raw) > _MAX_BYTES:
        raise InputError(f"file is larger than {_MAX_BYTES} bytes", source=p)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", source=p) from None
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"not valid YAML{where}: {problem}", source=p) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise InputError(f"expected a mapping of fields at the top level, got {kind}", source=p)
    return data


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def validate_model(model: type[M], data: Any, *, source: str | Path | None = None) -> M:
    """Validate ``data`` as ``model``; on failure raise one :class:`InputError`.

    The message names the first failing field path and the problem; when several fields fail,
    it says how many more there are.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = tuple(
            p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        msg = first["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if first["type"] == "extra_forbidden":
            msg = "unknown field"
        elif first["type"] == "missing":
            msg = "required field is missing"
        more = len(errors) - 1
        if more:
            msg += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise InputError(msg, source=source, field=_field_path(loc)) from None


def load_model(model: type[M], path: str | Path) -> M:
    """Read a YAML file and validate it as ``model``."""
    return validate_model(model, read_yaml_mapping(path), source=path)
