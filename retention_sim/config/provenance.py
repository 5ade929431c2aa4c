"""Where every number of a scenario comes from: fitted from data (which file), published (which
source), or an assumption.

Three places say so, the first that applies wins:

1. the scenario's own ``provenance`` section (``path: {kind, source}``; ``retention-sim
   calibrate`` writes one for what it fitted), paths may use ``*`` for one part;
2. a fitted ``response`` section: everything in it is fitted from its file;
3. the package's table of defaults (``retention_sim/data/sources.yaml``), whose published
   entries hold only while the scenario keeps the published value.

Anything else is an assumption. :func:`parameter_sources` lists every parameter with its kind
and source, for the report's assumptions section and the what-if notebook.
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import field_validator

from .base import StrictModel

__all__ = ["Source", "KINDS", "default_sources", "parameter_sources", "source_of"]

Kind = Literal["fitted", "published", "assumption"]
KINDS: tuple[str, ...] = ("fitted", "published", "assumption")


class Source(StrictModel):
    """Where one number comes from."""

    kind: Kind
    source: str
    value: float | None = None  # the value a published source is for (None: any)
    #: a fitted value's 95% interval, from the fit's covariance (``retention-sim calibrate``)
    interval: tuple[float, float] | None = None

    @field_validator("interval")
    @classmethod
    def _ordered(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not (math.isfinite(v[0]) and math.isfinite(v[1]) and v[0] <= v[1]):
            raise ValueError(f"an interval is [low, high] with low <= high, got {list(v)}")
        return v


@functools.lru_cache(maxsize=1)
def default_sources() -> dict[str, Source]:
    """The package's table of where its default numbers come from."""
    text = resources.files("retention_sim").joinpath("data/sources.yaml").read_text("utf-8")
    return {k: Source.model_validate(v) for k, v in (yaml.safe_load(text) or {}).items()}


def _matches(pattern: str, path: str) -> bool:
    a, b = pattern.split("."), path.split(".")
    return len(a) == len(b) and all(x in ("*", y) for x, y in zip(a, b, strict=True))


def _lookup(table: dict[str, Source], path: str) -> Source | None:
    if path in table:
        return table[path]
    for pattern, src in table.items():
        if "*" in pattern and _matches(pattern, path):
            return src
    return None


def source_of(path: str, value: Any, scenario: Any) -> Source:
    """The source of the scenario parameter at dotted ``path`` whose value is ``value``."""
    own = {
        k: v if isinstance(v, Source) else Source.model_validate(v)
        for k, v in (getattr(scenario, "provenance", None) or {}).items()
    }
    hit = _lookup(own, path)
    if hit is not None:
        return hit
    response = getattr(scenario, "response", None)
    if path.startswith("response.") and response is not None:
        return Source(kind="fitted", source=f"{response.source.file} ({response.source.fitted_on})")
    hit = _lookup(default_sources(), path)
    if hit is None:
        return Source(kind="assumption", source="assumption (see docs/model.md §11)")
    if hit.value is not None and not (
        isinstance(value, (int, float)) and math.isclose(float(value), hit.value, rel_tol=1e-9)
    ):
        return Source(
            kind="assumption",
            source=f"assumption: changed from the published {hit.value:g} ({hit.source})",
        )
    return hit


def _leaves(node: Any, path: list[str]):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _leaves(v, [*path, str(k)])
    elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
        for i, v in enumerate(node):
            yield from _leaves(v, [*path, str(i)])
    else:
        yield path, node


def parameter_sources(scenario: Any) -> pd.DataFrame:
    """Every scenario parameter: ``section``, ``parameter``, ``value``, ``kind``, ``source``."""
    data = scenario.model_dump(mode="json", exclude={"provenance"})
    rows = []
    for path, value in _leaves(data, []):
        if not path or path[0] in ("name", "description"):
            continue
        src = source_of(".".join(path), value, scenario)
        shown = value if not isinstance(value, (list, dict)) else yaml.safe_dump(value).strip()
        text = src.source
        if src.interval is not None:
            text += f"; 95% interval [{src.interval[0]:.4g}, {src.interval[1]:.4g}]"
        rows.append(
            {
                "section": path[0],
                "parameter": ".".join(path[1:]),
                "value": shown,
                "kind": src.kind,
                "source": text,
            }
        )
    return pd.DataFrame(rows, columns=["section", "parameter", "value", "kind", "source"])
