"""The documentation says what the code does: the day's order, and the defaults tables."""

from __future__ import annotations

import re

import pytest

from retention_sim import load_scenario, scenario_from_dict
from retention_sim.model.simulation import DAY_ORDER

from .conftest import ROOT, SCENARIOS

MODEL_MD = ROOT / "docs" / "model.md"


def _section(title_prefix: str) -> str:
    text = MODEL_MD.read_text()
    start = text.index(f"\n## {title_prefix}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def _rows(section: str) -> list[list[str]]:
    out = []
    for line in section.splitlines():
        if line.startswith("|") and not re.match(r"\|\s*-", line):
            out.append([c.strip() for c in line.strip().strip("|").split("|")])
    return out


def test_the_day_in_model_md_is_day_order():
    rows = _rows(_section("1."))
    names = [r[1] for r in rows if r[0].isdigit()]
    assert names == [s.name for s in DAY_ORDER]


def _flatten(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _flatten(v, (*path, str(k)))
    else:
        yield ".".join(path), node


def _lookup(flat: dict[str, object], name: str):
    """The value of the one field whose dotted path ends with ``name`` (None if not unique)."""
    hits = [v for p, v in flat.items() if p == name or p.endswith("." + name)]
    return hits[0] if len(hits) == 1 else None


def _number(cell: str):
    cell = cell.replace(",", "").strip()
    try:
        return float(cell)
    except ValueError:
        return None


@pytest.fixture(scope="module")
def code_and_preset():
    preset = load_scenario(SCENARIOS / "default.yaml")
    minimal = preset.model_dump(mode="json")
    # only the required fields of the preset: everything else takes the code's default
    keep = {
        "name": minimal["name"],
        "calendar": {"start": minimal["calendar"]["start"]},
        "population": {
            "initial_customers": minimal["population"]["initial_customers"],
            "segments": minimal["population"]["segments"],
        },
    }
    code = scenario_from_dict(keep)
    return dict(_flatten(code.model_dump(mode="json"))), dict(
        _flatten(preset.model_dump(mode="json"))
    )


def test_defaults_tables_match_the_code_and_the_preset(code_and_preset):
    """Every row of §11 whose parameter names one field and whose cells are plain numbers
    shows the code's default and the default scenario's value."""
    code, preset = code_and_preset
    checked = 0
    for row in _rows(_section("11.")):
        if len(row) != 4 or row[0] == "parameter":
            continue
        names = [n.strip(" `") for n in row[0].split("/")]
        code_cells = row[1].split(" / ")
        yaml_cells = row[2].split(" / ") if row[2] != "=" else code_cells
        if len(code_cells) != len(names) or len(yaml_cells) != len(names):
            continue
        for name, c_cell, y_cell in zip(names, code_cells, yaml_cells, strict=True):
            if y_cell.strip() == "=":
                y_cell = c_cell
            c_doc, y_doc = _number(c_cell), _number(y_cell)
            c_val, y_val = _lookup(code, name), _lookup(preset, name)
            if c_doc is None or y_doc is None or c_val is None or y_val is None:
                continue
            if isinstance(c_val, bool) or not isinstance(c_val, (int, float)):
                continue
            assert c_doc == pytest.approx(c_val), f"{name}: code default {c_val}, docs {c_doc}"
            assert y_doc == pytest.approx(y_val), f"{name}: default.yaml {y_val}, docs {y_doc}"
            checked += 1
    assert checked >= 40, checked


def test_channels_table_matches_the_code_and_the_preset(code_and_preset):
    code, preset = code_and_preset
    section = _section("11.")
    table = section[section.index("### Channels") :]
    cols = ["consent_share", "cost_per_message", "open_rate", "click_rate"]
    cols += ["unsubscribe_rate", "complaint_rate", "fatigue_weight", "fatigue_half_life_days"]
    rows = [r for r in _rows(table) if r[0] in ("email", "sms", "push", "zalo", "phone")]
    assert len(rows) == 5
    for r in rows:
        for col, cell in zip(cols, r[1:], strict=True):
            key = f"channels.{r[0]}.{col}"
            assert _number(cell) == pytest.approx(code[key]), key
            assert _number(cell) == pytest.approx(preset[key]), key


def test_every_daily_column_is_in_the_data_dictionary():
    """docs/outputs.md names every column daily.csv can hold (patterns like ``churn_<cause>``
    cover a family), for a run that uses loyalty, several channels and refusals."""
    from retention_sim import load_policy, simulate

    text = (ROOT / "docs" / "outputs.md").read_text()
    named = set(re.findall(r"`([a-z_]+)(?:<[a-z]+>)?`", text))
    families = set(re.findall(r"`([a-z_]+_)<[a-z]+>`", text))
    columns: set[str] = set()
    for pol in ("playbook_loyalty_app", "daily_blast", "bau_default"):
        r = simulate(load_scenario("default"), load_policy(pol), customers=300, days=30, seed=1)
        columns |= set(r.daily.columns)
    missing = [c for c in columns if c not in named and not any(c.startswith(f) for f in families)]
    assert not missing, f"undocumented daily columns: {missing}"
