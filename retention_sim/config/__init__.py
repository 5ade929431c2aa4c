"""Inputs: scenario and policy files, validated into frozen models (the lowest layer above the
shared vocabulary)."""

__all__: list[str] = []
