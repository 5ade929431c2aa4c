"""Shared fixtures: small scenarios built from the presets, and the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

from retention_sim import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "params" / "scenarios"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def default_scenario():
    return load_scenario(SCENARIOS / "default.yaml")


def all_causes_off() -> dict:
    """Churn section with every cause switched off."""
    return {
        "causes": {
            "death": {"annual_probability": 0},
            "relocation": {"annual_probability": 0},
            "friends": {"annual_probability": 0},
            "lifestyle": {"annual_probability": 0},
            "competitor": {"annual_probability": 0, "events_per_year": 0},
            "dissatisfaction": {"annual_probability": 0},
            "indifference": {"annual_probability": 0},
            "annoyance": {"annual_probability_per_excess": 0},
        }
    }


def plain_scenario(**overrides) -> object:
    """A minimal scenario with every modifier neutral: one segment, no churn, no service demand.

    Keyword arguments replace top-level sections.
    """
    data = {
        "name": "plain",
        "calendar": {"start": "2026-01-01", "horizon_days": 365},
        "population": {
            "initial_customers": 2000,
            "arrivals_per_day": 0,
            "tenure": {"mean_years": 0},
            "segments": {
                "all": {
                    "share": 1.0,
                    "purchase_rate_per_year": {"mean": 4.0, "shape": 1.5},
                    "spend": {"mean_per_purchase": 100.0, "p": 6, "q": 4},
                    "frailty_shape": None,
                }
            },
        },
        "churn": all_causes_off(),
        "social": {"mean_ties": 0},
        "loyalty": {"enabled": False},
        "satisfaction": {"purchase_sensitivity": 0, "spread": 0},
        "service": {"agents": 1, "product_issue_rate_per_year": 0, "inquiry_rate_per_year": 0},
    }
    data.update(overrides)
    return scenario_from_dict(data, source="(test)")
