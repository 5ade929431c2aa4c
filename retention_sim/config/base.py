"""What scenario and policy files share: one strict, frozen base model, a content hash, and
dotted-path overrides (``"service.agents"``, ``"campaigns.0.cadence.every_n_days"``)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from ..errors import InputError, did_you_mean

__all__ = [
    "StrictModel",
    "content_hash",
    "apply_dotted",
    "LATE_OPTIONAL_FIELDS",
    "LATE_NEUTRAL_FIELDS",
]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Unknown fields are errors, values are frozen, NaN and infinities are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: Fields added after the hash format was fixed. While unset (``None``) they are left out of
#: the hash, so the hashes of files that do not use them, and the result stores keyed on those
#: hashes, stay what they were.
LATE_OPTIONAL_FIELDS: frozenset[str] = frozenset(
    {
        "response",
        "provenance",
        "dropout_split",
        "purchase_rate_factor",
        "last_valued_touch",
        "visits_per_year",
        "reply_content_multiplier",
        "max_delay_days",
        "value_decile",
        "survey",
        "message_type",
        "frequency",
        "frequency_class",
        "spend_decile",
        # the loyalty programme's optional mechanics (config/loyalty.py)
        "enrolment",
        "spend_gift",
        "special_days",
        "tenure_perk",
    }
)
#: Fields added after the hash format was fixed with a neutral value other than ``None``: at
#: that value they are left out of the hash too.
LATE_NEUTRAL_FIELDS: dict[str, Any] = {
    "hazard_scale": 1.0,
    "reply_rate": 0.0,
    "on_refusal": "drop",
    "skip_saturated": False,
    # a policy's staffing that changes nothing (config/policy.NEUTRAL_STAFFING)
    "staffing": {
        "agents": None,
        "account_managers": None,
        "periods": [],
        "cost_per_extra_agent_day": None,
    },
}
#: Fields that say where numbers come from without changing any: never part of the hash.
METADATA_FIELDS: frozenset[str] = frozenset({"provenance"})


def _without_unset_late_fields(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _without_unset_late_fields(v)
            for k, v in node.items()
            if not (k in LATE_OPTIONAL_FIELDS and v is None)
            and not (k in LATE_NEUTRAL_FIELDS and v == LATE_NEUTRAL_FIELDS[k])
            and k not in METADATA_FIELDS
        }
    if isinstance(node, list):
        return [_without_unset_late_fields(v) for v in node]
    return node


def content_hash(model: BaseModel) -> str:
    """A stable hash of a validated model's content (for result stores and manifests)."""
    data = _without_unset_late_fields(model.model_dump(mode="json"))
    blob = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _index(node: list[Any], key: str, path: str, kind: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise InputError(f"no such {kind} field {path!r}", field=path)
    return int(key)


def apply_dotted(data: dict[str, Any], overrides: dict[str, Any], *, kind: str) -> dict[str, Any]:
    """Replace the fields named by dotted paths in a model's dumped data, in place.

    A path walks mappings by key and lists by index (``campaigns.0.channel``); a path that does
    not name an existing field is an :class:`~retention_sim.errors.InputError` naming it.

    Parameters
    ----------
    data
        ``model.model_dump(mode="json")``.
    overrides
        ``{dotted path: new value}``.
    kind
        ``"scenario"`` or ``"policy"``, for the message.
    """
    for path, value in overrides.items():
        node: Any = data
        keys = path.split(".")
        for k in keys[:-1]:
            if isinstance(node, list):
                node = node[_index(node, k, path, kind)]
            elif isinstance(node, dict) and k in node and node[k] is not None:
                node = node[k]
            else:
                raise InputError(f"no such {kind} field {path!r}{_hint(node, k)}", field=path)
        last = keys[-1]
        if isinstance(node, list):
            node[_index(node, last, path, kind)] = value
        elif isinstance(node, dict) and last in node:
            node[last] = value
        else:
            raise InputError(f"no such {kind} field {path!r}{_hint(node, last)}", field=path)
    return data


def _hint(node: Any, key: str) -> str:
    """ "did you mean" among the fields where ``key`` was looked for."""
    return did_you_mean(key, [str(k) for k in node]) if isinstance(node, dict) else ""
