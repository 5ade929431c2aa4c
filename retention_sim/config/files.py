"""Reading parameter files safely and turning validation failures into one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import InputError, did_you_mean

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


#: Parts of pydantic's error locations that name a branch of a union or a validator, not a
#: field (``literal['email','sms']``, ``function-after[...]``, ``str``): never shown.
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "none", "dict", "list", "date", "datetime"})


def _is_internal(part: Any) -> bool:
    return isinstance(part, str) and (
        "[" in part or part.startswith("function-") or part in _TYPE_TAGS
    )


def _field_names(model: type[BaseModel]) -> set[str]:
    """Every field name of ``model`` and of the models nested in it (for "did you mean")."""
    seen: set[type[BaseModel]] = set()
    names: set[str] = set()

    def walk(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                return
            seen.add(tp)
            for name, f in tp.model_fields.items():
                names.add(name)
                walk(f.annotation)
        for arg in getattr(tp, "__args__", ()) or ():
            walk(arg)
        if hasattr(tp, "__origin__"):  # list[...], Annotated[...], ...
            walk(tp.__origin__)

    walk(model)
    return names


def _sentence(error: dict[str, Any], fields: set[str]) -> str:
    """One plain sentence for one pydantic error."""
    kind, msg = error["type"], str(error["msg"])
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        return "unknown field" + did_you_mean(str(error["loc"][-1]), fields)
    if kind == "missing":
        return "required field is missing"
    if msg.startswith("Input should be "):
        return "must be " + msg[len("Input should be ") :]
    return msg[:1].lower() + msg[1:]


def _problems(errors: list[dict[str, Any]], fields: set[str]) -> list[tuple[str, str]]:
    """``(field path, sentence)`` per problem: a union's branches at one field merge into one
    (their allowed values joined), and pydantic's branch labels are dropped."""
    order: list[tuple[Any, ...]] = []
    by_loc: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for e in errors:
        loc = tuple(p for p in e["loc"] if not _is_internal(p))
        if loc not in by_loc:
            order.append(loc)
            by_loc[loc] = []
        by_loc[loc].append(e)
    out = []
    for loc in order:
        group = by_loc[loc]
        literals = [e for e in group if e["type"] == "literal_error"]
        if literals:
            allowed: list[str] = []
            for e in literals:
                expected = str((e.get("ctx") or {}).get("expected", ""))
                allowed += [a.strip() for a in expected.replace(" or ", ", ").split(",") if a]
            allowed = list(dict.fromkeys(allowed))
            given = literals[0].get("input")
            words = ", ".join(allowed[:-1]) + (" or " if len(allowed) > 1 else "") + allowed[-1]
            text = f"must be {words}" if allowed else "is not an allowed value"
            if isinstance(given, str):
                text = f"{given!r} is not allowed; {text}"
                text += did_you_mean(given, [a.strip("'") for a in allowed])
            out.append((_field_path(loc), text))
        else:
            out.append((_field_path(loc), _sentence(group[0], fields)))
    return out


#: At most this many problems are listed in the one line; the rest are counted.
MAX_PROBLEMS = 5


def validate_model(model: type[M], data: Any, *, source: str | Path | None = None) -> M:
    """Validate ``data`` as ``model``; on failure raise one :class:`InputError`.

    The message is one line: each problem as ``field: plain sentence`` (a union's branches at
    one field merged into one sentence, pydantic's internal labels dropped, "did you mean" for
    unknown fields and values), at most :data:`MAX_PROBLEMS`, then how many more.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [dict(e) for e in exc.errors(include_url=False)]
        problems = _problems(errors, _field_names(model))
        if len(problems) == 1:
            raise InputError(problems[0][1], source=source, field=problems[0][0]) from None
        shown = "; ".join(f"{f}: {m}" for f, m in problems[:MAX_PROBLEMS])
        more = len(problems) - MAX_PROBLEMS
        if more > 0:
            shown += f"; and {more} more problem{'s' if more > 1 else ''}"
        raise InputError(shown, source=source) from None


def load_model(model: type[M], path: str | Path) -> M:
    """Read a YAML file and validate it as ``model``."""
    return validate_model(model, read_yaml_mapping(path), source=path)
